"""Hard-margin SVM: the 2-D example, KKT conditions, OSQP and the dual solved by L-BFGS-B, failures."""

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize

from implicit_bias.errors import InputError, NotSeparableError
from implicit_bias.problems import Problem, planted_margin_classification, svm_2d_example
from implicit_bias.references import get_reference, hard_margin_svm

SIZES = [(40, 6), (30, 60)]


def test_2d_example_gives_half_half():
    p = svm_2d_example()
    ref = hard_margin_svm(p.X, p.y)
    np.testing.assert_allclose(ref.solution, [0.5, 0.5], rtol=0, atol=1e-12)
    assert ref.status == "optimal"
    assert ref.objective == pytest.approx(np.sqrt(0.5), rel=1e-12)
    assert ref.info["margin"] == pytest.approx(np.sqrt(2.0), rel=1e-12)
    assert sorted(ref.arrays["support"].tolist()) == [0, 1, 5, 6]  # ±(0.5, 1.5), ±(1.5, 0.5)


@pytest.mark.parametrize("n, d", SIZES)
def test_kkt_conditions_hold(seed, n, d):
    p = planted_margin_classification(n, d, margin=0.1, n_test=0, seed=seed)
    ref = hard_margin_svm(p.X, p.y)
    w, alpha = ref.solution, ref.arrays["dual"]
    margins = p.y * (p.X @ w)
    assert margins.min() >= 1 - 1e-10
    assert alpha.min() >= 0
    np.testing.assert_allclose(w, p.X.T @ (alpha * p.y), rtol=1e-9, atol=1e-12)
    assert np.max(alpha * (margins - 1)) <= 1e-9 * np.dot(w, w)
    np.testing.assert_array_equal(ref.arrays["support"], np.flatnonzero(margins - 1 <= 1e-8))
    assert ref.info["n_support"] == ref.arrays["support"].size
    assert ref.info["kkt_residual"] <= 1e-9


@pytest.mark.parametrize("n, d", SIZES)
def test_agrees_with_osqp(seed, n, d):
    p = planted_margin_classification(n, d, margin=0.1, n_test=0, seed=seed)
    w = cp.Variable(d)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w)), [cp.multiply(p.y, p.X @ w) >= 1]).solve(
        solver=cp.OSQP, eps_abs=1e-10, eps_rel=1e-10, max_iter=200_000, polishing=True)
    ref = hard_margin_svm(p.X, p.y)
    np.testing.assert_allclose(ref.solution, w.value, rtol=1e-9, atol=1e-10 * np.linalg.norm(w.value))  # OSQP polished


def test_agrees_with_the_dual_solved_by_lbfgsb(seed):
    """max_α 1ᵀα − ½‖Σ α_i y_i x_i‖², α ≥ 0, then ŵ = Σ α_i y_i x_i."""
    p = planted_margin_classification(30, 5, margin=0.2, n_test=0, seed=seed)
    Z = p.y[:, None] * p.X
    G = Z @ Z.T
    res = minimize(lambda a: (0.5 * a @ G @ a - a.sum(), G @ a - 1), np.zeros(30), jac=True, method="L-BFGS-B",
                   bounds=[(0, None)] * 30, options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    ref = hard_margin_svm(p.X, p.y)
    np.testing.assert_allclose(ref.solution, Z.T @ res.x, rtol=1e-6, atol=1e-7)  # L-BFGS-B reaches ~1e-7


def test_scaling_and_far_points(seed):
    """ŵ(cX) = ŵ(X)/c, and points beyond the margin do not move ŵ."""
    p = planted_margin_classification(25, 4, margin=0.1, n_test=0, seed=seed)
    ref = hard_margin_svm(p.X, p.y)
    np.testing.assert_allclose(hard_margin_svm(3.0 * p.X, p.y).solution, ref.solution / 3.0, rtol=1e-9)
    far = 5.0 * ref.solution / np.linalg.norm(ref.solution) ** 2  # margin 5 for the label +1
    X2, y2 = np.r_[p.X, far[None], -far[None]], np.r_[p.y, 1.0, -1.0]
    np.testing.assert_allclose(hard_margin_svm(X2, y2).solution, ref.solution, rtol=1e-9)


def test_not_separable_raises():
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 0.0]])
    with pytest.raises(NotSeparableError, match="separable"):
        hard_margin_svm(X, np.array([1.0, 1.0, -1.0]))
    with pytest.raises(NotSeparableError):  # a point at the origin has margin 0 for every w
        hard_margin_svm(np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([1.0, -1.0]))


def test_labels_must_be_pm1():
    with pytest.raises(InputError, match="±1"):
        hard_margin_svm(np.eye(3), np.array([1.0, 0.0, -1.0]))


def test_registered_compute_takes_no_options():
    p = svm_2d_example()
    spec = get_reference("max-margin")
    assert spec.options == ()
    np.testing.assert_allclose(spec.compute(Problem(p.X, p.y)).solution, [0.5, 0.5], atol=1e-12)
    with pytest.raises(InputError, match="does not take"):
        spec.compute(Problem(p.X, p.y), alpha=1.0)
