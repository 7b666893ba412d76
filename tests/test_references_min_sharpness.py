"""Flattest interpolators of the diagonal network and the weighted basis pursuit they rest on: each against an
independent cvxpy formulation, its certificate, and the closed-form curvature of the points it describes."""

import cvxpy as cp
import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.metrics.diagonal_curvature import sharpness_floor, trace_floor
from implicit_bias.problems import Problem
from implicit_bias.references import get_reference, min_l1_interpolator
from implicit_bias.references.min_sharpness import min_sharpness_interpolator


def _data(seed, n=3, d=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.4, 2.0, d)
    return X, X @ (rng.standard_normal(d) * (rng.random(d) < 0.4) + np.eye(d)[0])


def test_weighted_min_l1_matches_cvxpy_and_its_dual(seed):
    X, y = _data(seed)
    c = np.random.default_rng(seed + 10).uniform(0.2, 3.0, X.shape[1])
    ref = min_l1_interpolator(X, y, weights=c)
    w = cp.Variable(X.shape[1])
    p = cp.Problem(cp.Minimize(c @ cp.abs(w)), [X @ w == y])
    p.solve(solver="CLARABEL")
    assert ref.status == "optimal" and ref.objective == pytest.approx(p.value, rel=1e-7)
    assert ref.objective == pytest.approx(float(c @ np.abs(ref.solution)), rel=1e-12)
    lam = ref.arrays["dual"]
    assert np.all(np.abs(X.T @ lam) <= c * (1 + 1e-8)) and float(lam @ y) == pytest.approx(ref.objective, rel=1e-8)
    if ref.info["unique"]:
        np.testing.assert_allclose(ref.solution, w.value, atol=1e-6)


def test_unit_weights_give_plain_basis_pursuit(seed):
    X, y = _data(seed)
    a, b = min_l1_interpolator(X, y), min_l1_interpolator(X, y, weights=np.ones(X.shape[1]))
    np.testing.assert_allclose(a.solution, b.solution, atol=1e-12)
    assert a.objective == pytest.approx(b.objective, rel=1e-12)


@pytest.mark.parametrize("weights", [np.ones(3), -np.ones(8), np.r_[np.ones(7), np.nan]])
def test_bad_weights_are_input_errors(weights):
    X, y = _data(0)
    with pytest.raises(InputError, match="weights"):
        min_l1_interpolator(X, y, weights=weights)


def test_trace_measure_is_the_column_weighted_lp(seed):
    X, y = _data(seed)
    ref = min_sharpness_interpolator(X, y, measure="trace")
    c = np.sum(X * X, axis=0)
    lp = min_l1_interpolator(X, y, weights=c)
    np.testing.assert_allclose(ref.solution, lp.solution, atol=1e-12)
    assert ref.objective == pytest.approx(float(trace_floor(X, ref.solution)), rel=1e-10)


def test_lambda_max_measure_matches_cvxpy_lambda_max_atom(seed):
    X, y = _data(seed)
    ref = min_sharpness_interpolator(X, y, measure="lambda-max")
    w, a = cp.Variable(X.shape[1]), cp.Variable(X.shape[1])
    G = X @ cp.diag(a) @ X.T
    p = cp.Problem(cp.Minimize(cp.lambda_max(0.5 * (G + G.T))), [X @ w == y, cp.abs(w) <= a])
    p.solve(solver="SCS", eps=1e-9, max_iters=200_000)
    n = X.shape[0]
    assert ref.status == "optimal" and ref.info["kkt_residual"] <= 1e-6
    assert ref.objective == pytest.approx(4.0 / n * p.value, rel=1e-5)
    assert ref.objective == pytest.approx(float(sharpness_floor(X, ref.solution)), rel=1e-6)
    np.testing.assert_allclose(X @ ref.solution, y, atol=1e-8)


def test_lambda_max_beats_the_trace_minimizer_and_vice_versa():
    X, y = _data(3)
    tr = min_sharpness_interpolator(X, y, measure="trace")
    lam = min_sharpness_interpolator(X, y, measure="lambda-max")
    assert sharpness_floor(X, lam.solution) <= sharpness_floor(X, tr.solution) * (1 + 1e-8)
    assert trace_floor(X, tr.solution) <= trace_floor(X, lam.solution) * (1 + 1e-12)


def test_registered_and_rejects_bad_input():
    X, y = _data(1)
    spec = get_reference("min-sharpness")
    assert spec.options == ("measure",)
    ref = spec.compute(Problem(X, y), measure="lambda-max")
    assert ref.name == "min-sharpness" and ref.info["measure"] == "lambda-max"
    with pytest.raises(InputError, match="measure"):
        min_sharpness_interpolator(X, y, measure="frobenius")
    with pytest.raises(InputError, match="does not take"):
        spec.compute(Problem(X, y), bogus=1)
    with pytest.raises(InputError):
        min_sharpness_interpolator(X, y[:-1])
