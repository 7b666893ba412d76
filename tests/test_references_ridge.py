"""The ridge reference: KKT (gradient) certificate, an independent solver, λ → 0 and bad input."""

import numpy as np
import pytest
from scipy.optimize import minimize

from implicit_bias.errors import InputError
from implicit_bias.problems import Problem
from implicit_bias.references import get_reference
from implicit_bias.references.ridge import ridge_solution


@pytest.mark.parametrize("shape", [(30, 10), (10, 30)])
def test_ridge_matches_an_independent_solver(shape, seed):
    rng = np.random.default_rng(seed)
    X, y, w0 = rng.standard_normal(shape), rng.standard_normal(shape[0]), rng.standard_normal(shape[1])
    lam = 0.3
    ref = ridge_solution(X, y, lam, w0=w0)
    n = shape[0]
    obj = lambda w: 0.5 * np.mean((X @ w - y) ** 2) + 0.5 * lam * np.sum((w - w0) ** 2)  # noqa: E731
    jac = lambda w: X.T @ (X @ w - y) / n + lam * (w - w0)  # noqa: E731
    other = minimize(obj, np.zeros(shape[1]), jac=jac, method="L-BFGS-B", options={"gtol": 1e-13, "ftol": 1e-16})
    np.testing.assert_allclose(ref.solution, other.x, rtol=1e-6, atol=1e-8)
    assert ref.status == "optimal" and ref.info["gradient_residual"] < 1e-12
    assert np.isclose(ref.objective, obj(ref.solution))
    # Ali et al.'s normalisation: (XᵀX + nλI)⁻¹Xᵀy from w0 = 0
    np.testing.assert_allclose(ridge_solution(X, y, lam).solution,
                               np.linalg.solve(X.T @ X + n * lam * np.eye(shape[1]), X.T @ y), rtol=1e-10)


def test_lambda_zero_is_the_nearest_least_squares_point():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 15)), rng.standard_normal(6)
    np.testing.assert_allclose(ridge_solution(X, y, 0.0).solution, np.linalg.pinv(X) @ y, atol=1e-12)
    np.testing.assert_allclose(ridge_solution(X, y, 1e-12).solution, np.linalg.pinv(X) @ y, atol=1e-8)


def test_registered_and_rejects_bad_input():
    rng = np.random.default_rng(0)
    problem = Problem(rng.standard_normal((5, 3)), rng.standard_normal(5))
    spec = get_reference("ridge")
    assert spec.options == ("lam", "init")
    assert spec.compute(problem, lam=0.1).name == "ridge"
    with pytest.raises(InputError, match="lam"):
        spec.compute(problem)
    for bad in (-1.0, float("nan"), "x"):
        with pytest.raises(InputError):
            ridge_solution(problem.X, problem.y, bad)
    with pytest.raises(InputError):
        ridge_solution(problem.X, problem.y, 0.1, w0=np.zeros(4))
    with pytest.raises(InputError, match="does not take"):
        spec.compute(problem, lam=0.1, alpha=1.0)
