"""The scale-invariant model: L(cw) = L(w), ⟨∇L, w⟩ = 0, ∇L(cw) = ∇L(w)/c; init and validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias import losses
from implicit_bias.errors import InputError
from implicit_bias.hparams import validate
from implicit_bias.models.registry import make_model
from implicit_bias.models.scale_invariant import ScaleInvariantLinear


def test_loss_is_scale_invariant(seed):
    rng = np.random.default_rng(seed)
    X, y = jnp.asarray(rng.standard_normal((9, 4))), jnp.asarray(rng.standard_normal(9))
    model = ScaleInvariantLinear(4, output_scale=2.0)
    loss = lambda w: losses.square.value(model.predict(w, X), y)  # noqa: E731
    w = jnp.asarray(rng.standard_normal(4))
    for c in (0.1, 3.0, 250.0):
        assert float(loss(c * w)) == pytest.approx(float(loss(w)), rel=1e-13)
        np.testing.assert_allclose(jax.grad(loss)(c * w), jax.grad(loss)(w) / c, rtol=1e-12)
    g = jax.grad(loss)(w)
    assert abs(float(g @ w)) <= 1e-14 * float(jnp.linalg.norm(g) * jnp.linalg.norm(w))
    np.testing.assert_allclose(model.end_to_end(w), 2.0 * w / jnp.linalg.norm(w), rtol=1e-15)


def test_init_norm_and_registry():
    model = make_model("scale-invariant", 6, init_scale=0.7, output_scale=3.0)
    assert isinstance(model, ScaleInvariantLinear) and model.output_scale == 3.0
    w = model.init({}, jax.random.PRNGKey(0))
    assert float(jnp.linalg.norm(w)) == pytest.approx(0.7, rel=1e-14)
    w2 = model.init({"init_scale": jnp.asarray(2.5)}, jax.random.PRNGKey(0))
    np.testing.assert_allclose(w2, w * 2.5 / 0.7, rtol=1e-14)


def test_bad_input():
    for bad in (lambda: ScaleInvariantLinear(0), lambda: ScaleInvariantLinear(3, init_scale=-1.0),
                lambda: ScaleInvariantLinear(3, output_scale=float("inf")),
                lambda: validate({"init_scale": np.array([1.0, 0.0])}, ScaleInvariantLinear(3).declared())):
        with pytest.raises(InputError):
            bad()
