"""Catalog entry dropout-nuclear: the quick claims hold, and the mechanism's result claims fail when it is broken."""

import dataclasses

import pytest
from catalog_checks import failed, quick_claims_hold

from implicit_bias.experiments import get_entry


@pytest.mark.slow
def test_quick_claims_hold():
    quick_claims_hold("dropout-nuclear")


@pytest.mark.slow
def test_negative_control_fails_the_result_claim():
    entry = get_entry("dropout-nuclear")
    broken = entry.run(dataclasses.replace(entry.quick, dropout=False))
    failed = [c for c in broken.claims if not c.holds]
    assert any(c.kind == "result" and c.name.startswith("dropout SGD") for c in failed), failed(broken)
