"""The two linear results, on several seeds: every claim of the quick configuration holds,
and the claims are wired to the references (a wrong reference makes them fail)."""

import dataclasses

import numpy as np
import pytest

from implicit_bias.experiments import get_entry

pytestmark = pytest.mark.slow


def _failed_results(result):
    return [c.name for c in result.claims if c.kind == "result" and not c.holds]


@pytest.mark.parametrize("seed", [0, 1])
def test_min_norm_regression_claims_hold(seed):
    entry = get_entry("min-norm-regression")
    result = entry.run(dataclasses.replace(entry.quick, seed=seed, n_random_inits=1, steps=10_000))
    failed = [(c.name, c.measured) for c in result.claims if not c.holds]
    assert not failed, failed
    names = " ".join(c.name for c in result.claims)
    for method in ("gd", "sgd", "momentum", "nesterov", "flow", "adam"):
        assert f"{method}:" in names
    assert "distance_to_min_l2" in result.figures


def test_min_norm_claims_can_fail(monkeypatch):
    """Perturb the reference: the distance claims must then fail."""
    import implicit_bias.experiments.min_norm_regression as exp
    from implicit_bias.references import min_l2_interpolator

    def shifted(X, y, w0=None):
        ref = min_l2_interpolator(X, y, w0=w0)
        return dataclasses.replace(ref, solution=ref.solution + 1e-3)

    monkeypatch.setattr(exp, "min_l2_interpolator", shifted)
    result = exp.run(dataclasses.replace(exp.ENTRY.quick, n_random_inits=1, steps=2_000, time_horizon=1e3))
    assert any("‖w − X⁺y‖/‖X⁺y‖ from w0=0" in name for name in _failed_results(result))


@pytest.mark.parametrize("seed", [0])
def test_max_margin_claims_hold(seed):
    entry = get_entry("max-margin")
    result = entry.run(dataclasses.replace(entry.quick, seed=seed))
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"angle_gap", "norm_growth", "svm_2d"} <= set(result.figures)
    assert {"series", "config", "step", "metric", "value"} <= set(result.metrics.columns)
    assert np.isfinite(result.metrics["value"]).all()


def test_max_margin_claims_fail_against_a_wrong_svm(monkeypatch):
    """Scale the hard-margin SVM by 1.01: the flow's ‖w‖/log t → ‖ŵ‖ claims must fail."""
    import implicit_bias.experiments.max_margin as exp
    from implicit_bias.references import hard_margin_svm

    def scaled(X, y):
        ref = hard_margin_svm(X, y)
        return dataclasses.replace(ref, solution=ref.solution * 1.01)

    monkeypatch.setattr(exp, "hard_margin_svm", scaled)
    result = exp.run(exp.ENTRY.quick)
    failed = _failed_results(result)
    assert sum("d‖w‖/d log t → ‖ŵ‖" in name for name in failed) == 2, failed
