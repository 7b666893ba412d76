"""ridgeless-double-descent: quick claims hold; a perturbed closed form and an unconverged GD are caught;
the conditional risk equals its explicit definition."""

import dataclasses

import numpy as np
import pytest

import implicit_bias.experiments.ridgeless_double_descent as exp
from implicit_bias.metrics import risk


def _failed(result):
    return {c.name for c in result.claims if not c.holds}


@pytest.mark.slow
def test_quick_claims_hold():
    result = exp.run(exp.ENTRY.quick)
    assert not _failed(result), [(c.name, c.measured) for c in result.claims if not c.holds]
    assert "double_descent" in result.figures


def _small(**changes):
    return dataclasses.replace(exp.ENTRY.quick, n_features=(8, 16, 24, 40, 60, 120), n_designs=40, **changes)


def test_perturbed_closed_form_fails_the_z_tests(monkeypatch):
    real = exp.ridgeless_risk_finite
    monkeypatch.setattr(exp, "ridgeless_risk_finite", lambda *a: 1.1 * real(*a))
    monkeypatch.setattr(exp, "_gd_guard", lambda config, seed: 0.0)
    failed = _failed(exp.run(_small()))
    assert any("γ < 1" in name for name in failed) and any("γ > 1" in name for name in failed)


def test_unconverged_gd_fails_the_guard(monkeypatch):
    monkeypatch.setattr(exp, "_risks", lambda config, seed: {p: np.ones(3) for p in config.n_features})
    result = exp.run(_small(steps=20))
    assert any(c.kind == "guard" and not c.holds for c in result.claims)


def test_conditional_risk_is_its_definition(seed):
    rng = np.random.default_rng(seed)
    for n, p in ((10, 4), (6, 15)):
        X, beta = rng.standard_normal((n, p)), rng.standard_normal(p)
        cov = rng.random(p) + 0.5
        pinv = np.linalg.pinv(X)
        bias, var = risk.conditional_ridgeless_risk(X, beta, 0.3, cov=cov)
        resid = beta - pinv @ X @ beta
        np.testing.assert_allclose(bias, resid @ (cov * resid), rtol=1e-10, atol=1e-20)
        np.testing.assert_allclose(var, 0.3 * np.trace(pinv.T @ np.diag(cov) @ pinv), rtol=1e-10)


def test_finite_means_tend_to_the_limit():
    n = 10 ** 6
    for gamma in (0.3, 0.8, 1.5, 4.0):
        finite = risk.ridgeless_risk_finite(n, gamma * n, 2.0, 0.5)
        assert abs(finite / risk.ridgeless_risk_limit(gamma, 2.0, 0.5) - 1) < 1e-4
    assert np.isinf(risk.ridgeless_risk_limit(1.0, 1.0, 1.0)) and np.isinf(risk.ridgeless_risk_finite(10, 10, 1, 1))
