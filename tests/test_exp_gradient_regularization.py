"""Catalog entry gradient-regularization: quick claims hold; the GD ↔ GR(h/4) and the α_i formula claims fail
with the wrong coefficient; the quadrature and the formula's pieces."""

import dataclasses

import numpy as np
import pytest
from catalog_checks import claim

from implicit_bias.experiments import get_entry
from implicit_bias.experiments.gradient_regularization import gauss_panels, gr_effective_scales


@pytest.fixture(scope="module")
def quick():
    entry = get_entry("gradient-regularization")
    return entry, entry.run(entry.quick)


@pytest.mark.slow
def test_quick_claims_hold(quick):
    _, result = quick
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"result", "guard", "sanity"} <= {c.kind for c in result.claims}
    assert "gradient_regularization" in result.figures


@pytest.mark.slow
def test_wrong_coefficients_fail(quick):
    """Negative controls: GR with λ = h/2 is not GD's modified loss (slope 1, not 2); the formula with
    exp(−4λ∫g²) instead of exp(−8λ∫g²) misses the limit. Same compiled programs as quick."""
    entry, _ = quick
    result = entry.run(dataclasses.replace(entry.quick, gr_factor=2.0, formula_coefficient=4.0))
    assert not claim(result, "slope of log ‖w_GD(h) − w_GR").holds
    assert not claim(result, "max over h of ‖w_GD − w_GR(h/4)‖").holds
    assert not claim(result, "GR limit vs the Q interpolator").holds
    assert claim(result, "slope of log ‖w_GD(h) − w_Qα‖").holds   # untouched by the controls


def test_gauss_panels_integrate_exactly():
    t, w = gauss_panels(50.0, 40, nodes=8)
    assert np.all(np.diff(t) > 0) and t[0] > 0 and t[-1] < 50.0
    assert w.sum() == pytest.approx(50.0, rel=1e-14)
    assert np.sum(w * np.exp(-0.3 * t)) == pytest.approx((1 - np.exp(-15.0)) / 0.3, rel=1e-13)
    assert np.sum(w * t ** 7) == pytest.approx(50.0 ** 8 / 8, rel=1e-12)


def test_effective_scales():
    integrals = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(gr_effective_scales(0.3, 0.0, integrals), 0.3)
    np.testing.assert_allclose(gr_effective_scales(0.3, 0.1, integrals), 0.3 * np.exp(-0.8 * integrals), rtol=1e-15)
