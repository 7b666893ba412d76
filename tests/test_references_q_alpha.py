"""Q_α and the diagonal network's limit against an ODE integration of the flow itself, an
independent constrained minimization of Q_α, the KKT condition, numerical integrals of the
regularizer and the α → 0 (min-l1) and α → ∞ (min-l2) limits."""

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq, minimize

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.problems import Problem, sparse_regression
from implicit_bias.references import (diagonal_flow_limit, get_reference, min_l1_interpolator,
                                      q_alpha_interpolator, q_alpha_regularizer, shape_scale)

ODE_RTOL = 1e-11  # the integrator's tolerance; limits agree to ~1e-12, asserted at 1e-8
ODE_TOL = 1e-8


def _small(seed, n=5, d=12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_star = np.zeros(d)
    w_star[rng.choice(d, 2, replace=False)] = rng.choice([-1.0, 1.0], 2)
    return X, X @ w_star, rng


def _flow_limit(X, y, rhs, z0, to_w, T=1e4):
    """Integrate a gradient flow z' = rhs(z, g), g = Xᵀ(X w(z) − y), to time T; return w(z(T))."""
    sol = solve_ivp(lambda t, z: rhs(z, X.T @ (X @ to_w(z) - y)), (0.0, T), z0, method="LSODA",
                    rtol=ODE_RTOL, atol=1e-14)
    w = to_w(sol.y[:, -1])
    assert sol.success and np.linalg.norm(X @ w - y) <= 1e-9 * np.linalg.norm(y), "flow did not converge"
    return w


def _uv_flow(X, y, u0, v0, depth):
    """w = u^D − v^D: u' = −D u^{D−1} g, v' = +D v^{D−1} g."""
    d = X.shape[1]
    to_w = lambda z: z[:d] ** depth - z[d:] ** depth  # noqa: E731
    rhs = lambda z, g: np.r_[-depth * z[:d] ** (depth - 1) * g, depth * z[d:] ** (depth - 1) * g]  # noqa: E731
    return _flow_limit(X, y, rhs, np.r_[np.broadcast_to(u0, (d,)), np.broadcast_to(v0, (d,))], to_w)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 2.0])
def test_depth2_matches_the_flow(seed, alpha):
    X, y, _ = _small(seed)
    ref = q_alpha_interpolator(X, y, alpha)
    np.testing.assert_allclose(ref.solution, _uv_flow(X, y, alpha, alpha, 2), rtol=0,
                               atol=ODE_TOL * np.linalg.norm(ref.solution))


@pytest.mark.parametrize("depth, alpha", [(3, 0.5), (3, 0.2), (4, 0.5)])
def test_deeper_networks_match_the_flow(seed, depth, alpha):
    X, y, _ = _small(seed)
    ref = q_alpha_interpolator(X, y, alpha, depth=depth)
    np.testing.assert_allclose(ref.solution, _uv_flow(X, y, alpha, alpha, depth), rtol=0,
                               atol=ODE_TOL * np.linalg.norm(ref.solution))


@pytest.mark.parametrize("depth", [2, 3])
def test_unbalanced_per_coordinate_inits_match_the_flow(seed, depth):
    X, y, rng = _small(seed)
    u0, v0 = rng.uniform(0.2, 1.0, 12), rng.uniform(0.2, 1.0, 12)  # w(0) ≠ 0
    w, details = diagonal_flow_limit(X, y, u0, v0, depth)
    np.testing.assert_allclose(w, _uv_flow(X, y, u0, v0, depth), rtol=0, atol=ODE_TOL * np.linalg.norm(w))
    assert details["residual"] <= 1e-12


def test_positive_network_v0_zero_matches_the_flow(seed):
    """v0 = 0: w = u⊙u ≥ 0 (y from a dense positive w, so the limit is interior and the flow reaches it)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 12))
    y = X @ rng.uniform(0.5, 1.5, 12)
    w, _ = diagonal_flow_limit(X, y, 1.0, 0.0, 2)
    assert w.min() > 0.1
    np.testing.assert_allclose(w, _uv_flow(X, y, 1.0, 0.0, 2), rtol=0, atol=ODE_TOL * np.linalg.norm(w))


def test_init_shape_matches_the_two_layer_signed_network(seed):
    """w = u₊⊙v₊ − u₋⊙v₋ with u±(0) = α√((1−s)/(1+s)), v±(0) = α√((1+s)/(1−s))."""
    X, y, _ = _small(seed)
    alpha, s, d = 0.3, [0.5, -0.8, 0.95][seed], 12
    u0, v0 = alpha * np.sqrt((1 - s) / (1 + s)), alpha * np.sqrt((1 + s) / (1 - s))
    to_w = lambda z: z[:d] * z[d:2 * d] - z[2 * d:3 * d] * z[3 * d:]  # noqa: E731
    rhs = lambda z, g: np.r_[-z[d:2 * d] * g, -z[:d] * g, z[3 * d:] * g, z[2 * d:3 * d] * g]  # noqa: E731
    w_flow = _flow_limit(X, y, rhs, np.repeat([u0, v0, u0, v0], d), to_w)
    ref = q_alpha_interpolator(X, y, alpha, shape=s)
    np.testing.assert_allclose(ref.solution, w_flow, rtol=0, atol=ODE_TOL * np.linalg.norm(w_flow))
    assert ref.info["effective_alpha"] == pytest.approx(shape_scale(alpha, s))
    other = q_alpha_interpolator(X, y, alpha)  # the shape changes the limit
    assert np.linalg.norm(other.solution - ref.solution) > 1e-3 * np.linalg.norm(ref.solution)


def test_single_product_network_maps_to_the_difference_network(seed):
    """w = u⊙v (w(0) = u0v0 ≠ 0) is u'⊙u' − v'⊙v' with u' = (u+v)/2, v' = |u−v|/2."""
    X, y, rng = _small(seed)
    d = 12
    u0, v0 = rng.uniform(0.1, 0.8, d), rng.uniform(0.1, 0.8, d)
    to_w = lambda z: z[:d] * z[d:]  # noqa: E731
    rhs = lambda z, g: np.r_[-z[d:] * g, -z[:d] * g]  # noqa: E731
    w_flow = _flow_limit(X, y, rhs, np.r_[u0, v0], to_w)
    w, _ = diagonal_flow_limit(X, y, (u0 + v0) / 2, np.abs(u0 - v0) / 2, 2)
    np.testing.assert_allclose(w, w_flow, rtol=0, atol=ODE_TOL * np.linalg.norm(w_flow))


def test_agrees_with_slsqp_on_q_alpha(seed):
    X, y, rng = _small(seed, n=4, d=8)
    alpha = 0.7
    a2 = alpha ** 2
    w0 = np.linalg.pinv(X) @ y
    res = minimize(lambda w: q_alpha_regularizer(w, alpha), w0, jac=lambda w: np.arcsinh(w / (2 * a2)),
                   constraints=[{"type": "eq", "fun": lambda w: X @ w - y, "jac": lambda w: X}],
                   method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    ref = q_alpha_interpolator(X, y, alpha)
    np.testing.assert_allclose(ref.solution, res.x, rtol=0, atol=1e-6 * np.linalg.norm(res.x))
    assert ref.objective <= res.fun + 1e-12


@pytest.mark.parametrize("alpha", [1e-6, 1e-3, 1e-1, 1.0, 30.0, 1e3])
def test_kkt_and_residual_across_scales(seed, alpha):
    """Xw = y to 1e-12 and ∇Q_α(w) = arcsinh(w/(2α²)) ∈ rowspan(X)."""
    p = sparse_regression(20, 50, 4, n_test=0, seed=seed)
    ref = q_alpha_interpolator(p.X, p.y, alpha)
    assert ref.info["residual"] <= 1e-12
    assert np.linalg.norm(p.X @ ref.solution - p.y) <= 1e-12 * np.linalg.norm(p.y) * 10
    grad = np.arcsinh(ref.solution / (2 * alpha ** 2))
    null = np.linalg.svd(p.X)[2][20:]
    assert np.linalg.norm(null @ grad) <= 1e-10 * max(np.linalg.norm(grad), 1e-300)
    np.testing.assert_allclose(ref.arrays["zeta"], grad, rtol=1e-9, atol=1e-12 * np.abs(grad).max())
    assert ref.objective == pytest.approx(q_alpha_regularizer(ref.solution, alpha), rel=1e-12)


def test_large_alpha_tends_to_min_l2_at_rate_alpha_to_minus_4(seed):
    X, y, _ = _small(seed, n=10, d=30)
    l2 = np.linalg.pinv(X) @ y
    alphas = np.array([3.0, 10.0, 30.0])
    errs = [np.linalg.norm(q_alpha_interpolator(X, y, a).solution - l2) / np.linalg.norm(l2) for a in alphas]
    slope = np.polyfit(np.log(alphas), np.log(errs), 1)[0]
    assert slope == pytest.approx(-4.0, abs=0.05)
    assert np.linalg.norm(q_alpha_interpolator(X, y, 1e3).solution - l2) <= 1e-11 * np.linalg.norm(l2)


@pytest.mark.parametrize("depth", [2, 3])
def test_small_alpha_tends_to_the_unique_min_l1(seed, depth):
    p = sparse_regression(15, 40, 3, n_test=0, seed=seed)
    l1 = min_l1_interpolator(p.X, p.y)
    assert l1.info["unique"]
    alphas = (1e-1, 1e-2, 1e-4, 1e-6)
    sols = [q_alpha_interpolator(p.X, p.y, a, depth=depth).solution for a in alphas]
    errs = [np.linalg.norm(w - l1.solution) for w in sols]
    assert np.all(np.diff(errs) < 0)
    if depth == 3:  # off-support coordinates vanish like α^D
        assert errs[-1] <= 1e-8 * np.linalg.norm(l1.solution)
        return
    # depth 2: |w|(L + log|w| − 1) ≤ α²q(w/α²) ≤ |w|(L + log(|w| + α²)), L = log(1/α²), and
    # Q_α(w_α) ≤ Q_α(w_l1) give 0 ≤ ‖w_α‖₁ − p* ≤ [Σ|w_l1| log(|w_l1| + α²) − Σ|w_α|(log|w_α| − 1)] / L
    xlogx = lambda v: np.where(v > 0, v * np.log(np.where(v > 0, v, 1.0)), 0.0)  # noqa: E731
    for a, w in zip(alphas, sols):
        L, wa, ws = np.log(1 / a ** 2), np.abs(w), np.abs(l1.solution)
        bound = (np.sum(ws * np.log(ws + a ** 2)) - np.sum(xlogx(wa) - wa)) / L
        assert -1e-12 <= wa.sum() - l1.objective <= bound + 1e-12
    assert bound <= 0.1 * l1.objective


@pytest.mark.parametrize("depth, alpha", [(3, 1e-4), (3, 1e-6), (4, 1e-3), (4, 1e-6), (5, 1e-2), (3, 1e3)])
def test_deep_networks_at_extreme_scales_reach_full_precision(depth, alpha):
    p = sparse_regression(20, 50, 4, n_test=0, seed=depth)
    ref = q_alpha_interpolator(p.X, p.y, alpha, depth=depth)
    assert np.linalg.norm(p.X @ ref.solution - p.y) <= 1e-11 * np.linalg.norm(p.y)


def test_regularizer_is_the_integral_of_arcsinh():
    rng = np.random.default_rng(0)
    for alpha in (0.05, 0.7, 20.0):
        w = rng.standard_normal(4) * 3
        a2 = alpha ** 2
        integral = sum(quad(lambda t: np.arcsinh(t / (2 * a2)), 0, wi, epsabs=0, epsrel=1e-13)[0] for wi in w)
        assert q_alpha_regularizer(w, alpha) == pytest.approx(integral, rel=1e-10)
    w = np.array([1.0, -2.0, 0.5])  # Q_α/log(1/α²) → ‖w‖₁ and Q_α ≈ ‖w‖²/(4α²)
    assert q_alpha_regularizer(w, 1e-30) / np.log(1e60) == pytest.approx(3.5, rel=0.02)
    assert q_alpha_regularizer(w, 1e3) * 4e6 == pytest.approx(5.25, rel=1e-6)


def test_depth3_objective_is_the_bregman_divergence(seed):
    """Ψ(w) = Σ ∫₀^{w_i} h⁻¹(t) dt with h(ζ) = α³[(1 − αζ)⁻³ − (1 + αζ)⁻³]."""
    X, y, _ = _small(seed)
    alpha = 0.5
    ref = q_alpha_interpolator(X, y, alpha, depth=3)
    h = lambda z: alpha ** 3 * ((1 - alpha * z) ** -3 - (1 + alpha * z) ** -3)  # noqa: E731
    h_inv = lambda t: brentq(lambda z: h(z) - t, -1 / alpha + 1e-15, 1 / alpha - 1e-15, xtol=1e-15)  # noqa: E731
    integral = sum(quad(h_inv, 0, wi, epsrel=1e-11)[0] for wi in ref.solution)
    assert ref.objective == pytest.approx(integral, rel=1e-8)
    np.testing.assert_allclose(h(ref.arrays["zeta"]), ref.solution, rtol=1e-10, atol=1e-14)


def test_invalid_options_and_infeasible_data():
    X, y, _ = _small(0)
    for kwargs, match in [({"alpha": 0.0}, "alpha"), ({"alpha": -1.0}, "alpha"), ({"alpha": np.inf}, "alpha"),
                          ({"alpha": 1.0, "depth": 1}, "depth"), ({"alpha": 1.0, "depth": 2.5}, "depth"),
                          ({"alpha": 1.0, "shape": 1.0}, "shape"),
                          ({"alpha": 1.0, "depth": 3, "shape": 0.5}, "depth 2")]:
        with pytest.raises(InputError, match=match):
            q_alpha_interpolator(X, y, **kwargs)
    rng = np.random.default_rng(0)
    with pytest.raises(ReferenceFailure, match="no solution"):
        q_alpha_interpolator(rng.standard_normal((10, 4)), rng.standard_normal(10), 1.0)


def test_registered_compute_defaults_and_required_alpha():
    X, y, _ = _small(1)
    spec = get_reference("q-alpha")
    assert spec.options == ("init_scale", "depth", "init_shape")
    problem = Problem(X, y)
    ref = spec.compute(problem, init_scale=0.5, depth=None, init_shape=None)
    np.testing.assert_array_equal(ref.solution, q_alpha_interpolator(X, y, 0.5).solution)
    assert spec.compute(problem, init_scale=0.5, depth=3).info["depth"] == 3
    with pytest.raises(InputError, match="init-scale"):
        spec.compute(problem, init_scale=None)
