"""Curvature from Hessian-vector products against the dense Hessian (small models, several seeds)."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.metrics.curvature import (curvature_at, dense_hessian, gradient_norm, hessian_trace, hvp, record,
                                             top_eigenvalue, training_loss)
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.models.mlp import MLP
from implicit_bias.optim import GD
from implicit_bias.problems import Problem


def _data(seed, n=12, d=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return jnp.asarray(X), jnp.asarray(np.sin(X[:, 0]) + rng.standard_normal(n) * 0.1)


MODELS = {
    "mlp-tanh": MLP(4, widths=(8,), activation="tanh"),
    "mlp-relu": MLP(4, widths=(8,), activation="relu"),
    "diagonal": DiagonalModel(4, init_scale=0.7),
}


def _measure(model):
    """One jitted function per model (compiled once for all seeds): dense Hessian, Lanczos, power, Hutchinson."""

    def measure(params, X, y, key):
        fun = training_loss(model, losses.square, X, y)
        return (dense_hessian(fun, params), top_eigenvalue(fun, params, iterations=30),
                top_eigenvalue(fun, params, method="power", iterations=300),
                hessian_trace(fun, params, n_samples=2000, key=key))

    return jax.jit(measure)


MEASURE = {name: _measure(model) for name, model in MODELS.items()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sharpness_matches_dense_hessian(name, seed):
    X, y = _data(seed)
    params = MODELS[name].init({}, jax.random.PRNGKey(seed))
    H, lanczos, power, _ = MEASURE[name](params, X, y, jax.random.PRNGKey(seed))
    eig = np.linalg.eigvalsh(np.asarray(H))
    np.testing.assert_allclose(float(lanczos), eig[-1], rtol=1e-9, atol=1e-12)
    top_magnitude = eig[np.argmax(np.abs(eig))]
    np.testing.assert_allclose(float(power), top_magnitude, rtol=1e-6)


def test_lanczos_returns_the_algebraic_maximum_and_power_the_largest_magnitude():
    """H = diag(−5, 1, 2): λ_max = 2 (Lanczos), largest |λ| = −5 (power iteration)."""
    fun = lambda p: 0.5 * jnp.sum(jnp.array([-5.0, 1.0, 2.0]) * p ** 2)  # noqa: E731
    p = jnp.array([0.3, -0.2, 0.1])
    assert float(top_eigenvalue(fun, p, iterations=3)) == pytest.approx(2.0, rel=1e-12)
    assert float(top_eigenvalue(fun, p, method="power", iterations=200)) == pytest.approx(-5.0, rel=1e-9)


def test_lanczos_survives_an_exhausted_krylov_space():
    """Repeated eigenvalues (H = 3 I on a 6-dim space, then two distinct values): restarts, no NaN."""
    fun = lambda p: 1.5 * jnp.sum(p ** 2)  # noqa: E731
    lam = top_eigenvalue(fun, jnp.ones(6), iterations=20)
    assert float(lam) == pytest.approx(3.0, rel=1e-12)
    diag = jnp.array([1.0, 1.0, 1.0, 4.0, 4.0, 0.5])
    fun2 = lambda p: 0.5 * jnp.sum(diag * p ** 2)  # noqa: E731
    assert float(top_eigenvalue(fun2, jnp.ones(6), iterations=6)) == pytest.approx(4.0, rel=1e-12)


def test_linear_model_sharpness_is_top_eigenvalue_of_gram(seed):
    X, y = _data(seed, n=30, d=5)
    model = LinearModel(5)
    fun = training_loss(model, losses.square, X, y)
    expected = np.linalg.eigvalsh(np.asarray(X.T @ X) / 30)[-1]
    assert float(top_eigenvalue(fun, jnp.zeros(5))) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hutchinson_trace_within_its_standard_error(name, seed):
    X, y = _data(seed)
    params = MODELS[name].init({}, jax.random.PRNGKey(seed))
    H, _, _, est = MEASURE[name](params, X, y, jax.random.PRNGKey(seed + 10))
    H, s = np.asarray(H), 2000
    # Var(zᵀHz) = 2(‖H‖_F² − Σ H_ii²) for Rademacher z
    se = np.sqrt(2 * (np.sum(H ** 2) - np.sum(np.diag(H) ** 2)) / s)
    assert abs(float(est) - np.trace(H)) <= 5 * se + 1e-12


def test_hvp_and_gradient_norm_match_dense(seed):
    X, y = _data(seed)
    model = MODELS["mlp-tanh"]
    params = model.init({}, jax.random.PRNGKey(seed))
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    v = jax.random.normal(jax.random.PRNGKey(7), flat.shape)

    @jax.jit
    def measure(params, v):
        fun = training_loss(model, losses.square, X, y)
        return (dense_hessian(fun, params), jax.flatten_util.ravel_pytree(hvp(fun, params, unravel(v)))[0],
                jax.flatten_util.ravel_pytree(jax.grad(fun)(params))[0], gradient_norm(fun, params))

    H, Hv, g, gnorm = measure(params, v)
    np.testing.assert_allclose(np.asarray(Hv), np.asarray(H) @ np.asarray(v), rtol=1e-10, atol=1e-12)
    assert float(gnorm) == pytest.approx(float(np.linalg.norm(g)), rel=1e-12)


@pytest.mark.slow
def test_record_along_training_matches_direct_measurement():
    """The engine's records at the last step equal the curvature of the returned final parameters."""
    X, y = _data(3, n=16)
    problem = Problem(np.asarray(X), np.asarray(y))
    model = MLP(4, widths=(8,), activation="tanh")
    out = train(model, losses.square, GD(), problem, steps=200, hparams={"step_size": [0.05, 0.2]},
                record=record(model, losses.square), n_records=4)
    assert out.records["sharpness"].shape == (2, len(out.steps))
    hessians = jax.jit(jax.vmap(lambda p: dense_hessian(training_loss(model, losses.square, X, y), p)))(out.params)
    for i in range(2):
        p = jax.tree_util.tree_map(lambda a: a[i], out.params)
        g = jax.flatten_util.ravel_pytree(jax.grad(training_loss(model, losses.square, X, y))(p))[0]
        assert out.records["sharpness"][i, -1] == pytest.approx(np.linalg.eigvalsh(hessians[i])[-1], rel=1e-8)
        assert out.records["grad_norm"][i, -1] == pytest.approx(float(jnp.linalg.norm(g)), rel=1e-10)


def test_curvature_at_batches_final_parameters(seed):
    X, y = _data(seed)
    model = DiagonalModel(4)
    params = jax.vmap(lambda a: model.init({"init_scale": a}, None))(jnp.array([0.3, 0.9]))
    out = curvature_at(model, losses.square, params, X, y)
    for i, a in enumerate([0.3, 0.9]):
        p = model.init({"init_scale": a}, None)
        H = np.asarray(dense_hessian(training_loss(model, losses.square, X, y), p))
        assert float(out["sharpness"][i]) == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-9)


def test_bad_options_raise_input_error():
    fun = lambda p: jnp.sum(p ** 2)  # noqa: E731
    with pytest.raises(InputError):
        top_eigenvalue(fun, jnp.ones(3), method="qr")
    with pytest.raises(InputError):
        top_eigenvalue(fun, jnp.ones(3), iterations=0)
    with pytest.raises(InputError):
        record(MLP(2), losses.square, method="arnoldi")
