"""min-l2 against the pseudo-inverse, the KKT system solved directly, and its least-squares fallback."""

import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.problems import Problem
from implicit_bias.references import get_reference, min_l2_interpolator

RTOL, ATOL = 1e-10, 1e-12  # float64 closed forms


def _data(seed, n, d, rank=None):
    rng = np.random.default_rng(seed)
    if rank is None:
        X = rng.standard_normal((n, d))
    else:
        X = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, d))
    return X, X @ rng.standard_normal(d), rng


@pytest.mark.parametrize("n, d", [(5, 12), (20, 100), (30, 30)])
def test_matches_pinv_from_zero(seed, n, d):
    X, y, _ = _data(seed, n, d)
    ref = min_l2_interpolator(X, y)
    np.testing.assert_allclose(ref.solution, np.linalg.pinv(X) @ y, rtol=RTOL, atol=ATOL)
    assert ref.status == "optimal" and ref.info["consistent"]
    assert ref.info["residual"] <= 1e-12 * np.linalg.norm(y)
    assert ref.objective == pytest.approx(np.linalg.norm(ref.solution), rel=1e-14)


def test_nearest_to_init_solves_the_kkt_system(seed):
    """min ½‖w − w0‖² s.t. Xw = y ⇔ [[I, Xᵀ], [X, 0]] [w; λ] = [w0; y] (full row rank X)."""
    n, d = 8, 20
    X, y, rng = _data(seed, n, d)
    w0 = rng.standard_normal(d)
    K = np.block([[np.eye(d), X.T], [X, np.zeros((n, n))]])
    expected = np.linalg.solve(K, np.r_[w0, y])[:d]
    ref = min_l2_interpolator(X, y, w0=w0)
    np.testing.assert_allclose(ref.solution, expected, rtol=RTOL, atol=ATOL)
    assert ref.objective == pytest.approx(np.linalg.norm(expected - w0), rel=1e-10)
    # w − w0 lies in rowspan(X): no component in the null space
    null = np.linalg.svd(X)[2][n:]
    assert np.linalg.norm(null @ (ref.solution - w0)) <= 1e-12 * np.linalg.norm(ref.solution - w0)


def test_rank_deficient_consistent_system(seed):
    X, y, rng = _data(seed, 15, 40, rank=6)
    w0 = rng.standard_normal(40)
    ref = min_l2_interpolator(X, y, w0=w0)
    assert ref.info["rank"] == 6 and ref.info["consistent"]
    np.testing.assert_allclose(ref.solution, w0 + np.linalg.pinv(X) @ (y - X @ w0), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(X @ ref.solution, y, rtol=1e-9, atol=1e-9)


def test_inconsistent_system_gives_the_least_squares_point_and_says_so(seed):
    X, _, rng = _data(seed, 30, 10)
    y = rng.standard_normal(30)
    ref = min_l2_interpolator(X, y)
    assert not ref.info["consistent"] and ref.status == "least-squares" and "least-squares" in ref.info["note"]
    np.testing.assert_allclose(ref.solution, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10, atol=1e-12)
    # rank-deficient and inconsistent: the least-squares point nearest to w0
    X2 = np.c_[X, X[:, :3]]
    w0 = rng.standard_normal(13)
    ref2 = min_l2_interpolator(X2, y, w0=w0)
    np.testing.assert_allclose(ref2.solution, w0 + np.linalg.pinv(X2) @ (y - X2 @ w0), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(X2.T @ (X2 @ ref2.solution - y), 0.0, atol=1e-9)


def test_bad_inputs_raise_input_error():
    X, y, _ = _data(0, 4, 6)
    with pytest.raises(InputError, match="w0"):
        min_l2_interpolator(X, y, w0=np.zeros(5))
    with pytest.raises(InputError, match="y must have shape"):
        min_l2_interpolator(X, y[:3])
    with pytest.raises(InputError, match="finite"):
        min_l2_interpolator(X, np.r_[y[:3], np.nan])


def test_registered_compute_takes_init():
    X, y, rng = _data(1, 6, 15)
    w0 = rng.standard_normal(15)
    spec = get_reference("min-l2")
    assert spec.options == ("init",)
    problem = Problem(X, y)
    np.testing.assert_array_equal(spec.compute(problem, init=None).solution, min_l2_interpolator(X, y).solution)
    np.testing.assert_array_equal(spec.compute(problem, init=w0).solution, min_l2_interpolator(X, y, w0).solution)
