"""Catalog entry label-noise-trace: the quick claims hold, and the mechanism's result claims fail when it is broken."""

import dataclasses

import pytest
from catalog_checks import failed, quick_claims_hold

from implicit_bias.experiments import get_entry


@pytest.mark.slow
def test_quick_claims_hold():
    quick_claims_hold("label-noise-trace")


@pytest.mark.slow
def test_negative_control_fails_the_result_claim():
    entry = get_entry("label-noise-trace")
    broken = entry.run(dataclasses.replace(entry.quick, noise_on="gradient"))
    failed = [c for c in broken.claims if not c.holds]
    assert any(c.kind == "result" and c.name.startswith("label noise: max over runs of ‖w − w_c‖") for c in failed), failed(broken)
