"""Catalog entries learning-rate-sharpness and batch-size: every quick claim holds."""

import numpy as np

from implicit_bias.experiments import get_entry


def test_learning_rate_sharpness_quick_claims_hold():
    entry = get_entry("learning-rate-sharpness")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"sharpness_along_training", "final_sharpness", "diagonal_sparsity"} <= set(result.figures)
    edge = [c for c in result.claims if "edge of stability: λ ≤ 2/h" in c.name]
    assert edge and edge[0].measured > 0.9  # some run really sits at the edge, so the bound is not vacuous


def test_batch_size_quick_claims_hold():
    entry = get_entry("batch-size")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert "batch_size" in result.figures
    assert np.isfinite(result.metrics["value"]).all()
