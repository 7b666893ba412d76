"""Catalog entry edge-of-stability: the quick claims hold, and the mechanism's result claims fail when it is broken."""

import dataclasses

import pytest
from catalog_checks import failed, quick_claims_hold

from implicit_bias.experiments import get_entry


@pytest.mark.slow
def test_quick_claims_hold():
    quick_claims_hold("edge-of-stability")


@pytest.mark.slow
def test_negative_control_fails_the_result_claim():
    entry = get_entry("edge-of-stability")
    broken = entry.run(dataclasses.replace(entry.quick, flat_optimizer="gd"))
    failed = [c for c in broken.claims if not c.holds]
    assert any(c.kind == "result" and c.name.startswith("scalar: max over inits of the flow-limit sharpness") for c in failed), failed(broken)
