"""Catalog entries learning-rate-sharpness and batch-size: every quick claim holds, and the result claims
fail when the step size or the batch size no longer matters."""

import dataclasses

import numpy as np
import pytest

from implicit_bias.experiments import get_entry

pytestmark = pytest.mark.slow


def _failed_results(result):
    return [c.name for c in result.claims if c.kind == "result" and not c.holds]


def test_learning_rate_sharpness_quick_claims_hold():
    entry = get_entry("learning-rate-sharpness")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"sharpness_along_training", "final_sharpness", "diagonal_sparsity"} <= set(result.figures)
    edge = [c for c in result.claims if "stability: λ ≤ 2/h" in c.name]
    assert edge and edge[0].measured > 0.9 and edge[0].kind == "sanity"  # the bound any settled run satisfies
    assert any("they end at the edge" in c.name and c.kind == "result" for c in result.claims)


def test_learning_rate_sharpness_fails_when_every_step_is_small():
    """All steps below the edge of stability: no run ends at the edge and nothing gets flatter."""
    entry = get_entry("learning-rate-sharpness")
    small = (0.01, 0.02, 0.03, 0.04)
    result = entry.run(dataclasses.replace(entry.quick, step_sizes=small, diag_step_sizes=(0.005, 0.01, 0.015)))
    failed = _failed_results(result)
    assert any("they end at the edge" in name for name in failed), failed
    assert any("at least 20% flatter" in name for name in failed), failed


def test_batch_size_quick_claims_hold():
    entry = get_entry("batch-size")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert "batch_size" in result.figures
    assert sum(c.kind == "guard" for c in result.claims) == 2  # interpolation (diagonal) and settling (MLP)
    assert any(c.name.startswith("MLP") for c in result.claims)
    assert np.isfinite(result.metrics["value"]).all()


def test_batch_size_claims_fail_when_every_batch_is_full(monkeypatch):
    """Every 'batch size' run as full-batch GD: small batches are then no sparser and no flatter."""
    import implicit_bias.experiments.batch_size as exp

    original = exp._sweep

    def full_batch(model, problem, batch_sizes, n_seeds, **options):
        (out,) = original(model, problem, (problem.n_samples,), n_seeds, **options)
        return [out] * len(batch_sizes)

    monkeypatch.setattr(exp, "_sweep", full_batch)
    failed = _failed_results(exp.run(exp.ENTRY.quick))
    assert any("min-ℓ1 interpolator at B = 1" in name for name in failed), failed
    assert any("MLP: mean final sharpness at B = 1" in name for name in failed), failed
