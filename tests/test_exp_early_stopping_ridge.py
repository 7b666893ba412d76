"""early-stopping-ridge: the quick claims hold; the bound checks fail in the expected direction when ridge
is calibrated at λ = 2/t (variance) or λ = 1/(2t) (bias); a perturbed closed form is caught; the risk
formulas agree with Monte-Carlo-free independent computations."""

import dataclasses

import numpy as np
import pytest

import implicit_bias.experiments.early_stopping_ridge as exp
from implicit_bias.metrics import risk


def _failed(result):
    return {c.name for c in result.claims if not c.holds}


@pytest.mark.slow
def test_quick_claims_hold():
    result = exp.run(exp.ENTRY.quick)
    assert not _failed(result), [(c.name, c.measured) for c in result.claims if not c.holds]
    assert {"risk_ratio", "mp_risk"} <= set(result.figures)
    assert {"series", "config", "step", "metric", "value"} <= set(result.metrics.columns)


def _theory_only(**changes):
    """The closed-form part only (no GD training, small MP check): fast."""
    cfg = dataclasses.replace(exp.ENTRY.quick, mp_n_samples=200, n_times=200, **changes)
    return cfg


def test_ridge_at_two_over_t_breaks_the_variance_bound(monkeypatch):
    monkeypatch.setattr(exp, "_gd_map", _fake_gd_map)
    failed = _failed(exp.run(_theory_only(ridge_scale=2.0)))
    assert any("Var_gf" in name for name in failed)       # ridge more regularized: its variance is too small
    assert not any("Bias_gf" in name for name in failed)  # e^{-x} ≤ 2/(2 + x): the bias bound still holds


def test_ridge_at_half_over_t_breaks_the_bias_bound(monkeypatch):
    monkeypatch.setattr(exp, "_gd_map", _fake_gd_map)
    failed = _failed(exp.run(_theory_only(ridge_scale=0.5)))
    assert any("Bias_gf" in name for name in failed)


@pytest.mark.slow
def test_perturbed_closed_form_is_caught(monkeypatch):
    real = exp._closed_map
    monkeypatch.setattr(exp, "_closed_map", lambda X, h, ks: real(X, h * (1 + 1e-6), ks))
    failed = _failed(exp.run(dataclasses.replace(exp.ENTRY.quick, mp_n_samples=200, steps=50)))
    assert any("discrete closed form" in name for name in failed)


def _fake_gd_map(X, steps, description):
    """Stand-in for the GD sweep: the exact map itself (only the bound checks are under test)."""
    h = 1.0 / np.linalg.eigvalsh(X.T @ X / X.shape[0]).max()
    ks = np.array([0, 1, 5, steps])
    return ks, exp._closed_map(X, h, ks), h


def test_constant_is_the_supremum():
    x_star, c_star = risk.early_stopping_constant()
    grid = np.linspace(0.01, 20, 200_001)
    values = -np.expm1(-grid) * (1 + grid) / grid
    assert abs(values.max() - c_star) < 1e-9 and abs(grid[values.argmax()] - x_star) < 1e-3
    assert c_star ** 2 < risk.PAPER_CONSTANT


def test_risk_formulas_match_explicit_estimators(seed):
    """GF, GD and ridge risks from the spectrum = bias/variance of the explicit linear maps."""
    rng = np.random.default_rng(seed)
    n, d, sigma2, t, h, k, lam = 20, 8, 0.7, 3.0, 0.1, 30, 0.4
    X, beta = rng.standard_normal((n, d)), rng.standard_normal(d)
    S = X.T @ X / n
    w, V = np.linalg.eigh(S)
    maps = {"gf": V @ np.diag((1 - np.exp(-t * w)) / w) @ V.T @ X.T / n,
            "gd": V @ np.diag((1 - (1 - h * w) ** k) / w) @ V.T @ X.T / n,
            "ridge": np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T)}
    s, b2 = risk.design_spectrum(X, beta)
    formulas = {"gf": risk.gf_risk(s, b2, sigma2, n, t), "gd": risk.gd_risk(s, b2, sigma2, n, h, k),
                "ridge": risk.ridge_risk(s, b2, sigma2, n, lam)}
    for name, A in maps.items():
        bias, var = np.sum((A @ X @ beta - beta) ** 2), sigma2 * np.sum(A ** 2)
        np.testing.assert_allclose([formulas[name][0][0], formulas[name][1][0]], [bias, var], rtol=1e-10)


def test_wide_design_spectrum_keeps_null_mass():
    rng = np.random.default_rng(0)
    X, beta = rng.standard_normal((5, 12)), rng.standard_normal(12)
    s, b2 = risk.design_spectrum(X, beta)
    assert s.shape == (12,) and np.isclose(b2.sum(), beta @ beta)
    bias, _ = risk.gf_risk(s, b2, 1.0, 5, 1e6)   # t → ∞: the null-space part of β remains
    P = np.linalg.pinv(X) @ X
    np.testing.assert_allclose(bias[0], np.sum((beta - P @ beta) ** 2), rtol=1e-10)


def test_mp_integrals_reproduce_moments_and_ridge():
    for gamma in (0.5, 2.0):
        assert abs(risk.mp_integral(gamma, lambda s: s) - 1.0) < 1e-10
        assert abs(risk.mp_integral(gamma, lambda s: s * s) - (1 + gamma)) < 1e-10
        # ridge bias at λ → ∞ is r², GF variance at t → 0 is 0
        assert abs(risk.mp_ridge_risk(gamma, 1.0, 1.0, 1e8)[0] - 1.0) < 1e-6
    with pytest.raises(ValueError):
        risk.mp_edges(-1.0)
