"""The several-seeds helper of the catalog: the worst seed's claim is kept, a failure first."""

import dataclasses

from implicit_bias.experiments._seeds import over_seeds, slack, worst_claims
from implicit_bias.results import Result, at_least, at_most, close_to, is_true


@dataclasses.dataclass(frozen=True)
class Toy:
    seed: int = 0
    seeds: tuple[int, ...] = ()


def _run_one(config: Toy) -> Result:
    s = config.seed
    return Result("toy", dataclasses.asdict(config),
                  [at_most("gap", 0.1 * s, 0.25), at_least("margin", 1.0 + s, 1.0, kind="guard"),
                   close_to("slope", -1.0 + 0.01 * s, -1.0, 0.05, kind="sanity")], notes=[f"ran {s}"])


def test_slack_signs():
    assert slack(at_most("a", 1.0, 2.0)) == 1.0 and slack(at_least("b", 1.0, 2.0)) == -1.0
    assert abs(slack(close_to("c", 0.9, 1.0, 0.2)) - 0.1) < 1e-12
    assert slack(is_true("d", False)) < 0 and slack(at_most("e", float("nan"), 1.0)) == float("-inf")


def test_worst_seed_is_kept_and_named():
    result = over_seeds(_run_one, Toy(seeds=(0, 1, 3)))
    claims = {c.name: c for c in result.claims}
    assert claims["gap"].measured == 0.1 * 3 and not claims["gap"].holds  # seed 3 fails: kept
    assert "seed 3" in claims["gap"].note
    assert claims["margin"].measured == 1.0 and claims["margin"].kind == "guard"  # least slack: seed 0
    assert claims["slope"].measured == -1.0 + 0.03 and claims["slope"].kind == "sanity"
    assert result.notes == ["seed 0: ran 0", "seed 1: ran 1", "seed 3: ran 3"]
    assert result.config["seeds"] == (0, 1, 3)


def test_no_seeds_runs_once_on_seed():
    result = over_seeds(_run_one, Toy(seed=2))
    assert [c.measured for c in result.claims][0] == 0.2 and result.notes == ["ran 2"]


def test_worst_claims_keeps_names_seen_on_one_seed_only():
    out = worst_claims([(0, [at_most("a", 0.0, 1.0)]), (1, [at_most("a", 0.5, 1.0), at_most("b", 2.0, 1.0)])])
    assert [c.name for c in out] == ["a", "b"] and out[0].measured == 0.5 and not out[1].holds
