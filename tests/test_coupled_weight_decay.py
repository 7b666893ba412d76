"""Coupled weight decay and the exponential step schedule against closed forms and recursions."""

import math

import jax
import numpy as np
import pytest

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.models.linear import LinearModel
from implicit_bias.models.scale_invariant import ScaleInvariantLinear
from implicit_bias.optim import GD, OPTIMIZERS, make_optimizer
from implicit_bias.optim.coupled_weight_decay import (ExponentialStepGD, MomentumWeightDecay, SGDWeightDecay,
                                                       WeightDecayed, equivalent_growth)
from implicit_bias.problems import Problem

START = LinearModel(5, w0=np.ones(5))   # one instance: compiled programs are reused


def _weights(params, hp, data):
    """Record the raw parameters (a module-level function: the compiled program is kept)."""
    return {"w": params}


def _quadratic(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, 5))
    return Problem(X, rng.standard_normal(12))


#: one sweep shape for the GD tests below: 40 steps recorded, the fixed point at 3000
GD_KW = dict(steps=3000, record_steps=np.array([0, 40, 3000]))


def test_gd_weight_decay_is_the_shrunk_recursion(seed):
    p = _quadratic(seed)
    H, b = p.X.T @ p.X / 12, p.X.T @ p.y / 12
    cases = [(0.1, 0.0), (0.1, 0.5), (0.05, 2.0), (0.1, 0.5)]
    out = train(START, losses.square, SGDWeightDecay(), p, **GD_KW,
                hparams={"step_size": [h for h, _ in cases], "weight_decay": [lam for _, lam in cases]})
    for i, (h, lam) in enumerate(cases[:3]):
        w = np.ones(5)
        for _ in range(40):
            w = (1 - h * lam) * w - h * (H @ w - b)
        np.testing.assert_allclose(out.records["w"][i, 1], w, rtol=1e-12)
    ridge = np.linalg.solve(H + 0.5 * np.eye(5), b)   # the fixed point is the ridge solution
    np.testing.assert_allclose(out.end_to_end[3], ridge, rtol=1e-10)


def test_momentum_weight_decay_is_heavy_ball_on_the_decayed_gradient():
    p = _quadratic(3)
    H, b = p.X.T @ p.X / 12, p.X.T @ p.y / 12
    mu, lam, h = 0.7, 0.3, 0.05
    out = train(START, losses.square, MomentumWeightDecay(momentum=mu, weight_decay=lam), p, steps=60, step_size=h,
                n_records=2)
    w, v = np.ones(5), np.zeros(5)
    for _ in range(60):
        v = mu * v + H @ w - b + lam * w
        w = w - h * v
    np.testing.assert_allclose(out.end_to_end[0], w, rtol=1e-12)


def test_wrapper_equals_the_named_optimizer():
    p = _quadratic(4)
    kw = dict(GD_KW, hparams={"step_size": 0.1, "weight_decay": [0.2, 1.0, 0.0, 3.0]})
    a = train(START, losses.square, SGDWeightDecay(), p, **kw)
    b = train(START, losses.square, WeightDecayed(GD()), p, **kw)
    np.testing.assert_allclose(a.end_to_end, b.end_to_end, rtol=1e-14)


def test_exponential_step_on_a_quadratic():
    p = _quadratic(5)
    H, b = p.X.T @ p.X / 12, p.X.T @ p.y / 12
    h, g = 0.02, 0.01
    out = train(START, losses.square, ExponentialStepGD(step_growth=g), p, steps=50, step_size=h, n_records=2)
    w = np.ones(5)
    for k in range(50):
        w = w - h * math.exp(g * (k + 0.5)) * (H @ w - b)
    np.testing.assert_allclose(out.end_to_end[0], w, rtol=1e-12)


def test_weight_decay_equals_exponential_schedule_on_a_scale_invariant_model(seed):
    """w_k = ρ^k w̃_k (Li & Arora 2020) over 100 full-batch steps (before the effective step grows past
    the stability threshold, where chaos amplifies round-off), to round-off."""
    p = _quadratic(seed)
    model = ScaleInvariantLinear(5, output_scale=1.5)
    eta, lam = 0.1, 0.02
    out = train(model, losses.square, WeightDecayed(ExponentialStepGD()), p, steps=100, n_records=8,
                hparams={"step_size": eta, "weight_decay": [lam, 0.0],
                         "step_growth": [0.0, equivalent_growth(eta, lam)]}, record=_weights)
    decayed, scheduled = out.records["w"][0], out.records["w"][1]
    rho = (1 - eta * lam) ** out.steps[:, None]
    np.testing.assert_allclose(decayed, rho * scheduled, rtol=1e-12, atol=1e-15)


def test_registered_and_validated():
    for name in ("sgd-weight-decay", "momentum-weight-decay", "weight-decayed", "exp-step-gd"):
        assert name in OPTIMIZERS
    assert make_optimizer("sgd-weight-decay", weight_decay=0.1, batch_size=4).batch_size == 4
    assert WeightDecayed(GD(batch_size=3)).batch_size == 3
    assert equivalent_growth(0.1, 0.01) == pytest.approx(-2 * math.log(0.999), rel=1e-15)
    for bad in (lambda: SGDWeightDecay(weight_decay=-1.0), lambda: MomentumWeightDecay(momentum=1.0),
                lambda: WeightDecayed(base="gd"), lambda: ExponentialStepGD(step_growth=float("nan")),
                lambda: equivalent_growth(1.0, 2.0), lambda: SGDWeightDecay(weight_decay="x")):
        with pytest.raises(InputError):
            bad()


def test_swept_weight_decay_does_not_recompile():
    p = _quadratic(6)
    kw = dict(GD_KW, hparams={"step_size": 0.1})
    train(START, losses.square, SGDWeightDecay(), p, **{**kw, "hparams": {"step_size": 0.1, "weight_decay": [0.1, 0.2, 0.3, 0.4]}})
    again = train(START, losses.square, SGDWeightDecay(), p,
                  **{**kw, "hparams": {"step_size": 0.1, "weight_decay": [0.5, 0.6, 0.7, 0.8]}})
    assert again.info["compile_cached"]
    assert jax.config.jax_enable_x64
