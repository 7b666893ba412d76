"""Catalog entries sgd-diagonal, early-stopping, group-sparsity: the quick claims hold, and they fail when the
effect they claim is switched off."""

import dataclasses

import pytest

from implicit_bias.experiments import get_entry

pytestmark = pytest.mark.slow


def _failed(result):
    return [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]


def test_sgd_diagonal_quick_claims_hold_and_need_the_noise():
    entry = get_entry("sgd-diagonal")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    quiet = entry.run(dataclasses.replace(entry.quick, label_noise=0.0))  # label-noise SGD is then plain SGD
    failed = [name for name, *_ in _failed(quiet)]
    assert any(name.startswith("label-noise") for name in failed), failed


def test_early_stopping_quick_claims_hold_and_need_noisy_labels():
    entry = get_entry("early-stopping")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert "early_stopping" in result.figures
    clean = entry.run(dataclasses.replace(entry.quick, noise=0.0))  # no noise to overfit: no U-shape
    failed = [name for name, *_ in _failed(clean)]
    assert any("U-shape" in name or "early-stopped" in name for name in failed), failed


def test_group_sparsity_quick_claims_hold():
    entry = get_entry("group-sparsity")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert "sample_complexity" in result.figures


def test_group_sparsity_fails_without_the_groups(monkeypatch):
    """A 'grouped' network with groups of one coordinate has no group structure: it no longer recovers."""
    import implicit_bias.experiments.group_sparsity as exp
    from implicit_bias.models.grouped import GroupedDiagonalModel

    monkeypatch.setattr(exp, "GroupedDiagonalModel",
                        lambda d, groups, init_scale: GroupedDiagonalModel(d, groups=1, init_scale=init_scale))
    result = exp.run(exp.ENTRY.quick)
    failed = [c.name for c in result.claims if c.kind == "result" and not c.holds]
    assert any("grouped network ‖w − w*‖/‖w*‖ (recovered)" in name for name in failed), failed
