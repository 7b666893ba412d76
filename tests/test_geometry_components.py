"""Unit tests of the geometry components: the margin metric, the norm max-margin, box-logistic and
l2-logistic references, the steepest / adaptive / p-norm optimizers and the conv and fc-linear models."""

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.optimize import minimize

from implicit_bias.errors import InputError, NotSeparableError
from implicit_bias.metrics.margins import dual_norm, margin, norm_of
from implicit_bias.models.conv import ConvNet
from implicit_bias.models.deep_linear import DeepLinear
from implicit_bias.models.registry import available_models
from implicit_bias.optim import OPTIMIZERS
from implicit_bias.optim.adaptive import AdaGrad, AdamGeometry
from implicit_bias.optim.pnorm_mirror import PNormGD
from implicit_bias.optim.steepest import STEEPEST_NORMS, PreconditionedGD, SignGD, SteepestDescent
from implicit_bias.problems.geometry import sparse_sign_classification
from implicit_bias.problems.problem import Problem
from implicit_bias.references import available
from implicit_bias.references.box_logistic import box_logistic_minimizer, logistic_loss_grad
from implicit_bias.references.l2_logistic import l2_logistic_minimizer
from implicit_bias.references.norm_margin import max_margin_norm

RNG = np.random.default_rng(0)
P4 = np.diag([1.0, 2.0, 5.0, 9.0])


def _data(n=12, d=6, seed=0):
    p = sparse_sign_classification(n, d, seed=seed)
    return p.X, p.y


def test_registered_names():
    assert {"steepest-descent", "sign-gd", "coordinate-descent", "preconditioned-gd", "adagrad", "adamw",
            "p-gd"} <= set(OPTIMIZERS)
    assert {"conv", "fc-linear"} <= set(available_models())
    refs = available()
    assert refs["max-margin-norm"].options == ("norm", "p", "precondition")
    assert refs["box-logistic"].options == ("bound",) and refs["l2-logistic"].options == ("lam",)


@pytest.mark.parametrize("norm, kw", [("l2", {}), ("l1", {}), ("linf", {}), ("lp", {"p": 3.0}),
                                      ("quadratic", {"P": P4}), ("fourier-l1", {})])
def test_dual_norm_is_attained_and_jax_agrees_with_numpy(norm, kw):
    v = RNG.standard_normal(4)
    # Hölder: ⟨v, w⟩ ≤ ‖v‖_* ‖w‖ for random w, and the max over many w approaches ‖v‖_*
    W = RNG.standard_normal((20000, 4))
    ratios = W @ v / norm_of(W, norm, **kw)
    assert ratios.max() <= dual_norm(v, norm, **kw) * (1 + 1e-12)
    assert ratios.max() >= 0.9 * dual_norm(v, norm, **kw)
    X, y = _data(8, 4)
    np.testing.assert_allclose(np.asarray(margin(jnp.asarray(W[:5]), X, y, norm, **kw)),
                               margin(W[:5], X, y, norm, **kw), rtol=1e-12)


@pytest.mark.parametrize("norm", ["l1", "linf", "lp", "fourier-l1", "quadratic"])
def test_max_margin_norm_matches_a_direct_cvxpy_program(norm):
    X, y = _data()
    d = X.shape[1]
    w = cp.Variable(d)
    if norm == "l1":
        obj = cp.norm1(w)
    elif norm == "linf":
        obj = cp.norm_inf(w)
    elif norm == "lp":
        obj = cp.pnorm(w, 3)
    elif norm == "quadratic":
        obj = cp.norm(np.diag(np.sqrt(np.arange(1.0, d + 1))) @ w, 2)
    else:
        F = np.fft.fft(np.eye(d))   # complex DFT matrix, a different formulation from the reference's
        obj = cp.norm1(F @ w)
    cp.Problem(cp.Minimize(obj), [cp.multiply(y, X @ w) >= 1]).solve(solver=cp.CLARABEL)
    kw = {"p": 3.0} if norm == "lp" else {"P": np.diag(np.arange(1.0, d + 1))} if norm == "quadratic" else {}
    ref = max_margin_norm(X, y, norm, **kw)
    np.testing.assert_allclose(ref.objective, obj.value, rtol=1e-6)
    assert np.min(y * (X @ ref.solution)) == pytest.approx(1.0, abs=1e-12)
    assert ref.info["margin"] == pytest.approx(1 / ref.objective) and abs(ref.info["duality_gap"]) < 1e-6


def test_lp_at_two_and_identity_quadratic_are_the_svm():
    X, y = _data()
    svm = max_margin_norm(X, y, "l2").solution
    np.testing.assert_allclose(max_margin_norm(X, y, "lp", p=2.0).solution, svm, rtol=0, atol=1e-6)
    np.testing.assert_allclose(max_margin_norm(X, y, "quadratic", P=np.eye(X.shape[1])).solution, svm, rtol=1e-9)


def test_lp_optimal_face_reports_non_uniqueness():
    # two identical features: the l1 max margin is a whole segment, the l∞ one is unique
    X = np.array([[1.0, 1.0], [-1.0, -1.0]])
    y = np.array([1.0, -1.0])
    l1 = max_margin_norm(X, y, "l1")
    assert l1.info["unique"] is False
    np.testing.assert_allclose(l1.arrays["w_min"], [0, 0], atol=1e-9)
    np.testing.assert_allclose(l1.arrays["w_max"], [1, 1], atol=1e-9)
    assert max_margin_norm(X, y, "linf").info["unique"] is True


def test_max_margin_norm_rejects_bad_input():
    X, y = _data()
    with pytest.raises(InputError):
        max_margin_norm(X, y, "l3")
    with pytest.raises(InputError):
        max_margin_norm(X, y, "lp")
    with pytest.raises(InputError):
        max_margin_norm(X, y, "quadratic", P=-np.eye(X.shape[1]))
    with pytest.raises(InputError):
        max_margin_norm(X, 2 * y, "l1")
    with pytest.raises(NotSeparableError):
        max_margin_norm(np.array([[1.0], [1.0]]), np.array([1.0, -1.0]), "l1")


def test_box_logistic_matches_cvxpy_and_l2_logistic_matches_lbfgs():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 4))
    y = np.where(X[:, 0] + rng.standard_normal(30) > 0, 1.0, -1.0)
    w = cp.Variable(4)
    cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(y, X @ w))) / 30), [cp.norm_inf(w) <= 0.5]).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    box = box_logistic_minimizer(X, y, 0.5)
    np.testing.assert_allclose(box.solution, w.value, atol=1e-8)
    assert box.info["kkt_residual"] <= 1e-9 and box.info["n_at_bound"] >= 1
    f = lambda v: tuple(a + b for a, b in zip(logistic_loss_grad(v, X, y), (0.05 * v @ v, 0.1 * v)))  # noqa: E731
    lb = minimize(f, np.zeros(4), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0})
    np.testing.assert_allclose(l2_logistic_minimizer(X, y, 0.1).solution, lb.x, atol=1e-7)
    with pytest.raises(InputError):
        box_logistic_minimizer(X, y, -1.0)
    with pytest.raises(InputError):
        l2_logistic_minimizer(X, y, 0.0)


def _one_step(opt, w, g, hp):
    tx = opt.transform({"step_size": jnp.asarray(0.1), **hp})
    upd, _ = tx.update(g, tx.init(w), w)
    return np.asarray(optax.apply_updates(w, upd))


def test_steepest_steps_have_their_closed_forms():
    w, g = jnp.zeros(4), jnp.array([0.5, -2.0, 1.0, 0.25])
    gn = np.asarray(g)
    np.testing.assert_allclose(_one_step(SteepestDescent(), w, g, {}), -0.1 * gn)
    np.testing.assert_allclose(_one_step(SteepestDescent(norm="linf"), w, g, {}), -0.1 * np.abs(gn).sum() * np.sign(gn))
    np.testing.assert_allclose(_one_step(SteepestDescent(norm="l1"), w, g, {}), [0, 0.2, 0, 0])
    np.testing.assert_allclose(_one_step(PreconditionedGD(precondition=P4), w, g, {}), -0.1 * gn / np.diag(P4))
    np.testing.assert_allclose(_one_step(SignGD(), w, g, {}), -0.1 * np.sign(gn))
    # the swept geometry selects the same branches
    sweep = SteepestDescent(precondition=P4)
    for i, name in enumerate(STEEPEST_NORMS):
        fixed = SteepestDescent(norm=name, precondition=P4)
        np.testing.assert_allclose(_one_step(sweep, w, g, {"norm_index": jnp.asarray(float(i))}), _one_step(fixed, w, g, {}))
    np.testing.assert_allclose(_one_step(sweep, w, g, {"norm_index": jnp.asarray(2.0), "normalized": jnp.asarray(1.0)}),
                               -0.1 * np.sign(gn))
    with pytest.raises(InputError):
        SteepestDescent(norm="quadratic")
    with pytest.raises(InputError):
        SignGD(norm="l2")


def test_adaptive_and_mirror_steps_have_their_closed_forms():
    w, g = jnp.array([1.0, -1.0, 0.5]), jnp.array([0.5, -2.0, 1.0])
    wn, gn = np.asarray(w), np.asarray(g)
    np.testing.assert_allclose(_one_step(AdaGrad(eps=0.0), w, g, {}), wn - 0.1 * np.sign(gn))
    # first Adam step (bias-corrected): m̂/√v̂ = sign(g)
    coupled = AdamGeometry(eps=0.0, weight_decay=0.5, decoupled_weight_decay=False)
    np.testing.assert_allclose(_one_step(coupled, w, g, {}), wn - 0.1 * np.sign(gn + 0.5 * wn))
    decoupled = AdamGeometry(eps=0.0, weight_decay=0.5)
    np.testing.assert_allclose(_one_step(decoupled, w, g, {}), wn - 0.1 * (np.sign(gn) + 0.5 * wn))
    assert AdamGeometry(loss_normalized=True).uses_log_loss and not AdamGeometry().uses_log_loss
    p = 3.0
    z = np.sign(wn) * np.abs(wn) ** 2 - 0.1 * gn
    np.testing.assert_allclose(_one_step(PNormGD(p=p), w, g, {}), np.sign(z) * np.abs(z) ** 0.5)
    np.testing.assert_allclose(_one_step(PNormGD(), w, g, {"p": jnp.asarray(2.0)}), wn - 0.1 * gn)
    with pytest.raises(InputError):
        PNormGD(p=1.0)
    with pytest.raises(InputError):
        AdamGeometry(schedule="cosine")


def test_conv_net_is_a_circular_convolution_and_depth_sweep_matches():
    D = 6
    net = ConvNet(D, depth=3)
    params = net.init({}, jax.random.PRNGKey(0))
    f = np.asarray(params["filters"])
    conv = lambda a, b: np.array([sum(a[j] * b[(k - j) % D] for j in range(D)) for k in range(D)])  # noqa: E731
    np.testing.assert_allclose(net.end_to_end(params), conv(conv(f[0], f[1]), f[2]), atol=1e-12)
    swept = net.init({"depth": jnp.asarray(2.0)}, jax.random.PRNGKey(0))
    np.testing.assert_allclose(net.end_to_end(swept), conv(f[0], f[1]), atol=1e-12)
    grads = jax.grad(lambda p: jnp.sum(net.end_to_end(p) ** 2))(swept)
    assert np.all(np.asarray(grads["filters"][2]) == 0)   # the unused layer never moves


def test_deep_linear_end_to_end_is_the_layer_product():
    net = DeepLinear(5, depth=4, width=3)
    params = net.init({"init_scale": jnp.asarray(2.0)}, jax.random.PRNGKey(1))
    W1, W2, W3 = (np.asarray(W) for W in params["layers"])
    a = np.asarray(params["out"])
    np.testing.assert_allclose(net.end_to_end(params), (a @ W3 @ W2 @ W1), rtol=1e-12)
    X = RNG.standard_normal((7, 5))
    np.testing.assert_allclose(net.predict(params, X), X @ (a @ W3 @ W2 @ W1), rtol=1e-12)
    with pytest.raises(InputError):
        DeepLinear(5, depth=1)


@pytest.mark.slow
def test_steepest_descent_trains_to_the_svm_on_the_2d_example():
    from implicit_bias import losses
    from implicit_bias.engine import train
    from implicit_bias.models.linear import LinearModel
    from implicit_bias.problems import svm_2d_example

    p = svm_2d_example()
    out = train(LinearModel(2), losses.exp, SteepestDescent(), Problem(p.X, p.y), steps=3000, step_size=0.05,
                n_records=4)
    w = out.end_to_end[0]
    np.testing.assert_allclose(w / np.linalg.norm(w), np.array([1, 1]) / np.sqrt(2), atol=1e-3)
