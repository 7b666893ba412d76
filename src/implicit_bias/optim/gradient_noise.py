"""Gradient descent with isotropic noise added to the gradient: the control for label noise.

    θ ← θ − h (∇L(θ) + σ ζ),   ζ ~ N(0, I_P) fresh every step (P = number of parameters)

Label noise enters through the targets, so its gradient noise has covariance ∝ ∇²L near the zero-loss
manifold, and that structure is what drives the drift towards small tr ∇²L (Blanc et al. 2020; Li,
Wang & Arora 2022). Isotropic gradient noise of comparable size has no such structure: it is the
negative control of the label-noise entries. The noise key comes from ``hp["seed"]``; σ from
``hp["gradient_noise"]`` when swept, else the field ``gradient_noise``.

References: Li, Wang, Arora, "What happens after SGD reaches zero loss? A mathematical framework",
ICLR 2022 (the drift depends on the noise covariance, not only its size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import optax

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import StepOptimizer


class NoiseState(NamedTuple):
    """The noise key and the step counter."""

    key: jax.Array
    count: jax.Array


def noisy_sgd(step_size: jax.Array, sigma: jax.Array, seed: jax.Array) -> optax.GradientTransformation:
    """g ↦ −h (g + σζ), ζ standard normal per leaf, drawn from fold_in(PRNGKey(seed), k) at step k."""

    def init(params):
        return NoiseState(jax.random.fold_in(jax.random.PRNGKey(seed), 7919), jnp.zeros((), jnp.int32))

    def update(grads, state, params=None):
        leaves, tree = jax.tree_util.tree_flatten(grads)
        keys = jax.random.split(jax.random.fold_in(state.key, state.count), len(leaves))
        noisy = [g + sigma * jax.random.normal(k, g.shape, g.dtype) for g, k in zip(leaves, keys)]
        return jax.tree_util.tree_unflatten(tree, [-step_size * g for g in noisy]), NoiseState(state.key, state.count + 1)

    return optax.GradientTransformation(init, update)


@dataclass(frozen=True)
class GradientNoiseGD(StepOptimizer):
    """GD plus isotropic Gaussian gradient noise of standard deviation σ per coordinate.

    Attributes:
      gradient_noise: σ ≥ 0 (``hp["gradient_noise"]`` overrides it).
    """

    gradient_noise: float = 0.1
    name: ClassVar[str] = "gradient-noise-gd"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("gradient_noise", float, 0.1, "standard deviation σ of the gradient noise per coordinate", low=0.0),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        sigma = self.gradient_noise
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma >= 0):
            raise InputError(f"gradient noise must be a finite number >= 0, got {sigma!r}")

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return noisy_sgd(hp["step_size"], self.hparam(hp, "gradient_noise"), hp["seed"])


register_optimizer("gradient-noise-gd", GradientNoiseGD)
