"""Catalog entry dropout-nuclear: the quick claims hold, and the mechanism's result claims fail when it is broken."""

import dataclasses

import pytest

from implicit_bias.experiments import get_entry


def _failed(result):
    return [c.name for c in result.claims if not c.holds]


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("dropout-nuclear")
    result = entry.run(entry.quick)
    assert not _failed(result), [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert result.figures and result.metrics is not None and len(result.metrics)
    assert {c.kind for c in result.claims} >= {"result", "guard"}


@pytest.mark.slow
def test_negative_control_fails_the_result_claim():
    entry = get_entry("dropout-nuclear")
    broken = entry.run(dataclasses.replace(entry.quick, dropout=False))
    failed = [c for c in broken.claims if not c.holds]
    assert any(c.kind == "result" and c.name.startswith("dropout SGD") for c in failed), _failed(broken)
