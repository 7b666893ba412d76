"""Quick catalog entries on matrix factorization dynamics: nuclear norm with commuting measurements,
incremental rank learning and the conservation law."""

from implicit_bias.experiments.incremental_rank import ENTRY as IR
from implicit_bias.experiments.matrix_conservation import ENTRY as MC
from implicit_bias.experiments.nuclear_norm_commuting import ENTRY as NNC


def _check(entry):
    result = entry.run(entry.quick)
    assert result.all_hold, [c.to_dict() for c in result.claims if not c.holds]
    assert result.figures and len(result.metrics) > 0
    return {c.name: c for c in result.claims}


def test_nuclear_norm_commuting_quick_claims_hold():
    claims = _check(NNC)
    exact = next(c for name, c in claims.items() if "exact entropy-mirror limit" in name)
    rate = next(c for name, c in claims.items() if "like α^δ" in name)
    assert exact.measured < 1e-8 and rate.expected > 0.05


def test_incremental_rank_quick_claims_hold():
    claims = _check(IR)
    assert sum("sharper with depth" in name for name in claims) == len(IR.quick.depths) - 1


def test_matrix_conservation_quick_claims_hold():
    claims = _check(MC)
    slope = next(c for name, c in claims.items() if "per step" in name)
    assert abs(slope.measured - 2.0) < 0.15
