"""Group basis pursuit: its KKT certificate recomputed here, the singleton (min-l1) and single-group
(min-l2) special cases, group-sparse recovery and a second solver (SCS) on the objective."""

import cvxpy as cp
import numpy as np
import pytest

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.problems import Problem
from implicit_bias.references import get_reference, min_group_norm_interpolator, min_l1_interpolator


def _grouped(seed, n=20, n_groups=15, size=3, active=2):
    rng = np.random.default_rng(seed)
    d = n_groups * size
    X = rng.standard_normal((n, d))
    groups = np.repeat(np.arange(n_groups), size)
    w_star = np.zeros(d)
    for g in rng.choice(n_groups, active, replace=False):
        w_star[groups == g] = rng.standard_normal(size)
    return X, X @ w_star, groups, w_star, rng


def _check_kkt(X, y, groups, ref, tol=1e-10):
    """‖X_gᵀη‖ ≤ 1 everywhere, = w_g/‖w_g‖ on active groups, ⟨η, y⟩ = Σ‖w_g‖, Xw = y."""
    eta, w = ref.arrays["dual"], ref.solution
    np.testing.assert_allclose(X @ w, y, atol=tol * max(1.0, np.linalg.norm(y)))
    total = 0.0
    for g in np.unique(groups):
        idx = groups == g
        corr, norm = X[:, idx].T @ eta, np.linalg.norm(w[idx])
        assert np.linalg.norm(corr) <= 1 + tol
        if norm > 0:
            np.testing.assert_allclose(corr, w[idx] / norm, atol=tol)
        total += norm
    assert eta @ y == pytest.approx(total, rel=tol)
    assert ref.objective == pytest.approx(total, rel=1e-12)


def test_kkt_certificate_holds(seed):
    X, _, groups, _, rng = _grouped(seed)
    y = rng.standard_normal(20)  # a generic y: many active groups
    ref = min_group_norm_interpolator(X, y, groups)
    _check_kkt(X, y, groups, ref)
    assert ref.info["n_active_groups"] == int(np.sum(ref.arrays["group_norms"] > 0))


def test_group_sparse_vector_is_recovered(seed):
    X, y, groups, w_star, _ = _grouped(seed, n=30, n_groups=20, size=3, active=2)
    ref = min_group_norm_interpolator(X, y, groups)
    np.testing.assert_allclose(ref.solution, w_star, atol=1e-10)
    assert ref.info["n_active_groups"] == 2
    _check_kkt(X, y, groups, ref)


def test_singletons_give_min_l1_and_one_group_gives_min_l2(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((15, 40))
    y = X @ (rng.standard_normal(40) * (rng.random(40) < 0.1))
    l1 = min_l1_interpolator(X, y)
    assert l1.info["unique"]
    np.testing.assert_allclose(min_group_norm_interpolator(X, y, np.arange(40)).solution, l1.solution, atol=1e-10)
    np.testing.assert_allclose(min_group_norm_interpolator(X, y, np.zeros(40, int)).solution,
                               np.linalg.pinv(X) @ y, rtol=1e-10, atol=1e-12)


def test_agrees_with_scs(seed):
    X, _, groups, _, rng = _grouped(seed, n=10, n_groups=8, size=2)
    y = rng.standard_normal(10)
    w = cp.Variable(16)
    second = cp.Problem(cp.Minimize(sum(cp.norm(w[groups == g], 2) for g in range(8))), [X @ w == y])
    second.solve(solver=cp.SCS, eps_abs=1e-10, eps_rel=1e-10, max_iters=200_000)
    ref = min_group_norm_interpolator(X, y, groups)
    assert ref.objective == pytest.approx(second.value, rel=1e-9)  # SCS at 1e-10 reaches ~1e-12
    np.testing.assert_allclose(ref.solution, w.value, atol=1e-8)


def test_group_ids_are_arbitrary_integers(seed):
    X, y, groups, w_star, rng = _grouped(seed, n=30, n_groups=20, size=3)
    relabel = rng.permutation(1000)[:20] - 500  # negative and unordered ids, same partition
    ref = min_group_norm_interpolator(X, y, relabel[groups])
    np.testing.assert_allclose(ref.solution, min_group_norm_interpolator(X, y, groups).solution, atol=1e-12)
    np.testing.assert_array_equal(ref.arrays["group_ids"], np.sort(relabel))


def test_bad_groups_and_infeasible_data():
    X, y, groups, _, _ = _grouped(0)
    with pytest.raises(InputError, match="one id per feature"):
        min_group_norm_interpolator(X, y, groups[:-1])
    with pytest.raises(InputError, match="integer"):
        min_group_norm_interpolator(X, y, groups + 0.5)
    with pytest.raises(ReferenceFailure, match="infeasible"):
        min_group_norm_interpolator(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0]), np.array([0, 1]))


def test_registered_compute_needs_groups():
    X, y, groups, _, _ = _grouped(1)
    spec = get_reference("group-lasso")
    assert spec.options == ("groups",)
    ref = spec.compute(Problem(X, y), groups=groups.astype(float))  # ids read from a float .npy
    assert ref.name == "group-lasso" and ref.status == "optimal"
    with pytest.raises(InputError, match="groups"):
        spec.compute(Problem(X, y), groups=None)
