"""Quick catalog entries on matrix factorization dynamics: nuclear norm with commuting measurements,
incremental rank learning and the conservation law; each also fails when its mechanism is broken."""

import dataclasses
from typing import ClassVar

import pytest

import implicit_bias.experiments.matrix_conservation as mc
import implicit_bias.experiments.nuclear_norm_commuting as nnc
from implicit_bias.experiments.incremental_rank import ENTRY as IR
from implicit_bias.experiments.matrix_conservation import ENTRY as MC
from implicit_bias.experiments.nuclear_norm_commuting import ENTRY as NNC
from implicit_bias.optim import Flow

pytestmark = pytest.mark.slow


def _failed_results(result):
    return [c.name for c in result.claims if c.kind == "result" and not c.holds]


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


def test_nuclear_norm_commuting_fails_against_a_wrong_limit(monkeypatch):
    """Perturb the exact entropy-mirror limit by 1e-4: the flow no longer matches it."""
    original = nnc.commuting_flow_limit

    def shifted(A, y, alpha, *args, **kw):
        ref = original(A, y, alpha, *args, **kw)
        return dataclasses.replace(ref, solution=ref.solution * (1 + 1e-4))

    monkeypatch.setattr(nnc, "commuting_flow_limit", shifted)
    failed = _failed_results(NNC.run(NNC.quick))
    assert any("exact entropy-mirror limit" in name for name in failed), failed


def test_incremental_rank_quick_claims_hold():
    claims = _check(IR)
    assert sum("sharper with depth" in name for name in claims) == len(IR.quick.depths) - 1


def test_incremental_rank_fails_from_a_large_init():
    """From init scale 30 (no plateau to escape) the singular values are not learned one at a time."""
    result = IR.run(dataclasses.replace(IR.quick, init_scale=30.0, depths=(2, 3)))
    failed = _failed_results(result)
    assert any("one at a time" in name for name in failed), failed


@dataclasses.dataclass(frozen=True)
class LopsidedFlow(Flow):
    """Gradient flow with weight decay on the first factor only: the layers no longer stay balanced.

    (Rescaling a factor inside the loss would not do: W₁ ↦ cW₁ keeps W₂ᵀW₂ − W₁W₁ᵀ conserved.)
    """

    name: ClassVar[str] = "lopsided-flow"

    def modify_objective(self, objective):
        def lopsided(params, X, y, hp):
            return objective(params, X, y, hp) + 0.01 * (params[0] ** 2).sum()

        return lopsided


def test_matrix_conservation_quick_claims_hold():
    claims = _check(MC)
    slope = next(c for name, c in claims.items() if "total drift" in name)
    assert abs(slope.measured - 1.0) < 0.15
    assert not any("drift per step against h" in name for name in claims)  # the same measurement, once


def test_matrix_conservation_fails_when_a_layer_is_rescaled(monkeypatch):
    monkeypatch.setattr(mc.optim, "Flow", LopsidedFlow)
    failed = _failed_results(MC.run(MC.quick))
    assert any(name.startswith("gradient flow: max_t") for name in failed), failed
