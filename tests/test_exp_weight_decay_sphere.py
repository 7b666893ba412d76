"""Catalog entry weight-decay-sphere: quick claims hold; they fail without scale invariance and with a wrong schedule."""

import dataclasses

import pytest
from catalog_checks import claim

from implicit_bias.experiments import get_entry


@pytest.fixture(scope="module")
def quick():
    entry = get_entry("weight-decay-sphere")
    return entry, entry.run(entry.quick)


@pytest.mark.slow
def test_quick_claims_hold(quick):
    _, result = quick
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"result", "guard", "sanity"} <= {c.kind for c in result.claims}
    assert "weight_decay_sphere" in result.figures


@pytest.mark.slow
def test_wrong_schedule_growth_fails(quick):
    """Negative control: the schedule grown 1 % too fast is no longer weight decay (same programs as quick)."""
    entry, _ = quick
    result = entry.run(dataclasses.replace(entry.quick, growth_factor=1.01))
    assert not claim(result, "SGD (B = 8): max over").holds
    assert not claim(result, "SGD: max over steps of |ρ^k").holds


@pytest.mark.slow
def test_not_scale_invariant_fails(quick):
    """Negative control: the plain linear model (gradients not tangent to the sphere) has neither the
    schedule equivalence nor the √(2ηλ/(1+μ)) equilibrium."""
    entry, _ = quick
    config = dataclasses.replace(entry.quick, model="linear", algebra_steps=300, steps=1500, window=500)
    result = entry.run(config)
    assert not claim(result, "SGD (B = 8): max over").holds
    equilibrium = [c for c in result.claims if "rms angular update" in c.name]
    assert equilibrium and not all(c.holds for c in equilibrium)
    assert not claim(result, "μ = 0: |mean log").holds
