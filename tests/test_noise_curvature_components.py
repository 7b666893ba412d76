"""Components of the noise-and-curvature entries on cases with known answers: the diagonal network's exact
curvature against a dense Hessian, SAM's step on a quadratic, gradient noise, dropout's exact expectation,
and the closed-form dropout optimum against L-BFGS on the factorized objective."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.experiments.edge_of_stability import factor_sharpness, flow_sharpness
from implicit_bias.metrics.diagonal_curvature import hessian_trace, manifold_sharpness
from implicit_bias.models.factorized import FactorizedModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.optim import GD, make_optimizer
from implicit_bias.optim.dropout import Dropout
from implicit_bias.optim.gradient_noise import GradientNoiseGD
from implicit_bias.optim.sam import SAM, ascent
from implicit_bias.problems import Problem
from implicit_bias.problems.matrix import full_matrix_problem
from implicit_bias.references import get_reference
from implicit_bias.references.dropout_optimum import dropout_optimum


def _dense_hessian(X, y, u, v):
    n = X.shape[0]

    def loss(z):
        d = X.shape[1]
        w = z[:d] ** 2 - z[d:] ** 2
        return 0.5 / n * jnp.sum((X @ w - y) ** 2)

    return np.asarray(jax.hessian(loss)(jnp.r_[u, v]))


def test_diagonal_curvature_matches_a_dense_hessian(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, 6))
    u, v = rng.standard_normal(6), rng.standard_normal(6)
    y_off = rng.standard_normal(3)  # off the manifold: the trace formula still holds exactly
    H = _dense_hessian(X, y_off, u, v)
    assert float(hessian_trace(X, u, v)) == pytest.approx(np.trace(H), rel=1e-12)
    y_on = X @ (u * u - v * v)  # on the manifold: λ_max is the Gauss–Newton closed form
    H = _dense_hessian(X, y_on, u, v)
    assert float(manifold_sharpness(X, u, v)) == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-12)
    batch = manifold_sharpness(X, np.stack([u, 2 * u]), np.stack([v, 2 * v]))
    assert batch.shape == (2,) and batch[1] == pytest.approx(4 * batch[0], rel=1e-12)


def test_factor_and_scalar_sharpness_closed_forms(seed):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    M = W2 @ W1

    def loss(z):
        A, B = z[:12].reshape(3, 4), z[12:].reshape(5, 3)
        return 0.5 * jnp.sum((B @ A - M) ** 2)

    H = np.asarray(jax.hessian(loss)(jnp.r_[W1.ravel(), W2.ravel()]))
    assert float(factor_sharpness(W1, W2)) == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-10)
    x = rng.uniform(0.2, 3.0)
    assert flow_sharpness(x, 1 / x) == pytest.approx(x * x + 1 / x ** 2, rel=1e-12)  # on xy = 1


@pytest.mark.slow
def test_sam_step_on_a_quadratic():
    A = np.diag([3.0, 1.0])
    problem = Problem(np.sqrt(2.0) * np.linalg.cholesky(A).T, np.zeros(2))  # L = ½ wᵀ A w
    model = LinearModel(2)
    w0 = np.asarray(model.init({}, jax.random.PRNGKey(0)))
    h, rho = 0.1, 0.2
    out = train(model, losses.square, SAM(rho=rho), problem, steps=1, step_size=h, record_end_to_end=True)
    g = A @ w0
    expected = w0 - h * A @ (w0 + rho * g / np.linalg.norm(g)) if np.linalg.norm(g) > 0 else w0
    np.testing.assert_allclose(out.end_to_end[0], expected, rtol=1e-12, atol=1e-14)
    unnormalized = train(model, losses.square, SAM(rho=rho, unnormalized=True), problem, steps=1, step_size=h)
    np.testing.assert_allclose(unnormalized.end_to_end[0], w0 - h * A @ (w0 + rho * g), rtol=1e-12, atol=1e-14)
    zero = ascent({"a": jnp.zeros(3)}, 0.5, True)
    assert float(jnp.max(jnp.abs(zero["a"]))) == 0.0


def test_sam_options():
    assert SAM(variant="1").batch_size == 1
    assert isinstance(make_optimizer("sam", rho=0.1, variant="1"), SAM)
    for bad in (dict(rho=0.0), dict(variant="2"), dict(variant="1", batch_size=3)):
        with pytest.raises(InputError):
            SAM(**bad)


def test_gradient_noise_is_gd_plus_fresh_gaussians():
    params = {"a": jnp.zeros(20000)}
    tx = GradientNoiseGD().transform({"step_size": jnp.asarray(0.5), "gradient_noise": jnp.asarray(2.0),
                                      "seed": jnp.asarray(3)})
    state = tx.init(params)
    g = {"a": jnp.ones(20000)}
    u1, state = tx.update(g, state, params)
    u2, _ = tx.update(g, state, params)
    z1 = (-np.asarray(u1["a"]) / 0.5 - 1.0) / 2.0
    z2 = (-np.asarray(u2["a"]) / 0.5 - 1.0) / 2.0
    assert abs(z1.mean()) < 0.05 and abs(z1.std() - 1) < 0.05 and abs(np.corrcoef(z1, z2)[0, 1]) < 0.05
    quiet = GradientNoiseGD(gradient_noise=0.0).transform({"step_size": jnp.asarray(0.5), "seed": jnp.asarray(0)})
    u, _ = quiet.update(g, quiet.init(params), params)
    np.testing.assert_array_equal(np.asarray(u["a"]), -0.5)
    with pytest.raises(InputError):
        GradientNoiseGD(gradient_noise=-1.0)


def test_dropout_expectation_is_exact_over_all_masks():
    problem, M = full_matrix_problem((2.0, 1.0, 0.5), 3, 3, 0)
    model = FactorizedModel(shape=(3, 3), depth=2, width=3, init_scale=1.0, kind="completion")
    params = model.init({}, jax.random.PRNGKey(1))
    X, y, theta = jnp.asarray(problem.X), jnp.asarray(problem.y), 0.3

    def objective(p, X, y, hp):
        return losses.square.value(model.predict(p, X), y)

    hp = {"retain": jnp.asarray(theta)}
    exact = Dropout(width=3, retain=theta, expected=True).modify_objective(objective)(params, X, y, hp)
    sampled = Dropout(width=3, retain=theta).modify_objective(objective)
    mean = 0.0
    for b in itertools.product([0.0, 1.0], repeat=3):
        prob = np.prod([theta if bi else 1 - theta for bi in b])
        mean += prob * float(sampled(params, X, y, {**hp, "dropout_keep": jnp.asarray(b)}))
    assert float(exact) == pytest.approx(mean, rel=1e-12)
    U, V = np.asarray(params[1]), np.asarray(params[0]).T
    lam = (1 - theta) / theta
    closed = (np.sum((M - U @ V.T) ** 2) + lam * np.sum(np.sum(U ** 2, 0) * np.sum(V ** 2, 0))) / (2 * 9)
    assert float(exact) == pytest.approx(closed, rel=1e-12)


@pytest.mark.slow
def test_dropout_with_retain_one_is_gd_and_rejects_bad_params():
    problem, _ = full_matrix_problem((2.0, 1.0), 2, 2, 0)
    model = FactorizedModel(shape=(2, 2), depth=2, width=2, init_scale=0.5, kind="completion")
    a = train(model, losses.square, Dropout(width=2, retain=1.0), problem, steps=50, step_size=0.3)
    b = train(model, losses.square, GD(), problem, steps=50, step_size=0.3)
    np.testing.assert_allclose(a.end_to_end, b.end_to_end, rtol=1e-13)
    for bad in (dict(width=0), dict(width=2, retain=0.0), dict(width=2, retain=1.5)):
        with pytest.raises(InputError):
            Dropout(**bad)
    with pytest.raises(InputError, match="depth-2"):
        train(model, losses.square, Dropout(width=3), problem, steps=1, step_size=0.1)


def test_dropout_optimum_matches_lbfgs_on_the_factorized_objective():
    rng = np.random.default_rng(0)
    _, M = full_matrix_problem((4.0, 3.0, 2.0, 1.0, 0.5), 6, 5, 0)
    theta, r = 0.5, 4
    ref = dropout_optimum(M, theta, r)
    lam = (1 - theta) / theta

    def f(z):
        A, B = z[:24].reshape(6, 4), z[24:].reshape(5, 4)
        R = M - A @ B.T
        val = np.sum(R ** 2) + lam * np.sum(np.sum(A ** 2, 0) * np.sum(B ** 2, 0))
        gA = -2 * R @ B + 2 * lam * A * np.sum(B ** 2, 0)
        gB = -2 * R.T @ A + 2 * lam * B * np.sum(A ** 2, 0)
        return val, np.r_[gA.ravel(), gB.ravel()]

    best = min((minimize(f, 0.5 * rng.standard_normal(44), jac=True, method="L-BFGS-B",
                         options=dict(maxiter=50_000, gtol=1e-12, ftol=1e-16)) for _ in range(4)), key=lambda s: s.fun)
    A, B = best.x[:24].reshape(6, 4), best.x[24:].reshape(5, 4)
    assert best.fun == pytest.approx(ref.objective, rel=1e-9)
    np.testing.assert_allclose(A @ B.T, ref.solution, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(A, axis=0) * np.linalg.norm(B, axis=0),
                               ref.info["equalized_product"], rtol=1e-4)
    s = np.linalg.svd(M, compute_uv=False)
    np.testing.assert_allclose(ref.arrays["singular_values"], np.maximum(s - ref.info["tau"], 0), atol=1e-12)


def test_dropout_optimum_input_and_registry():
    _, M = full_matrix_problem((3.0, 2.0, 1.0), 3, 3, 0)
    with pytest.raises(InputError):
        dropout_optimum(M, 0.0, 2)
    with pytest.raises(InputError):
        dropout_optimum(M, 0.5, 0)
    with pytest.raises(ReferenceFailure, match="rank"):
        dropout_optimum(M, 0.99, 1)  # barely any shrinkage: the optimum has rank 3 > width 1
    problem, _ = full_matrix_problem((3.0, 2.0, 1.0), 3, 3, 0)
    ref = get_reference("dropout-optimum").compute(problem, retain=0.5, width=3)
    np.testing.assert_allclose(ref.solution, dropout_optimum(M, 0.5, 3).solution, atol=1e-12)
    with pytest.raises(InputError, match="every entry"):
        get_reference("dropout-optimum").compute(
            Problem(problem.X[:-1], problem.y[:-1], meta=problem.meta), retain=0.5, width=3)
