"""Nonlinear models against closed forms: neurons (X⁺ψ⁻¹(y)), MLPs (homogeneity, parameterizations),
the linearized model and the empirical-NTK kernel interpolator, KKT residuals, margins, datasets."""

import dataclasses
import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias import losses, optim
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.metrics.kkt import homogeneous_normalized_margin, kkt_residual, smoothed_margin
from implicit_bias.models import make_model
from implicit_bias.models.activations import (ACTIVATIONS, INVERTIBLE, activation, activation_range, check_targets,
                                              inverse_activation)
from implicit_bias.models.linearized import LinearizedModel
from implicit_bias.models.mlp import MLP
from implicit_bias.models.neuron import NeuronModel
from implicit_bias.problems import Problem, planted_margin_classification
from implicit_bias.references import get_reference, hard_margin_svm
from implicit_bias.references.kernel import empirical_ntk, initial_params, ntk_kernel_interpolator, ntk_predict
from implicit_bias.references.neuron import neuron_flow_limit

TOL = {"closed_form": 1e-10, "trained": 1e-8}


# --------------------------------------------------------------------------- activations
@pytest.mark.parametrize("name", INVERTIBLE)
def test_inverse_activation_inverts(name):
    z = np.linspace(-3, 3, 41)
    y = np.asarray(activation(name, 0.2)(jnp.asarray(z)))
    np.testing.assert_allclose(inverse_activation(name, 0.2)(y), z, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,bad", [("sigmoid", 1.0), ("sigmoid", -0.1), ("tanh", 1.5), ("relu", -1.0)])
def test_targets_outside_the_range_are_rejected_in_one_line(name, bad):
    lo, hi = activation_range(name)
    with pytest.raises(InputError) as err:
        check_targets(np.array([0.5 * (max(lo, -1) + min(hi, 1)), bad]), name)
    assert "\n" not in str(err.value) and name in str(err.value)


def test_bad_activation_names_and_relu_inverse():
    with pytest.raises(InputError, match="unknown activation"):
        NeuronModel(3, "swish")
    with pytest.raises(InputError, match="unknown activation"):
        MLP(3, (4,), activation="gelu")
    with pytest.raises(InputError, match="not invertible"):
        inverse_activation("relu")
    assert set(ACTIVATIONS) == {"identity", "leaky-relu", "sigmoid", "tanh", "relu"}


# --------------------------------------------------------------------------- neuron
@pytest.mark.parametrize("act", ["leaky-relu", "tanh", "sigmoid"])
def test_neuron_gd_from_zero_reaches_pinv_of_inverse_targets(act, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8, 20)) / np.sqrt(20)
    y = np.asarray(activation(act, 0.1)(jnp.asarray(X @ rng.standard_normal(20))))
    model = NeuronModel(20, act)
    slope = 0.25 if act == "sigmoid" else 1.0
    out = train(model, losses.square, optim.GD(), Problem(X, y), steps=30_000,
                step_size=8 / (slope ** 2 * np.linalg.norm(X, 2) ** 2), n_records=4)
    expected = np.linalg.pinv(X) @ inverse_activation(act, 0.1)(y)  # independent of flow_limit's SVD
    np.testing.assert_allclose(out.end_to_end[0], expected, rtol=0, atol=TOL["trained"] * np.linalg.norm(expected))
    np.testing.assert_allclose(neuron_flow_limit(model, X, y), expected, atol=TOL["closed_form"] * np.linalg.norm(expected))


def test_neuron_registry_and_validation():
    m = make_model("neuron", 4, activation="tanh", leaky_slope=None, init_scale=None)
    assert (m.activation, m.init_scale) == ("tanh", 0.0)
    with pytest.raises(InputError):
        NeuronModel(4, "leaky-relu", leaky_slope=0.0)
    with pytest.raises(InputError):
        make_model("neuron", 4, widths=(3,))


# --------------------------------------------------------------------------- mlp
@pytest.mark.parametrize("widths,activation_name,bias,degree", [((7,), "relu", False, 2), ((5, 6), "leaky-relu", False, 3),
                                                                 ((5,), "relu", True, None), ((5,), "tanh", False, None)])
def test_mlp_homogeneity_degree_is_exact(widths, activation_name, bias, degree):
    m = MLP(3, widths, activation=activation_name, bias=bias)
    assert m.homogeneity_degree == degree
    if degree is None:
        return
    p = m.init({}, jax.random.PRNGKey(0))
    X = jax.random.normal(jax.random.PRNGKey(1), (9, 3))
    theta = m.trainable(p)
    scaled = jax.tree_util.tree_map(lambda x: 1.7 * x, theta)
    np.testing.assert_allclose(m.apply(scaled, X), 1.7 ** degree * m.apply(theta, X), rtol=1e-12)


def test_mlp_parameterizations_agree_at_init_and_symmetric_init_is_zero():
    X = jax.random.normal(jax.random.PRNGKey(3), (11, 4))
    key = jax.random.PRNGKey(5)
    std, ntk = MLP(4, (8, 6), parameterization="standard"), MLP(4, (8, 6), parameterization="ntk")
    np.testing.assert_allclose(std.predict(std.init({}, key), X), ntk.predict(ntk.init({}, key), X), rtol=1e-12)
    sym = MLP(4, (8,), symmetric_init=True)
    assert np.max(np.abs(sym.predict(sym.init({}, key), X))) < 1e-14
    p1, p3 = std.init({"output_scale": 1.0}, key), std.init({"output_scale": 3.0}, key)
    np.testing.assert_allclose(std.predict(p3, X), 3 * std.predict(p1, X), rtol=1e-12)
    g = jax.grad(lambda p: jnp.sum(std.predict(p, X)))(p3)
    assert float(g["output_scale"]) == 0.0  # the scale is not trained
    assert std.end_to_end(p1).shape == (std.n_params(),)


@pytest.mark.parametrize("widths", [(0,), (4, -2), (), "abc"])
def test_mlp_rejects_bad_widths(widths):
    with pytest.raises(InputError):
        MLP(3, widths)


def test_mlp_and_linearized_from_registry_with_cli_style_none_options():
    opts = dict(widths=(6,), activation=None, bias=None, init_scale=None, output_scale=2.0,
                parameterization="ntk", leaky_slope=None)
    m, lin = make_model("mlp", 3, **opts), make_model("linearized", 3, **opts)
    assert (m.widths, m.output_scale, lin.base.parameterization) == ((6,), 2.0, "ntk")


# --------------------------------------------------------------------------- linearized model and NTK
def test_linearized_model_is_the_first_order_expansion():
    m = MLP(3, (10,), activation="tanh", bias=True)
    lin = LinearizedModel(m)
    p = lin.init({}, jax.random.PRNGKey(0))
    X = jax.random.normal(jax.random.PRNGKey(1), (7, 3))
    J = np.asarray(jax.jacrev(lambda t: m.apply(t, X))(m.trainable(p["theta0"]))["W"][0]).reshape(7, -1)
    delta = 1e-3 * jax.random.normal(jax.random.PRNGKey(2), p["theta"]["W"][0].shape)
    moved = {**p, "theta": {**p["theta"], "W": [p["theta"]["W"][0] + delta]}}
    expected = np.asarray(m.predict(p["theta0"], X)) + J @ np.asarray(delta).reshape(-1)
    np.testing.assert_allclose(lin.predict(moved, X), expected, rtol=1e-12, atol=1e-14)


def _regression(seed, n=12, d=4, n_test=30):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + n_test, d)) / np.sqrt(d)
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    return Problem(X[:n], y[:n], X[n:], y[n:])


def test_kernel_interpolator_matches_the_dual_closed_form(seed):
    p = _regression(seed)
    m = MLP(4, (24,), parameterization="standard", bias=True)
    params0 = initial_params(m, seed)
    ref = ntk_kernel_interpolator(m, params0, p.X, p.y)
    K, K_test = empirical_ntk(m, params0, p.X), empirical_ntk(m, params0, p.X_test, p.X)
    f0, f0_test = np.asarray(m.predict(params0, p.X)), np.asarray(m.predict(params0, p.X_test))
    dual = f0_test + K_test @ np.linalg.solve(K, p.y - f0)
    np.testing.assert_allclose(ntk_predict(m, params0, ref, p.X_test), dual, rtol=0, atol=1e-8 * np.abs(dual).max())
    np.testing.assert_allclose(ntk_predict(m, params0, ref, p.X), p.y, atol=1e-10)
    assert ref.status == "optimal"
    np.testing.assert_allclose(ref.objective ** 2, (p.y - f0) @ np.linalg.solve(K, p.y - f0), rtol=1e-8)


def test_gd_on_the_linearized_model_reaches_the_kernel_interpolator(seed):
    p = _regression(seed)
    m = MLP(4, (24,), parameterization="ntk", bias=True)
    lin = LinearizedModel(m)
    ref = ntk_kernel_interpolator(m, initial_params(m, seed), p.X, p.y)
    lam = np.linalg.eigvalsh(ref.arrays["kernel"] / p.n_samples)
    out = train(lin, losses.square, optim.GD(), p, steps=int(40 * lam[-1] / lam[0]) + 1000, step_size=1 / lam[-1],
                hparams={"seed": seed}, n_records=4)
    delta = ref.solution - ref.arrays["theta0"]
    assert np.linalg.norm(out.end_to_end[0] - ref.solution) <= TOL["trained"] * np.linalg.norm(delta)


def test_registered_ntk_reference_uses_the_engines_initialization():
    p = _regression(0)
    spec = get_reference("ntk-kernel-regression")
    ref = spec.compute(p, widths=(16,), seed=3, parameterization="ntk", activation=None)
    m = MLP(4, (16,), parameterization="ntk")
    k_init, _ = jax.random.split(jax.random.PRNGKey(3))
    direct = ntk_kernel_interpolator(m, m.init({}, k_init), p.X, p.y)
    np.testing.assert_allclose(ref.solution, direct.solution, rtol=1e-12)
    assert ref.arrays["predictions_test"].shape == (p.X_test.shape[0],)
    with pytest.raises(InputError):
        spec.compute(p, alpha=1.0)


# --------------------------------------------------------------------------- margins and KKT
def test_kkt_residual_vanishes_at_the_svm_and_not_elsewhere(seed):
    prob = planted_margin_classification(30, 5, margin=0.1, n_test=0, seed=seed)
    X, y = prob.X, prob.y
    w_hat = hard_margin_svm(X, y).solution
    G = X * y[:, None]  # ∇q_i for the linear model (degree 1)
    at_svm = kkt_residual(3.0 * w_hat, G @ (3.0 * w_hat), G, degree=1)
    assert at_svm.total < 1e-6
    w_other = w_hat + 0.3 * np.linalg.norm(w_hat) * np.eye(5)[0]
    if np.min(G @ w_other) > 0:
        assert kkt_residual(w_other, G @ w_other, G, degree=1).total > 1e-2


def test_margins_sandwich(seed):
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.5, 3.0, size=(20, 7)) * 4
    rho = rng.uniform(1, 2, size=20)
    for loss in ("exp", "logistic"):
        per_point = np.exp(-q) if loss == "exp" else np.log1p(np.exp(-q))
        g_s = smoothed_margin(np.log(per_point.mean(axis=1)), 7, rho, 2, loss)
        g_n = homogeneous_normalized_margin(q, rho, 2)
        assert np.all(g_s <= g_n + 1e-12) and np.all(g_n <= g_s + np.log(7) / rho ** 2 + 1e-12)


@pytest.mark.parametrize("depth", [2, 3])
def test_smoothed_margin_never_decreases_on_a_small_case(depth):
    from implicit_bias.experiments.homogeneous_margin import Config, MarginRecord, make_problem
    from implicit_bias.optim.homogeneous_margin import HomogeneousMarginGD

    cfg = Config(n_samples=10, seed=depth)
    problem = make_problem(cfg)
    model = MLP(3, (12,) * (depth - 1), init_scale=0.5)
    out = train(model, losses.exp, HomogeneousMarginGD(), problem, steps=3000, step_size=2.0, n_records=60,
                record=MarginRecord(model, losses.exp), hparams={"seed": [0, 1]})
    for c in range(2):
        rho = np.linalg.norm(out.records["w"][c], axis=1)
        g = smoothed_margin(out.records["log_loss"][c], 10, rho, depth)
        g = g[np.isfinite(g)]
        assert g.size > 10 and np.all(np.diff(g) >= 0)


# --------------------------------------------------------------------------- datasets
def test_digits_binary_problem_and_nested_corruption():
    from implicit_bias.problems.datasets import corrupt_labels, load_binary

    p = load_binary("digits", "even-odd", n_train=200, n_test=100, seed=1)
    assert p.X.shape == (200, p.n_features) and p.X_test.shape == (100, p.n_features)
    assert set(np.unique(p.y)) == {-1.0, 1.0}
    np.testing.assert_allclose(np.mean(np.sum(p.X ** 2, axis=1)), 1.0, rtol=1e-10)
    half, most = corrupt_labels(p.y, 0.5, seed=4), corrupt_labels(p.y, 0.9, seed=4)
    assert np.all(corrupt_labels(p.y, 0.0, seed=4) == p.y)
    assert np.all((half != p.y) <= (most != p.y) | (half == most))
    with pytest.raises(InputError):
        load_binary("digits", "3-3")
    with pytest.raises(InputError):
        load_binary("cifar")


def test_mnist1d_is_generated_offline_and_leaves_global_rngs_alone():
    pytest.importorskip("mnist1d")
    from implicit_bias.problems.datasets import load_binary

    np.random.seed(123)
    random.seed(7)
    before = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(7)
    p = load_binary("mnist1d", "0-1", n_train=100, n_test=50)
    assert (np.random.random(), random.random()) == before
    assert p.X.shape == (100, 40) and set(np.unique(p.y)) == {-1.0, 1.0}


def test_monotone_neuron_rejects_out_of_range_targets():
    from implicit_bias.experiments import get_entry

    entry = get_entry("monotone-neuron")
    with pytest.raises(InputError, match="outside the range"):
        entry.run(dataclasses.replace(entry.quick, target_scale=2.5, activations=("sigmoid",)))
