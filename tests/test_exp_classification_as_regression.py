"""classification-as-regression: quick claims hold; the support-vector condition is wired to the QP (a wrong
condition is caught); plain GD in the diagonal parameterization does not follow natural GD's path."""

import dataclasses

import numpy as np
import pytest

import implicit_bias.experiments.classification_as_regression as exp
from implicit_bias.references.max_margin import hard_margin_svm


@pytest.mark.slow
def test_quick_claims_hold():
    result = exp.run(exp.ENTRY.quick)
    failed = [(c.name, c.measured) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"support_vector_proliferation", "natural_gradient_margins"} <= set(result.figures)


def test_svp_condition_matches_the_qp(seed):
    rng = np.random.default_rng(seed)
    for d in (40, 120):
        X, y = rng.standard_normal((10, d)), rng.choice([-1.0, 1.0], 10)
        svm = hard_margin_svm(X, y)
        gap = np.linalg.norm(np.linalg.pinv(X) @ y) / svm.objective - 1.0
        # X⁺y is feasible (all margins 1); the QP's optimum is only certified to KKT 1e-7, so the gap can be
        # slightly negative on near-degenerate instances (a dual variable near 0)
        assert exp.svp_event(X, y) == (gap <= 1e-9)


def test_wrong_condition_is_caught(monkeypatch):
    """Replace (XXᵀ)⁻¹ by XXᵀ: the QP cross-checks must fail."""
    monkeypatch.setattr(exp, "svp_event", lambda X, y: bool(np.all(y * (X @ X.T @ y) > 0)))
    config = dataclasses.replace(exp.ENTRY.quick, n_samples=(16,), trials=20, qp_checks=6)
    claims = exp._svp_claims(config, *exp._curve(config))
    failed = {c.name for c in claims if not c.holds}
    assert any("QP" in name for name in failed)


@pytest.mark.slow
def test_plain_gd_breaks_the_invariance():
    config = dataclasses.replace(exp.ENTRY.quick, optimizer="gd", steps=40)
    X, y, _ = exp._gd_instance(dataclasses.replace(config, gd_steps=10))
    claims, _ = exp._natural_claims(config, X, y, exp._natural(config, X, y))
    failed = {c.name for c in claims if not c.holds}
    assert "natural GD runs finite" not in failed          # a different path, not a divergence
    assert any(name.startswith("diagonal") and "path" in name for name in failed)
