"""Losses on predictions f (n,) and targets y (n,), averaged over samples, stable in log space.

* square:   L = (1/2n) Σ (f_i − y_i)²
* exp:      L = (1/n) Σ exp(−y_i f_i)
* logistic: L = (1/n) Σ log(1 + exp(−y_i f_i))

``log_value`` returns log L computed without forming exp(−margin): it stays finite at
margins far beyond 745 (where exp underflows in float64), and its gradient
∇ log L = ∇L / L is the loss-normalized gradient used by normalized GD and the
time-changed gradient flow, so that direction never underflows to zero.

References: Soudry et al. 2018, "The implicit bias of gradient descent on separable data".
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError


def log_softplus(z: jax.Array) -> jax.Array:
    """log(log(1 + e^z)), finite for all z (≈ z − e^z/2 for z ≪ 0), with a safe gradient."""
    small = z < -20.0
    z_small = jnp.where(small, z, -20.0)
    z_big = jnp.where(small, 0.0, z)
    return jnp.where(small, z_small + jnp.log1p(-0.5 * jnp.exp(z_small)), jnp.log(jax.nn.softplus(z_big)))


@dataclass(frozen=True)
class Loss:
    """A loss by name: ``value(f, y)`` is the mean loss, ``log_value(f, y)`` its logarithm."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in LOSSES:
            raise InputError(f"unknown loss '{self.name}'; valid: {', '.join(LOSSES)}")

    @property
    def is_classification(self) -> bool:
        """Exp-tailed losses need ±1 labels and have no finite minimizer on separable data."""
        return self.name in ("exp", "logistic")

    def value(self, f: jax.Array, y: jax.Array, weights: jax.Array | None = None) -> jax.Array:
        """The mean loss over samples (n,), or the weighted sum Σ_i weights_i ℓ_i (weights summing to 1)."""
        if self.name == "exp":
            return jnp.exp(self.log_value(f, y, weights))
        per_sample = (f - y) ** 2 if self.name == "square" else jax.nn.softplus(-y * f)
        mean = jnp.mean(per_sample) if weights is None else jnp.sum(weights * per_sample)
        return 0.5 * mean if self.name == "square" else mean

    def log_value(self, f: jax.Array, y: jax.Array, weights: jax.Array | None = None) -> jax.Array:
        """log of :meth:`value`, computed in log space for the exp-tailed losses (finite at any margin)."""
        n = f.shape[0]
        if self.name == "square":
            return jnp.log(self.value(f, y, weights))
        z = -y * f if self.name == "exp" else log_softplus(-y * f)
        if weights is None:
            return jax.nn.logsumexp(z) - jnp.log(n)
        return jax.nn.logsumexp(z, b=weights)


LOSSES = ("square", "exp", "logistic")

square = Loss("square")
exp = Loss("exp")
logistic = Loss("logistic")


def get_loss(name: str) -> Loss:
    """The loss called ``name`` (square, exp, logistic)."""
    return Loss(name)
