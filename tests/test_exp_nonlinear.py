"""Catalog entries monotone-neuron and homogeneous-margin: every quick claim holds, and the claims are
wired to their references (a wrong reference makes them fail)."""

import dataclasses

import numpy as np
import pytest

from implicit_bias.experiments import get_entry

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [0, 1])
def test_monotone_neuron_quick_claims_hold(seed):
    entry = get_entry("monotone-neuron")
    result = entry.run(dataclasses.replace(entry.quick, seed=seed))
    failed = [(c.name, c.measured) for c in result.claims if not c.holds]
    assert not failed, failed
    names = " ".join(c.name for c in result.claims)
    for act in ("leaky-relu", "tanh", "sigmoid", "relu"):
        assert f"{act}:" in names
    assert {"monotone_distance", "relu_limits"} <= set(result.figures)
    assert {"series", "config", "step", "metric", "value"} <= set(result.metrics.columns)


def test_monotone_neuron_claims_fail_against_a_wrong_reference(monkeypatch):
    import implicit_bias.experiments.monotone_neuron as exp

    original = exp.neuron_flow_limit
    monkeypatch.setattr(exp, "neuron_flow_limit", lambda model, X, y, w0=None: original(model, X, y, w0) * (1 + 1e-6))
    cfg = dataclasses.replace(exp.ENTRY.quick, activations=("tanh",), relu_inits=2, relu_init_scales=(0.1,),
                              steps=5000, relu_steps=2000)
    result = exp.run(cfg)
    assert not all(c.holds for c in result.claims if c.name.startswith("tanh: ‖w"))


def test_homogeneous_margin_quick_claims_hold():
    entry = get_entry("homogeneous-margin")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured) for c in result.claims if not c.holds]
    assert not failed, failed
    monotone = [c for c in result.claims if "does not decrease" in c.name]
    assert len(monotone) == 2 and all(c.measured == 1.0 for c in monotone)
    assert not any("γ̃ ≤ γ̄" in c.name for c in result.claims)  # the log-sum-exp sandwich holds for any θ
    assert sum("keeps decaying" in c.name for c in result.claims) == 2
    assert {"margins", "kkt_alignment"} <= set(result.figures)
    assert np.isfinite(result.metrics["value"]).all()


def test_homogeneous_margin_fails_with_the_wrong_homogeneity(monkeypatch):
    """Normalize the margin by ρ^(D+1) instead of ρ^D: the 'smoothed margin' then falls as ‖θ‖ grows."""
    import implicit_bias.experiments.homogeneous_margin as exp

    original = exp.smoothed_margin
    monkeypatch.setattr(exp, "smoothed_margin",
                        lambda log_loss, n, rho, degree, loss: original(log_loss, n, rho, degree + 1, loss))
    result = exp.run(dataclasses.replace(exp.ENTRY.quick, depths=(2,), n_inits=1))
    failed = [c.name for c in result.claims if c.kind == "result" and not c.holds]
    assert any("does not decrease" in name for name in failed), failed
