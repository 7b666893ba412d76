"""adam-linf-margin: the quick claims hold; a large ε in place of the small one fails the l∞ claim, and
swapping decoupled for coupled weight decay fails the box claim."""

import dataclasses

import numpy as np
import pytest

from implicit_bias.experiments import get_entry


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("adam-linf-margin")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"eps_switch", "weight_decay"} <= set(result.figures)


@pytest.mark.slow
def test_negative_controls(monkeypatch):
    import implicit_bias.experiments.adam_linf_margin as exp

    real_sweep = exp._eps_sweep

    def large_eps(problem, config, model, optimizer):   # every "small ε" run actually uses ε = 100
        return real_sweep(problem, dataclasses.replace(config, eps_values=tuple(np.maximum(config.eps_values, 100.0))),
                          model, optimizer)

    monkeypatch.setattr(exp, "_eps_sweep", large_eps)
    real_adam = exp.AdamGeometry

    def swapped(**kw):  # AdamW runs with coupled decay and vice versa
        if "decoupled_weight_decay" in kw:
            kw["decoupled_weight_decay"] = not kw["decoupled_weight_decay"]
        return real_adam(**kw)

    monkeypatch.setattr(exp, "AdamGeometry", swapped)
    result = exp.run(exp.ENTRY.quick)
    failed = {c.name.split(":")[0] for c in result.claims if not c.holds}
    assert "Adam ε ≤ 1e-08" in failed
    assert "AdamW (λ = 0.5)" in failed and "Adam + coupled L2 (λ = 0.5)" in failed
