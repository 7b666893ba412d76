"""Losses: values against direct formulas, log space at huge margins, gradients that don't underflow."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias import losses
from implicit_bias.errors import InputError


def test_values_match_direct_formulas(seed):
    rng = np.random.default_rng(seed)
    f, y = rng.standard_normal(30), rng.choice([-1.0, 1.0], 30)
    np.testing.assert_allclose(losses.square.value(f, y), 0.5 * np.mean((f - y) ** 2), rtol=1e-14)
    np.testing.assert_allclose(losses.exp.value(f, y), np.mean(np.exp(-y * f)), rtol=1e-13)
    np.testing.assert_allclose(losses.logistic.value(f, y), np.mean(np.log1p(np.exp(-y * f))), rtol=1e-13)
    for loss in (losses.square, losses.exp, losses.logistic):
        np.testing.assert_allclose(loss.log_value(f, y), np.log(loss.value(f, y)), rtol=1e-12)


@pytest.mark.parametrize("loss", [losses.exp, losses.logistic])
def test_log_loss_finite_at_huge_margins(loss):
    y = np.array([1.0, -1.0, 1.0])
    f = np.array([2000.0, -2500.0, 3000.0])  # exp(-2000) underflows in float64
    assert loss.value(f, y) == 0.0
    log_l = loss.log_value(f, y)
    assert np.isfinite(log_l)
    np.testing.assert_allclose(log_l, -2000.0 - np.log(3.0), rtol=1e-12)


@pytest.mark.parametrize("loss", [losses.exp, losses.logistic])
def test_normalized_gradient_does_not_underflow(loss):
    """∇ log L = ∇L / L is the softmax-weighted direction: finite and non-zero at margin 2000."""
    X = jnp.array([[1.0, 0.5], [0.2, 1.0]])
    y = jnp.array([1.0, 1.0])
    w = 2000.0 * jnp.array([1.0, 1.0])
    g = jax.grad(lambda w: loss.log_value(X @ w, y))(w)
    assert np.all(np.isfinite(g)) and np.linalg.norm(g) > 0.1
    margins = X @ w
    weights = jax.nn.softmax(-margins)
    np.testing.assert_allclose(g, -(weights[:, None] * X).sum(0), rtol=1e-10)


def test_log_softplus_continuous_across_branch():
    z = jnp.linspace(-21.0, -19.0, 201)
    direct = jnp.log(jnp.log1p(jnp.exp(z)))
    np.testing.assert_allclose(losses.log_softplus(z), direct, rtol=1e-12)
    g = jax.vmap(jax.grad(losses.log_softplus))(z)
    np.testing.assert_allclose(g, jax.nn.sigmoid(z) / jax.nn.softplus(z), rtol=1e-8)


def test_unknown_loss_is_input_error():
    with pytest.raises(InputError, match="unknown loss"):
        losses.get_loss("hinge")
