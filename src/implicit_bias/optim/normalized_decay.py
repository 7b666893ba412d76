"""Normalized gradient descent with slowly decaying steps, which drifts towards flat minima (Josz 2026).

    θ_{k+1} = θ_k − h_k ∇L(θ_k)/‖∇L(θ_k)‖,   h_k = h (1 + k/k₀)^(−p),   0 < p ≤ 1

(no step where ∇L = 0). The steps have unit-free length h_k: Σ h_k = ∞ lets the iterates travel
anywhere, h_k → 0 lets them settle. Near a valley of minima the normalized step cannot shrink
with the gradient, so the iterates bounce across the valley with amplitude about h_k; a bounce
is a step of the Euler scheme of the normalized flow, whose second-order error pushes along
the valley towards where it is flatter (an implicit regularizer; for L = (xy − 1)²/2 the
balanced minimum x = y, the flattest point of the hyperbola). Plain GD with a small step instead
stops at the minimum nearest to where it enters the valley.

Swept hyper-parameters: ``hp["step_size"]`` (h) and ``hp["decay_power"]`` (p).

References: Josz, "Implicit regularization of normalized gradient descent", arXiv:2602.08177, 2026.
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


class DecayState(NamedTuple):
    """The step counter k."""

    count: jax.Array


def decayed_step(step_size: jax.Array, count: jax.Array, decay_power: jax.Array, decay_steps: float) -> jax.Array:
    """h_k = h (1 + k/k₀)^(−p)."""
    return step_size * (1.0 + count / decay_steps) ** (-decay_power)


def normalized_decay(step_size: jax.Array, decay_power: jax.Array, decay_steps: float) -> optax.GradientTransformation:
    """The optax transformation g ↦ −h_k g/‖g‖ (‖·‖ over every leaf; 0 where g = 0)."""

    def init(params):
        return DecayState(count=jnp.zeros((), jnp.int32))

    def update(grads, state, params=None):
        leaves = jax.tree_util.tree_leaves(grads)
        norm = jnp.sqrt(sum(jnp.sum(g * g) for g in leaves))
        h = decayed_step(step_size, state.count.astype(leaves[0].dtype), decay_power, decay_steps)
        scale = jnp.where(norm > 0, -h / jnp.where(norm > 0, norm, 1.0), 0.0)
        return jax.tree_util.tree_map(lambda g: scale * g, grads), DecayState(state.count + 1)

    return optax.GradientTransformation(init, update)


@dataclass(frozen=True)
class GradientNormalizedGD(StepOptimizer):
    """θ ← θ − h_k ∇L/‖∇L‖, h_k = h (1 + k/k₀)^(−p) (unlike :class:`NormalizedGD`, which divides by L).

    Attributes:
      decay_power: p ∈ (0, 1]; ``hp["decay_power"]`` overrides it. Small p decays slowly.
      decay_steps: k₀ > 0, the number of steps before the decay sets in.
    """

    decay_power: float = 0.5
    decay_steps: float = 10.0
    name: ClassVar[str] = "gradient-normalized-gd"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("decay_power", float, 0.5, "p of the steps h (1 + k/k₀)^(−p) (steps shrink, sum diverges)", low=0.0,
               high=1.0, low_open=True),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.decay_power, (int, float)) and 0 < self.decay_power <= 1):
            raise InputError("decay power must lie in (0, 1] (steps must shrink but sum to infinity), "
                             f"got {self.decay_power!r}")
        k0 = self.decay_steps
        if not (isinstance(k0, (int, float)) and math.isfinite(k0) and k0 > 0):
            raise InputError(f"decay steps must be positive, got {self.decay_steps!r}")

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return normalized_decay(hp["step_size"], self.hparam(hp, "decay_power"), float(self.decay_steps))


register_optimizer("gradient-normalized-gd", GradientNormalizedGD)
