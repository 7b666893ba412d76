"""p-norm mirror descent (p-GD): mirror descent with the potential ψ(w) = ‖w‖_p^p / p.

    ∇ψ(w) = sign(w) |w|^(p−1),    ∇ψ(w_{k+1}) = ∇ψ(w_k) − h g_k,    w = sign(z) |z|^(1/(p−1))

on every parameter coordinate (p > 1; p = 2 is GD). On separable data with the exp or logistic loss
the direction tends to the l_p max-margin separator argmin ‖w‖_p s.t. y_i⟨w, x_i⟩ ≥ 1. The gradient is
that of log L (loss-normalised steps), which speeds the margin up without changing the limit.

Swept hyper-parameters: ``hp["step_size"]`` and ``hp["p"]`` (one program sweeps p).

References: Sun, Ahn, Thrampoulidis, Azizan, "Mirror descent maximizes generalized margin and can be
implemented efficiently", NeurIPS 2022; Azizan & Hassibi, ICLR 2019 (stochastic mirror descent).
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


class _NoState(NamedTuple):
    pass


def mirror_map(w: jax.Array, p) -> jax.Array:
    """∇ψ(w) = sign(w) |w|^(p−1)."""
    return jnp.sign(w) * jnp.abs(w) ** (p - 1.0)


def inverse_mirror_map(z: jax.Array, p) -> jax.Array:
    """(∇ψ)⁻¹(z) = sign(z) |z|^(1/(p−1))."""
    return jnp.sign(z) * jnp.abs(z) ** (1.0 / (p - 1.0))


def p_mirror_descent(step_size, p) -> optax.GradientTransformation:
    """The optax transformation g ↦ (∇ψ)⁻¹(∇ψ(w) − h g) − w (needs the parameters)."""

    def init(params):
        return _NoState()

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("p-norm mirror descent needs the parameters")
        new = jax.tree_util.tree_map(lambda w, g: inverse_mirror_map(mirror_map(w, p) - step_size * g, p),
                                     params, grads)
        return jax.tree_util.tree_map(jnp.subtract, new, params), state

    return optax.GradientTransformation(init, update)


@dataclass(frozen=True)
class PNormGD(StepOptimizer):
    """Mirror descent with ψ = ‖w‖_p^p / p on ∇ log L; ``hp["p"]`` overrides the field."""

    p: float = 2.0
    name: ClassVar[str] = "p-gd"
    uses_log_loss: ClassVar[bool] = True
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("p", float, 2.0, "p of the potential ‖w‖_p^p / p (2: GD)", low=1.0, low_open=True),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.p, bool) or not isinstance(self.p, (int, float)) or not (math.isfinite(self.p) and self.p > 1):
            raise InputError(f"p-norm mirror descent needs a finite p > 1, got {self.p!r}")

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return p_mirror_descent(hp["step_size"], self.hparam(hp, "p"))


register_optimizer("p-gd", PNormGD)
