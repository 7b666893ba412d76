"""Catalog entry momentum-modified-loss: quick claims hold; a 10 % wrong coefficient fails; the coefficient
and the start lag against the heavy-ball recursion on a quadratic."""

import dataclasses

import numpy as np
import pytest

from implicit_bias.experiments import get_entry
from implicit_bias.experiments.momentum_modified_loss import ghosh_coefficient, start_lag
from implicit_bias.metrics.rates import fit_loglog_slope
from implicit_bias.optim.modified import MomentumModifiedFlow, modified_flow_for
from implicit_bias.optim.steps import Momentum


@pytest.fixture(scope="module")
def quick():
    entry = get_entry("momentum-modified-loss")
    return entry, entry.run(entry.quick)


@pytest.mark.slow
def test_quick_claims_hold(quick):
    _, result = quick
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"result", "guard", "sanity"} <= {c.kind for c in result.claims}
    assert "momentum_modified_loss" in result.figures
    assert {"plain_distance", "modified_distance", "coefficient_ratio"} <= set(result.metrics["metric"])


@pytest.mark.slow
def test_coefficient_off_by_ten_percent_fails(quick):
    """Negative control: the flow of L + 1.1·c‖∇L‖² is not heavy ball's (same compiled programs as quick)."""
    entry, _ = quick
    config = dataclasses.replace(entry.quick, models=("diagonal network",), coefficient_factor=1.1)
    result = entry.run(config)
    by_name = {c.name.split(";")[0]: c for c in result.claims}
    coefficient = [c for n, c in by_name.items() if "coefficient fitted" in n]
    slope = [c for n, c in by_name.items() if "θ_modified(t_k)‖ against log h" in n]
    assert coefficient and not coefficient[0].holds
    assert coefficient[0].measured == pytest.approx(1 / 1.1, abs=0.01)
    assert slope and not slope[0].holds


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.6, 0.9])
def test_existing_momentum_flow_uses_ghosh_coefficient(beta):
    for h in (0.1, 0.01):
        flow = MomentumModifiedFlow(momentum=beta, step_size=h)
        assert float(flow.strength({})) == pytest.approx(float(ghosh_coefficient(h, beta)), rel=1e-14)
        assert float(modified_flow_for(Momentum(momentum=beta), h, 10).strength({})) == pytest.approx(
            float(ghosh_coefficient(h, beta)), rel=1e-14)


@pytest.mark.parametrize("beta", [0.5, 0.8])
def test_start_lag_is_the_dominant_mode_amplitude(beta):
    """x_k = A r1^k + B r2^k with x_0 = 1, x_1 = 1 − hλ (m₀ = 0): A = 1 + hλ·β/(1 − β)² + O(h²), i.e. the
    modified flow started β/(1 − β) effective steps earlier (rate −log r1 per step)."""
    lam = 1.3
    hs = np.array([0.02, 0.01, 0.005, 0.0025]) * (1 - beta) ** 2
    b = 1 + beta - hs * lam
    r1, r2 = (b + np.sqrt(b * b - 4 * beta)) / 2, (b - np.sqrt(b * b - 4 * beta)) / 2
    A = (1 - hs * lam - r2) / (r1 - r2)
    lagged = np.exp(start_lag(beta) * -np.log(r1))   # flow at time −lag·h_eff, with the modified rate
    assert fit_loglog_slope(hs, np.abs(A - 1)) == pytest.approx(1.0, abs=0.05)   # the lag is O(h) ...
    assert fit_loglog_slope(hs, np.abs(A - lagged)) == pytest.approx(2.0, abs=0.1)  # ... and it is this lag


def test_coefficient_matches_the_dominant_root():
    """−log r1 = h_eff(λ + 2cλ²) + O(h³) with c = ghosh_coefficient(h, β)."""
    beta, lam = 0.7, 0.9
    hs = np.array([0.02, 0.01, 0.005, 0.0025]) * (1 - beta) ** 2
    b = 1 + beta - hs * lam
    r1 = (b + np.sqrt(b * b - 4 * beta)) / 2
    c = ghosh_coefficient(hs, beta)
    rate = hs / (1 - beta) * (lam + 2 * c * lam ** 2)
    assert fit_loglog_slope(hs, np.abs(-np.log(r1) - rate)) == pytest.approx(3.0, abs=0.1)
    wrong = hs / (1 - beta) * (lam + 2 * 1.1 * c * lam ** 2)
    assert fit_loglog_slope(hs, np.abs(-np.log(r1) - wrong)) < 2.2   # a 10 % wrong c leaves O(h²)
