"""Hypentropy mirror flow/descent, label-noise SGD, and the closed forms the diagonal experiments rely on."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.errors import InputError
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.optim.label_noise import LabelNoiseSGD
from implicit_bias.optim.mirror import MirrorDescent, MirrorFlow, hypentropy, hypentropy_equivalent, hypentropy_md
from implicit_bias.problems import sparse_regression


def test_hypentropy_gradient_and_hessian():
    w, beta = jnp.array([-2.0, -0.1, 0.0, 0.3, 5.0]), 0.7
    np.testing.assert_allclose(jax.grad(lambda x: hypentropy(x, beta))(w), np.arcsinh(np.asarray(w) / beta), rtol=1e-14)
    hess = jax.hessian(lambda x: hypentropy(x, beta))(w)
    np.testing.assert_allclose(np.diag(hess), 1 / np.sqrt(np.asarray(w) ** 2 + beta ** 2), rtol=1e-13)
    assert hypentropy(np.asarray(w), beta) == pytest.approx(float(hypentropy(w, beta)), rel=1e-14)


def test_mirror_descent_step_is_the_dual_update():
    tx = hypentropy_md(0.1, 0.5, rate=2.0)
    w, g = jnp.array([0.2, -1.0, 3.0]), jnp.array([1.0, -2.0, 0.5])
    updates, _ = tx.update(g, tx.init(w), w)
    np.testing.assert_allclose(np.arcsinh((w + updates) / 0.5), np.arcsinh(w / 0.5) - 0.2 * g, rtol=1e-13)
    with pytest.raises(InputError):
        MirrorDescent(beta=0.0)
    with pytest.raises(InputError):
        MirrorFlow(rate=-1.0)


@pytest.mark.parametrize("param, shape", [("uu-vv", 0.0), ("uv", 0.5)])
def test_diagonal_flow_is_the_hypentropy_mirror_flow_in_time(param, shape):
    """Integrated separately, the network in (u, v) and the mirror flow in w agree at every recorded time."""
    problem = sparse_regression(8, 16, 2, n_test=0, seed=2)
    model = DiagonalModel(16, param=param, init_scale=0.3, init_shape=shape)
    beta, rate, w0 = hypentropy_equivalent(param, *model.layers0())
    times = np.r_[0.0, np.geomspace(1e-2, 200.0, 25)]
    flow = ib.optim.Flow(solver="dopri8", rtol=1e-11, atol=1e-14)
    net = ib.train(model, ib.losses.square, flow, problem, time_horizon=200.0, record_steps=times)
    mirror = ib.train(LinearModel(16, w0=np.full(16, w0)), ib.losses.square,
                      MirrorFlow(solver="dopri8", rtol=1e-11, atol=1e-14, beta=beta, rate=rate),
                      problem, time_horizon=200.0, record_steps=times)
    gap = np.linalg.norm(net.records["w"][0] - mirror.records["w"][0], axis=1)
    assert gap.max() < 1e-7 * np.linalg.norm(net.records["w"][0], axis=1).max()
    assert net.final_loss[0] < 1e-10 * net.records["loss"][0, 0]  # the comparison covers the whole path


def test_mirror_flow_with_a_huge_beta_is_plain_gradient_flow():
    """β is a swept leaf; with rate·β = 1 and β → ∞ the mirror flow is gradient flow, w(t) = (I − e^{−tH})H⁺Xᵀy/n."""
    problem = sparse_regression(6, 12, 2, n_test=0, seed=5)
    X, y, n, t = problem.X, problem.y, 6, 0.3
    betas = np.array([1e-3, 1e7])
    out = ib.train(LinearModel(12), ib.losses.square, MirrorFlow(solver="tsit5", rtol=1e-11, atol=1e-14, rate=1e-7),
                   problem, time_horizon=t, hparams={"beta": betas}, n_records=3)
    lam, V = np.linalg.eigh(X.T @ X / n)
    keep = lam > 1e-10
    exact = V[:, keep] @ (((1 - np.exp(-lam[keep] * t)) / lam[keep]) * (V[:, keep].T @ (X.T @ y / n)))
    np.testing.assert_allclose(out.end_to_end[1], exact, rtol=1e-5, atol=1e-9)
    assert np.linalg.norm(out.end_to_end[0]) < 1e-6 * np.linalg.norm(exact)  # β small: nothing moves at this rate


def test_label_noise_statistics_and_kinds():
    y = jnp.zeros(20000)
    gauss = LabelNoiseSGD(label_noise=0.3).perturb_targets(y, {}, jax.random.PRNGKey(0))
    assert abs(float(jnp.std(gauss)) - 0.3) < 0.01 and abs(float(jnp.mean(gauss))) < 0.01
    rad = LabelNoiseSGD(label_noise=0.3, distribution="rademacher").perturb_targets(y, {"label_noise": jnp.asarray(0.5)},
                                                                    jax.random.PRNGKey(1))
    np.testing.assert_allclose(np.abs(rad), 0.5)
    for bad in (dict(label_noise=-1.0), dict(distribution="laplace"), dict(batch_size=0)):
        with pytest.raises(InputError):
            LabelNoiseSGD(**bad)


def test_label_noise_gd_without_noise_is_gd_and_with_noise_is_not():
    """σ = 0 (swept) is GD exactly: w_k = w⁺ + (I − hH)^k (w0 − w⁺) on least squares; σ > 0 moves elsewhere."""
    problem = sparse_regression(10, 20, 2, n_test=0, seed=0)
    X, y, h, k = problem.X, problem.y, 0.01, 300
    out = ib.train(LinearModel(20), ib.losses.square, LabelNoiseSGD(), problem, steps=k, step_size=h,
                   hparams={"label_noise": np.array([0.0, 0.5])}, n_records=4)
    H = X.T @ X / 10
    w_plus = np.linalg.pinv(X) @ y
    exact = w_plus - np.linalg.matrix_power(np.eye(20) - h * H, k) @ w_plus
    np.testing.assert_allclose(out.end_to_end[0], exact, rtol=1e-10, atol=1e-12)
    assert np.linalg.norm(out.end_to_end[1] - exact) > 1e-3


def test_saddle_to_saddle_on_an_orthogonal_design():
    """X with orthogonal columns: coordinates join in decreasing |w*_i|, at τ_i = 1/|c_i| (c = Xᵀy/n), and
    every saddle is w* truncated to the coordinates already learned."""
    from implicit_bias.experiments.incremental_learning import first_jump_time, saddle_to_saddle

    n, values = 6, np.array([0.5, -3.0, 1.5, 0.0, 2.0, 0.0])
    X = np.sqrt(n) * np.linalg.qr(np.random.default_rng(0).standard_normal((n, n)))[0]  # XᵀX/n = I
    y = X @ values
    path = saddle_to_saddle(X, y)
    order = [step["joins"] for step in path[1:]]
    assert order == [1, 4, 2, 0]
    np.testing.assert_allclose([step["tau"] for step in path[1:]], 1 / np.abs(values[order]), rtol=1e-12)
    for k, step in enumerate(path[1:], 1):
        expected = np.where(np.isin(np.arange(n), order[:k]), values, 0.0)
        np.testing.assert_allclose(step["beta"], expected, atol=1e-10)
    i, t1 = first_jump_time(X, y, 1e-3)
    assert i == 1 and t1 == pytest.approx(np.log(3.0 / 1e-6 - 1) / 12.0, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_first_jump_matches_the_flow(seed):
    """The logistic prediction t₁ = log(|b|/α² − 1)/(4|c|max) against the flow itself."""
    from implicit_bias.experiments.incremental_learning import first_jump_time, planted_problem

    problem = planted_problem(30, 40, (4.0, -2.0, 1.0), seed)
    alpha = 1e-5
    i, t1 = first_jump_time(problem.X, problem.y, alpha)
    b = problem.X[:, i] @ problem.y / (problem.X[:, i] @ problem.X[:, i])
    times = np.linspace(0, 4.0, 801)
    assert t1 < 3.0
    out = ib.train(DiagonalModel(40, init_scale=alpha), ib.losses.square,
                   ib.optim.Flow(solver="tsit5", rtol=1e-10, atol=1e-16), problem, time_horizon=times[-1],
                   record_steps=times)
    crossed = times[np.argmax(np.abs(out.records["w"][0][:, i]) >= abs(b) / 2)]
    assert crossed / t1 == pytest.approx(1.0, abs=0.02)


def test_fit_q_alpha_scale_recovers_the_scale_of_a_q_alpha_solution():
    from implicit_bias.references import fit_q_alpha_scale, q_alpha_interpolator

    problem = sparse_regression(10, 25, 2, n_test=0, seed=1)
    for alpha in (0.05, 0.4):
        w = q_alpha_interpolator(problem.X, problem.y, alpha).solution
        fitted, residual = fit_q_alpha_scale(problem.X, problem.y, w, 0.3)
        assert fitted == pytest.approx(alpha, rel=1e-3) and residual < 1e-5


def test_early_stopping_window():
    from implicit_bias.experiments.early_stopping import window

    steps = np.arange(8)
    err = np.array([1.0, 0.5, 0.05, 0.01, 0.03, 0.2, 0.02, 0.9])
    assert window(steps, err, 0.06) == (2, 4)  # the contiguous stretch around the minimum only
    assert window(steps, err, 0.001) == (0, 0)
