"""Chunked sweeps: chunked and unchunked runs agree exactly; the automatic chunk size fits the memory budget."""

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import losses, memory, optim
from implicit_bias.models import LinearModel
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.problems import gaussian_regression, sparse_regression


def _assert_same(a, b):
    np.testing.assert_array_equal(a.end_to_end, b.end_to_end)
    for name in a.records:
        np.testing.assert_array_equal(a.records[name], b.records[name])
    np.testing.assert_array_equal(a.diverged, b.diverged)
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    np.testing.assert_array_equal(a.final_loss, b.final_loss)


def _diagonal_sweep(seed, **kw):
    p = sparse_regression(20, 60, 3, n_test=0, seed=seed)
    # the largest scale with this step diverges: flags must agree across chunks too
    hp = ib.grid(init_scale=[1e-3, 1e-2, 0.1, 0.5, 6.0], seed=[0, 1])
    return ib.train(DiagonalModel(60), losses.square, optim.GD(), p, steps=250, step_size=0.02,
                    hparams=hp, n_records=10, **kw)


@pytest.mark.parametrize("chunk", [2, 3, 4, 7])
def test_chunked_diagonal_sweep_is_identical(seed, chunk):
    whole = _diagonal_sweep(seed, chunk_size=10)
    split = _diagonal_sweep(seed, chunk_size=chunk)
    assert split.info["chunks"] == -(-10 // chunk)
    assert whole.diverged.any() and not whole.diverged.all()
    _assert_same(whole, split)


def test_chunked_linear_momentum_sweep_is_identical():
    p = gaussian_regression(12, 40, seed=4)
    kw = dict(steps=120, hparams=ib.grid(step_size=[0.05, 0.2, 0.4], init_scale=[0.0, 1.0], seed=[0, 1]), n_records=8)
    whole = ib.train(LinearModel(40), losses.square, optim.Momentum(momentum=0.9), p, chunk_size=12, **kw)
    split = ib.train(LinearModel(40), losses.square, optim.Momentum(momentum=0.9), p, chunk_size=5, **kw)
    _assert_same(whole, split)


def test_automatic_chunks_under_a_small_memory_budget(seed):
    whole = _diagonal_sweep(seed, chunk_size=10)
    # one configuration: 2 params of 60 float64, records of ~60 numbers at 10 points: well under 64 KiB
    with memory.limited(64 * 1024):
        split = _diagonal_sweep(seed)
    assert split.info["chunks"] > 1
    assert split.info["chunk_size"] * split.info["chunks"] >= 10
    _assert_same(whole, split)


def test_no_chunks_when_the_sweep_fits():
    out = _diagonal_sweep(0)
    assert out.info["chunks"] == 1 and out.info["chunk_size"] == 10
    assert out.info["peak_bytes"] > 0


@pytest.mark.parametrize("M, per, budget, expected", [
    (100, 10, 10_000, 100),     # fits: one piece
    (100, 10, 500, 32),         # 50 fit: the largest power of two below
    (100, 10, 5, 1),            # nothing fits: one at a time
    (7, 1000, 4096, 4),
])
def test_auto_chunk_size(M, per, budget, expected):
    assert memory.auto_chunk_size(M, per, budget) == expected


def test_per_config_footprint_grows_with_records():
    small = memory.per_config_bytes(1000, 80, 10)
    assert memory.per_config_bytes(1000, 80, 100) - small == 90 * 80
    assert small >= memory.STATE_COPIES * 1000


def test_memory_limit_is_scoped():
    before = memory.budget_bytes()
    with memory.limited(123):
        assert memory.budget_bytes() == 123
    assert memory.budget_bytes() != 123 or before == 123
