"""float32 against float64: the same run within float32 tolerance on stable configurations."""

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import losses, optim
from implicit_bias.models import LinearModel
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.problems import gaussian_regression, sparse_regression

#: float32 after a few hundred contracting steps: ~1e-6 relative per step, errors do not grow.
TOL32 = {"rtol": 2e-4, "atol": 1e-5}


def _both(train):
    return train("float64"), train("float32")


def test_diagonal_sweep_float32_matches_float64(seed):
    p = sparse_regression(20, 80, 3, n_test=0, seed=seed)
    hp = ib.grid(init_scale=[0.05, 0.2, 0.5], seed=[0])
    a, b = _both(lambda dt: ib.train(DiagonalModel(80), losses.square, optim.GD(), p, steps=400, step_size=0.01,
                                     hparams=hp, dtype=dt, n_records=12))
    assert b.end_to_end.dtype == np.float32 and a.end_to_end.dtype == np.float64
    assert b.params["u"].dtype == np.float32
    assert not a.diverged.any() and not b.diverged.any()
    np.testing.assert_allclose(b.end_to_end, a.end_to_end, **TOL32)
    np.testing.assert_allclose(b.records["loss"], a.records["loss"], rtol=1e-3, atol=1e-6)


def test_linear_gd_float32_matches_closed_form_recursion(seed):
    p = gaussian_regression(10, 30, seed=seed)
    out = ib.train(LinearModel(30), losses.square, optim.GD(), p, steps=200, step_size=0.5, dtype="float32")
    w = np.zeros(30)
    for _ in range(200):
        w = w - 0.5 * p.X.T @ (p.X @ w - p.y) / 10
    np.testing.assert_allclose(out.end_to_end[0], w, **TOL32)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_divergence_flagged_in_both_dtypes(dtype):
    p = gaussian_regression(10, 30, seed=0)
    lam = np.linalg.eigvalsh(p.X.T @ p.X / 10).max()
    out = ib.train(LinearModel(30), losses.square, optim.GD(), p, steps=2000,
                   hparams={"step_size": [0.5 / lam, 50.0 / lam]}, dtype=dtype)
    assert list(out.diverged) == [False, True]
    assert np.all(np.isfinite(out.end_to_end))
    # float32 overflows (~3e38) sooner than float64 (~1.8e308): growth ×49 per step
    assert 0 < out.diverged_at[1] < (40 if dtype == "float32" else 200)


def test_bad_dtype_is_rejected():
    p = gaussian_regression(5, 10, seed=0)
    with pytest.raises(ib.InputError, match="dtype"):
        ib.train(LinearModel(10), losses.square, optim.GD(), p, steps=5, step_size=0.1, dtype="float16")
