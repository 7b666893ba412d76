"""The products-alone timings of the sweep benchmark (numpy's OpenBLAS against the engine's XLA kernel)."""

import jax
import numpy as np
import pytest

from implicit_bias import bench, bench_baselines as base


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_products_alone_are_timed_on_both_sides(dtype):
    X = np.random.default_rng(0).standard_normal((20, 60))
    Xn = base.spectrally_normalized(X, dtype)
    assert Xn.dtype == np.dtype(dtype) and np.linalg.norm(Xn.astype(np.float64), 2) == pytest.approx(1.0, rel=1e-6)
    numpy_s = base.numpy_products(X, 16, 50, dtype)
    xla_s = bench.xla_products(X, 16, 50, dtype, jax.devices("cpu")[0])
    assert 0 < numpy_s < 1 and 0 < xla_s < 1


def test_the_products_iteration_stays_of_order_one():
    # U <- (U Xn^T) Xn converges to U's projection on the top right singular vector: no overflow, no subnormals
    X = np.random.default_rng(1).standard_normal((20, 60))
    Xn = base.spectrally_normalized(X, "float32").astype(np.float64)
    U = np.ones((4, 60))
    for _ in range(2000):
        U = (U @ Xn.T) @ Xn
    v = np.linalg.svd(Xn)[2][0]
    limit = np.ones((4, 60)) @ np.outer(v, v)  # ‖Xn‖₂ = 1 up to float32 rounding: the limit up to 1e-3
    np.testing.assert_allclose(U, limit, rtol=1e-3, atol=1e-3 * np.abs(limit).max())
    assert np.abs(limit).max() > 0.1
