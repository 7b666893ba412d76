"""Basis pursuit: a segment of minimizers, sparse recovery, a second solver, and the optimal face's
coordinate ranges against brute-force LPs on degenerate integer problems."""

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import linprog

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.problems import Problem, sparse_regression
from implicit_bias.references import get_reference, min_l1_interpolator


def _face_ranges_brute_force(X, y, p_star, nonnegative=False):
    """min/max of each w_i over {Xw = y, ‖w‖₁ ≤ p*(1 + 1e-9)} by 2d LPs on the split variables."""
    n, d = X.shape
    A_eq = X if nonnegative else np.hstack([X, -X])
    m = A_eq.shape[1]
    lo, hi = np.zeros(d), np.zeros(d)
    for i in range(d):
        c = np.zeros(m)
        c[i] = 1.0
        if not nonnegative:
            c[d + i] = -1.0
        kw = dict(A_ub=np.ones((1, m)), b_ub=[p_star * (1 + 1e-9) + 1e-12], A_eq=A_eq, b_eq=y,
                  bounds=[(0, None)] * m, method="highs")
        lo[i] = linprog(c, **kw).fun
        hi[i] = -linprog(-c, **kw).fun
    return lo, hi


def test_segment_of_minimizers_is_detected():
    A, y = np.array([[1.0, 1.0, 1.0], [3.0, 0.0, 1.0]]), np.array([3.0, 3.0])
    ref = min_l1_interpolator(A, y)
    assert not ref.info["unique"]
    assert ref.objective == pytest.approx(3.0, rel=1e-12)
    np.testing.assert_allclose(ref.arrays["w_min"], [0.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(ref.arrays["w_max"], [1.0, 2.0, 3.0], atol=1e-9)
    for t in np.linspace(0, 1, 5):  # the whole segment (t, 2t, 3 − 3t) is optimal
        w = np.array([t, 2 * t, 3 - 3 * t])
        np.testing.assert_allclose(A @ w, y, atol=1e-12)
        assert np.abs(w).sum() == pytest.approx(ref.objective, rel=1e-12)


@pytest.mark.parametrize("n, d, k", [(40, 100, 5), (60, 200, 10)])
def test_compressed_sensing_recovers_the_sparse_vector(seed, n, d, k):
    p = sparse_regression(n, d, k, n_test=0, seed=seed)
    ref = min_l1_interpolator(p.X, p.y)
    assert ref.info["unique"] and ref.status == "optimal"
    np.testing.assert_allclose(ref.solution, p.w_star, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ref.arrays["w_min"], ref.arrays["w_max"])
    assert ref.info["support_size"] == k
    lam = ref.arrays["dual"]  # dual certificate: |Xᵀλ| ≤ 1, ⟨λ, y⟩ = p*
    assert np.abs(p.X.T @ lam).max() <= 1 + 1e-9
    assert lam @ p.y == pytest.approx(ref.objective, rel=1e-10)


def test_agrees_with_clarabel(seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((15, 40)), rng.standard_normal(15)  # generic: unique, dense-ish vertex
    w = cp.Variable(40)
    second = cp.Problem(cp.Minimize(cp.norm1(w)), [X @ w == y])
    second.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, tol_ktratio=1e-10)
    ref = min_l1_interpolator(X, y)
    assert ref.info["unique"]
    np.testing.assert_allclose(ref.solution, w.value, rtol=0, atol=1e-9)
    assert ref.objective == pytest.approx(second.value, rel=1e-10)


@pytest.mark.parametrize("nonnegative", [False, True])
def test_face_ranges_match_brute_force_on_degenerate_problems(seed, nonnegative):
    rng = np.random.default_rng(100 + seed)
    for _ in range(6):
        X = rng.integers(-2, 3, size=(3, 7)).astype(float)
        w_true = np.zeros(7)
        w_true[rng.choice(7, 3, replace=False)] = rng.integers(1, 3, 3) * (1 if nonnegative else rng.choice([-1, 1], 3))
        y = X @ w_true
        ref = min_l1_interpolator(X, y, nonnegative=nonnegative)
        lo, hi = _face_ranges_brute_force(X, y, ref.objective, nonnegative)
        np.testing.assert_allclose(ref.arrays["w_min"], lo, atol=1e-6)
        np.testing.assert_allclose(ref.arrays["w_max"], hi, atol=1e-6)
        assert ref.info["unique"] == bool(np.max(hi - lo) <= 1e-6)


def test_duplicated_column_splits_freely(seed):
    p = sparse_regression(30, 60, 4, n_test=0, seed=seed)
    j = int(np.flatnonzero(p.w_star)[0])
    X = np.c_[p.X, p.X[:, j]]  # coordinate 60 duplicates j: any split of w*_j between them is optimal
    ref = min_l1_interpolator(X, p.y)
    assert not ref.info["unique"]
    s = p.w_star[j]
    for i in (j, 60):
        assert sorted([ref.arrays["w_min"][i], ref.arrays["w_max"][i]]) == pytest.approx(sorted([0.0, s]), abs=1e-9)
    others = np.setdiff1d(np.arange(60), [j])
    np.testing.assert_allclose(ref.arrays["w_max"][others] - ref.arrays["w_min"][others], 0.0, atol=1e-9)


def test_nonnegative_recovery_and_infeasibility(seed):
    p = sparse_regression(30, 80, 5, n_test=0, nonnegative=True, seed=seed)
    ref = min_l1_interpolator(p.X, p.y, nonnegative=True)
    assert ref.info["unique"] and ref.solution.min() >= 0
    np.testing.assert_allclose(ref.solution, p.w_star, atol=1e-9)
    with pytest.raises(ReferenceFailure, match="infeasible"):
        min_l1_interpolator(np.eye(3), -np.ones(3), nonnegative=True)
    with pytest.raises(ReferenceFailure, match="infeasible"):
        min_l1_interpolator(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0]))


def test_registered_compute_and_bad_options():
    A, y = np.array([[1.0, 1.0, 1.0], [3.0, 0.0, 1.0]]), np.array([3.0, 3.0])
    spec = get_reference("min-l1")
    assert spec.options == ("nonnegative", "weights")
    assert spec.compute(Problem(A, y), nonnegative=None).objective == pytest.approx(3.0)
    assert spec.compute(Problem(A, y), nonnegative=True).info["nonnegative"]
    with pytest.raises(InputError):
        min_l1_interpolator(A, y, nonnegative="yes")
