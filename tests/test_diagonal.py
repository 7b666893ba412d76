"""Diagonal and grouped networks: conventions, bad input, and gradient-flow limits against exact references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.errors import InputError
from implicit_bias.models import make_model
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.grouped import GroupedDiagonalModel, group_ids
from implicit_bias.problems import sparse_regression
from implicit_bias.references import diagonal_flow_limit, diagonal_network_limit, q_alpha_interpolator, shape_scale

STIFF = ib.optim.Flow(solver="kvaerno5", rtol=1e-9, atol=1e-13, max_steps=50_000)


def _rel(a, b):
    return np.linalg.norm(np.asarray(a) - b, axis=-1) / np.linalg.norm(b)


@pytest.mark.parametrize("options, message", [
    (dict(depth=1), "depth"), (dict(depth=2.5), "depth"), (dict(init_scale=0.0), "init scale"),
    (dict(init_scale=-1.0), "init scale"), (dict(init_shape=1.0), "shape"), (dict(init_shape=-1.5), "shape"),
    (dict(param="uvw"), "parameterization"), (dict(param="uv", depth=3), "depth"),
    (dict(depth=3, init_shape=0.5), "depth 2"),
])
def test_bad_diagonal_options_raise_one_line_input_error(options, message):
    with pytest.raises(InputError, match=message) as err:
        make_model("diagonal", 5, **options)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("groups", [4, 0, 2.5, np.arange(5), np.array([0.5, 1, 1, 2, 2, 3]), "abc"])
def test_inconsistent_groups_raise_input_error(groups):
    with pytest.raises(InputError):
        make_model("grouped-diagonal", 6, groups=groups)


def test_grouped_needs_groups_and_renumbers_ids():
    with pytest.raises(InputError, match="groups"):
        make_model("grouped-diagonal", 6, groups=None, init_scale=None)
    np.testing.assert_array_equal(group_ids(np.array([7, 7, 2, 2, 9, 9]), 6), [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(group_ids(2, 6), [0, 0, 1, 1, 2, 2])
    model = make_model("grouped-diagonal", 6, groups=np.array([7, 7, 2, 2, 9, 9]), init_scale=0.5)
    params = {"u": jnp.array([1.0, 2.0, 3.0]), "v": jnp.arange(6.0)}
    np.testing.assert_allclose(model.end_to_end(params), [0, 1, 8, 12, 36, 45])
    np.testing.assert_allclose(model.group_norms(np.arange(6.0)), [1, np.sqrt(13), np.sqrt(41)])


def test_cli_factory_defaults_and_depth_switches_to_power():
    m = make_model("diagonal", 4, depth=None, init_scale=None, init_shape=None, param=None)
    assert (m.depth, m.param, m.init_scale, m.init_shape) == (2, "uu-vv", 1.0, 0.0)
    m3 = make_model("diagonal", 4, depth=3, init_scale=0.2, init_shape=None, param=None)
    assert (m3.depth, m3.param) == (3, "power")


@pytest.mark.parametrize("param, depth", [("uu-vv", 2), ("power", 3), ("uv", 2)])
@pytest.mark.parametrize("alpha, shape", [(0.1, 0.0), (2.0, 0.5)])
def test_init_conventions_and_effective_scale(param, depth, alpha, shape):
    if depth != 2 and shape != 0:
        pytest.skip("init shape is depth 2 only")
    model = DiagonalModel(7, depth=depth, param=param, init_scale=alpha, init_shape=shape)
    hp = {"init_scale": jnp.asarray(alpha), "init_shape": jnp.asarray(shape)}
    if depth != 2:
        with pytest.raises(InputError, match="depth 2"):
            model.init(hp, jax.random.PRNGKey(0))
        del hp["init_shape"]
    params = model.init(hp, jax.random.PRNGKey(0))
    u0, v0 = np.asarray(params["u"]), np.asarray(params["v"])
    np.testing.assert_allclose(model.initial_end_to_end(), model.end_to_end(params), rtol=1e-14, atol=1e-300)
    if param == "uv":  # Azulay et al.: u0 v0 = α² whatever the shape; u0/v0 = (1 − s)/(1 + s)
        np.testing.assert_allclose(u0 * v0, alpha ** 2, rtol=1e-14)
        np.testing.assert_allclose(u0 / v0, (1 - shape) / (1 + shape), rtol=1e-14)
        assert model.effective_init_scale() == pytest.approx(alpha ** 2, rel=1e-14)
    else:  # tied: u0 = v0 = α_s (the reference's equivalent scale), w0 = 0
        np.testing.assert_allclose(u0, shape_scale(alpha, shape), rtol=1e-14)
        np.testing.assert_array_equal(u0, v0)
        assert model.effective_init_scale() == pytest.approx(shape_scale(alpha, shape) ** depth, rel=1e-14)


def test_hparams_override_fields_inside_jit():
    model = DiagonalModel(3, init_scale=1.0)
    init = jax.jit(lambda a: model.init({"init_scale": a}, jax.random.PRNGKey(0)))
    np.testing.assert_allclose(init(jnp.asarray(0.25))["u"], 0.25)


@pytest.mark.parametrize("n, d, k, seed", [(8, 20, 2, 0), (8, 20, 2, 1), (8, 20, 2, 2), (12, 16, 3, 1)])
def test_flow_lands_on_q_alpha_at_every_scale_and_shape(n, d, k, seed):
    """Woodworth et al. Theorem 1: the u⊙u − v⊙v flow from u = v = α ends at argmin Q_α s.t. Xw = y; an init
    shape s goes through the signed two-layer equivalence (q-alpha's shape option, scale α_s)."""
    from implicit_bias.experiments.kernel_vs_rich import flow_speed
    from implicit_bias.optim.paced_flow import PacedFlow

    problem = sparse_regression(n, d, k, n_test=0, seed=seed)
    alphas = np.array([1e-3, 0.05, 0.5, 5.0, 0.05, 0.5])
    shapes = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 0.9])
    speed = flow_speed([shape_scale(a, s) for a, s in zip(alphas, shapes)], 2)
    out = ib.train(DiagonalModel(d), ib.losses.square, PacedFlow(solver="kvaerno5", rtol=1e-9, atol=1e-13),
                   problem, time_horizon=1e8, hparams={"init_scale": alphas, "init_shape": shapes, "speed": speed},
                   n_records=4)
    refs = np.stack([q_alpha_interpolator(problem.X, problem.y, a, shape=s).solution for a, s in zip(alphas, shapes)])
    assert out.solver_ok.all()
    assert np.max(_rel(out.end_to_end, refs)) < 1e-6


def test_uv_flow_lands_on_its_exact_limit():
    """The untied u⊙v flow (w0 = α² ≠ 0, layers unbalanced by s) ends at diagonal_flow_limit from ((u0+v0)/2, |u0−v0|/2)."""
    problem = sparse_regression(8, 20, 2, n_test=0, nonnegative=True, seed=3)
    shapes = np.array([0.0, 0.5, 0.9])
    model = DiagonalModel(20, param="uv", init_scale=0.2)
    out = ib.train(model, ib.losses.square, STIFF, problem, time_horizon=1e5, hparams={"init_shape": shapes},
                   n_records=4)
    refs = np.stack([diagonal_network_limit(model, problem.X, problem.y, 0.2, s) for s in shapes])
    assert np.max(_rel(out.end_to_end, refs)) < 1e-6
    # at s = 0 the layers are balanced, u − v ≡ 0 and the limit is that of u⊙u from α (w ≥ 0)
    np.testing.assert_allclose(refs[0], diagonal_flow_limit(problem.X, problem.y, 0.2, 0.0)[0], rtol=1e-10, atol=1e-12)
    assert np.all(refs[0] >= -1e-12)
    # and the u⊙v limit differs from the tied network's at the same (α, s)
    assert _rel(refs[1], diagonal_network_limit(DiagonalModel(20, init_scale=0.2), problem.X, problem.y, 0.2, 0.5)) > 1e-3


def test_deep_flow_lands_on_the_depth_3_reference():
    problem = sparse_regression(8, 20, 2, n_test=0, seed=4)
    alphas = np.array([0.3, 1.0])
    out = ib.train(DiagonalModel(20, depth=3, param="power"), ib.losses.square, STIFF, problem, time_horizon=1e5,
                   hparams={"init_scale": alphas}, n_records=4)
    refs = np.stack([q_alpha_interpolator(problem.X, problem.y, a, depth=3, rtol=1e-10).solution for a in alphas])
    assert np.max(_rel(out.end_to_end, refs)) < 1e-6


@pytest.mark.parametrize("param", ["uv", "uu-vv"])
def test_one_gd_step_breaks_the_conservation_law_at_second_order_exactly(param):
    """u⊙v: u² − v² ↦ (u² − v²)(1 − h²g²); u⊙u − v⊙v: u v ↦ u v (1 − 4h²g²), g = ∂L/∂w."""
    problem = sparse_regression(6, 10, 2, n_test=0, seed=0)
    model = DiagonalModel(10, param=param, init_scale=0.7, init_shape=0.4)
    params = model.init({}, jax.random.PRNGKey(0))
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y)
    loss = lambda p: ib.losses.square.value(model.predict(p, X), y)  # noqa: E731
    g = np.asarray(jax.grad(lambda w: ib.losses.square.value(X @ w, y))(model.end_to_end(params)))
    for h in (1e-3, 1e-2):
        grads = jax.grad(loss)(params)
        new = jax.tree_util.tree_map(lambda p, q: p - h * q, params, grads)
        if param == "uv":
            before, after, factor = params["u"] ** 2 - params["v"] ** 2, new["u"] ** 2 - new["v"] ** 2, 1 - h ** 2 * g ** 2
        else:
            before, after, factor = params["u"] * params["v"], new["u"] * new["v"], 1 - 4 * h ** 2 * g ** 2
        np.testing.assert_allclose(after, before * factor, rtol=1e-13)


def test_grouped_flow_conserves_its_balance_and_fits_the_data():
    """u_g² − 2‖v_g‖² is constant under gradient flow on w_g = u_g² v_g."""
    problem = sparse_regression(10, 12, 2, n_test=0, seed=1)
    model = GroupedDiagonalModel(12, groups=3, init_scale=0.5)

    def record(params, hp, data):
        sq = jnp.zeros(model.n_groups).at[jnp.asarray(model.ids)].add(params["v"] ** 2)
        return {"loss": ib.losses.square.value(model.predict(params, data["X"]), data["y"]),
                "balance": params["u"] ** 2 - 2 * sq}

    out = ib.train(model, ib.losses.square, ib.optim.Flow(solver="tsit5", rtol=1e-10, atol=1e-12), problem,
                   time_horizon=200.0, n_records=12, record=record)
    balance = out.records["balance"][0]
    np.testing.assert_allclose(balance, 0.25, rtol=1e-7)
    assert out.final_loss[0] < 1e-2 * out.records["loss"][0, 0]


@pytest.mark.slow
def test_one_program_sweeps_depth_and_matches_separate_depths():
    """hp["depth"] sweeps depths 2, 3, 4 in one compiled program: same w as one model per depth (GD, to 1e-12),
    and the flow of each depth lands on its own Q_α reference."""
    problem = sparse_regression(8, 20, 2, n_test=0, seed=5)
    depths, alphas = np.array([2, 3, 4, 3]), np.array([0.5, 0.5, 0.8, 0.9])
    swept = ib.train(DiagonalModel(20, depth=4, param="power"), ib.losses.square, ib.optim.GD(), problem,
                     steps=300, step_size=0.02, hparams={"init_scale": alphas, "depth": depths}, n_records=3)
    for i, (D, a) in enumerate(zip(depths, alphas)):
        alone = ib.train(DiagonalModel(20, depth=int(D), param="power", init_scale=float(a)), ib.losses.square,
                         ib.optim.GD(), problem, steps=300, step_size=0.02, n_records=3)
        np.testing.assert_allclose(swept.end_to_end[i], alone.end_to_end[0], rtol=1e-12, atol=1e-14)
    assert np.all(np.asarray(swept.params["depth"]) == depths)  # never moved by training
    flow = ib.train(DiagonalModel(20, depth=3, param="power"), ib.losses.square, STIFF, problem, time_horizon=1e5,
                    hparams={"init_scale": [0.5, 0.5], "depth": [2, 3]}, n_records=3)
    refs = np.stack([q_alpha_interpolator(problem.X, problem.y, 0.5, depth=D, rtol=1e-10).solution for D in (2, 3)])
    assert np.max(_rel(flow.end_to_end, refs)) < 1e-6
    assert _rel(refs[0], refs[1]) > 1e-3  # the two depths really differ


@pytest.mark.parametrize("hp, message", [
    ({"depth": [2, 5]}, "between 2 and"), ({"depth": [2.5]}, r"'depth' must be integer in \[2, inf\)"),
    ({"depth": [3], "init_shape": [0.5]}, "depth 2 only"),
    ({"init_scale": [0.1, -1.0]}, r"'init_scale' must be \(0, inf\)"),
])
def test_bad_depth_sweeps_are_refused_before_compiling(hp, message):
    problem = sparse_regression(6, 10, 2, n_test=0, seed=0)
    with pytest.raises(InputError, match=message):
        ib.train(DiagonalModel(10, depth=4, param="power"), ib.losses.square, ib.optim.GD(), problem,
                 steps=5, step_size=0.01, hparams=hp)
