"""Quick catalog entries on matrix completion: their claims hold, and they fail when the mechanism or the
reference is broken."""

import dataclasses

import numpy as np
import pytest

import implicit_bias.experiments.deep_matrix_completion as dmc
import implicit_bias.experiments.norms_not_enough as nne
from implicit_bias.experiments.deep_matrix_completion import ENTRY as DMC
from implicit_bias.experiments.norms_not_enough import ENTRY as NNE

pytestmark = pytest.mark.slow


def _failed_results(result):
    return [c.name for c in result.claims if c.kind == "result" and not c.holds]


def test_deep_matrix_completion_quick_claims_hold():
    result = DMC.run(DMC.quick)
    assert result.all_hold, [c.to_dict() for c in result.claims if not c.holds]
    names = " ".join(c.name for c in result.claims)
    assert "depth 1" in names and "effective rank at depth 3" in names and "like the nuclear norm" in names
    assert "depth 4 completes from fewer entries" in names and "half the step" in names
    errors = result.metrics.query("metric == 'test_error'").groupby("series")["value"].last()
    few = DMC.quick.few
    assert errors[f"depth3/m{few}"] < errors[f"depth2/m{few}"] < errors[f"depth1/m{few}"]
    assert set(result.figures) == {"test_error_vs_m", "singular_values_over_time"}


def test_deep_matrix_completion_fails_against_a_wrong_nuclear_norm(monkeypatch):
    """Halve the nuclear-norm minimizer: depth 2 no longer matches it."""
    original = dmc.min_nuclear_norm

    def halved(*args, **kw):
        ref = original(*args, **kw)
        return dataclasses.replace(ref, solution=0.5 * ref.solution)

    monkeypatch.setattr(dmc, "min_nuclear_norm", halved)
    cfg = dataclasses.replace(DMC.quick, n_observed=(250,), many=250, depths=(2,), step_check=())
    failed = _failed_results(DMC.run(cfg))
    assert any("like the nuclear norm" in name for name in failed), failed


def test_norms_not_enough_quick_claims_hold():
    result = NNE.run(NNE.quick)
    assert result.all_hold, [c.to_dict() for c in result.claims if not c.holds]
    growth = [c for c in result.claims if "minimum over completions" in c.name]
    assert len(growth) == 4 and min(c.measured for c in growth) >= 10
    assert any("towards rank 1" in c.name for c in result.claims)
    loss = result.metrics.query("metric == 'loss' and depth == 3")["value"].to_numpy()
    assert loss[-1] < 1e-4 and np.all(np.diff(loss) <= 1e-12)   # gradient flow: the loss never rises


def test_norms_not_enough_fails_when_a_small_completion_exists(monkeypatch):
    """Observe W[1,0] = −1 instead of 1: completions [[x, 1], [−1, 0]] have det = 1 > 0, so the flow fits
    without sending |x| to infinity and the growth claims fail."""
    original = nne.norms_not_enough_problem

    def flipped():
        problem = original()
        y = np.where((problem.X[:, 0] == 1) & (problem.X[:, 1] == 0), -problem.y, problem.y)
        return dataclasses.replace(problem, y=y)

    monkeypatch.setattr(nne, "norms_not_enough_problem", flipped)
    result = NNE.run(dataclasses.replace(NNE.quick, depths=(3,)))
    failed = _failed_results(result)
    assert any("minimum over completions" in name for name in failed), failed
