"""Normalized GD with decaying steps (Josz 2026): the step rule exactly, and the drift to the flattest minimum.

On L(u, v) = (uv − 1)²/2 (a one-coordinate ``uv`` diagonal network fitting y = 1 from x = 1) the
minima form the hyperbola uv = 1 with sharpness λ_max = u² + v² ≥ 2, equality only at u = v = 1.
Gradient flow conserves u² − v² = c, so it (and GD with a small step) ends at sharpness √(c² + 4);
normalized GD with slowly decaying steps ends at the flat point λ = 2 instead.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.metrics.curvature import record
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.optim import GD, make_optimizer
from implicit_bias.optim.normalized_decay import GradientNormalizedGD, decayed_step, normalized_decay
from implicit_bias.problems import Problem
from implicit_bias.sweeps import grid


def test_each_step_has_length_h_k_along_minus_the_gradient():
    h, p, k0 = 0.3, 0.5, 4.0
    tx = normalized_decay(jnp.asarray(h), jnp.asarray(p), k0)
    params = {"a": jnp.ones(3), "b": jnp.ones(())}
    state = tx.init(params)
    rng = np.random.default_rng(0)
    for k in range(6):
        g = {"a": jnp.asarray(rng.standard_normal(3)), "b": jnp.asarray(rng.standard_normal())}
        upd, state = tx.update(g, state, params)
        gn = np.sqrt(np.sum(np.asarray(g["a"]) ** 2) + float(g["b"]) ** 2)
        expected = h * (1 + k / k0) ** (-p)
        np.testing.assert_allclose(np.asarray(upd["a"]), -expected * np.asarray(g["a"]) / gn, rtol=1e-13)
        assert float(upd["b"]) == pytest.approx(-expected * float(g["b"]) / gn, rel=1e-13)
    zero, _ = tx.update({"a": jnp.zeros(3), "b": jnp.zeros(())}, state, params)
    assert all(float(jnp.max(jnp.abs(x))) == 0.0 for x in jax.tree_util.tree_leaves(zero))
    assert float(decayed_step(1.0, jnp.asarray(30.0), 1.0, 10.0)) == pytest.approx(0.25)


@pytest.mark.slow
def test_normalized_gd_with_decaying_steps_finds_the_flattest_minimum():
    problem = Problem(np.array([[1.0]]), np.array([1.0]))
    model = DiagonalModel(1, param="uv", init_scale=0.5)
    shapes = np.array([0.8, 0.9])
    flow_sharpness = []
    for s in shapes:  # the minimum on uv = 1 with u² − v² = u0² − v0²
        u0, v0 = model.layers0(init_shape=s)
        flow_sharpness.append(np.sqrt((u0 ** 2 - v0 ** 2) ** 2 + 4))
    rec = record(model, losses.square)
    gd = train(model, losses.square, GD(), problem, steps=20_000, hparams={"init_shape": shapes, "step_size": 0.005},
               record=rec, n_records=4)
    ngd = train(model, losses.square, GradientNormalizedGD(decay_power=0.5, decay_steps=10.0), problem,
                steps=20_000, hparams=grid(init_shape=shapes, step_size=[0.3, 0.4]), record=rec, n_records=4)
    np.testing.assert_allclose(gd.records["sharpness"][:, -1], flow_sharpness, rtol=0.02)
    assert min(flow_sharpness) > 2.9
    np.testing.assert_allclose(ngd.records["sharpness"][:, -1], 2.0, atol=0.1)  # bouncing of size h_k remains
    np.testing.assert_allclose(ngd.end_to_end[:, 0], 1.0, atol=0.02)


def test_decay_power_is_swept_through_hp():
    """1-D and far from the minimum every step moves by exactly h_k: w_K = Σ_{k<K} h (1 + k/k₀)^(−p)."""
    from implicit_bias.models.linear import LinearModel

    problem = Problem(np.array([[1.0]]), np.array([100.0]))
    K, h, k0 = 40, 0.1, 3.0
    out = train(LinearModel(1), losses.square, GradientNormalizedGD(decay_steps=k0), problem, steps=K,
                hparams={"step_size": [h, h], "decay_power": [0.5, 1.0]}, n_records=3)
    k = np.arange(K)
    expected = [np.sum(h * (1 + k / k0) ** -p) for p in (0.5, 1.0)]
    np.testing.assert_allclose(out.end_to_end[:, 0], expected, rtol=1e-13)


@pytest.mark.parametrize("options", [{"decay_power": 0.0}, {"decay_power": 1.5}, {"decay_steps": 0.0},
                                     {"batch_size": 0}])
def test_bad_options_are_input_errors(options):
    with pytest.raises(InputError):
        GradientNormalizedGD(**options)


def test_registered_for_the_command_line():
    opt = make_optimizer("gradient-normalized-gd", decay_power=0.25)
    assert isinstance(opt, GradientNormalizedGD) and opt.decay_power == 0.25
