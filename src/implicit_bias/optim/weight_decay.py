"""Gradient flow with weight decay: dθ/dt = −∇(L(θ) + (λ/2)‖θ‖²), λ = ``hp["weight_decay"]``.

The decay is swept like any hyper-parameter (a traced leaf: one compiled program per sweep);
λ = 0 is the plain gradient flow.

References: Lyu, Jin, Li, Du, Lee, Hu, "Dichotomy of early and late phase implicit biases can
provably induce grokking", ICLR 2024 (gradient flow on L + (λ/2)‖θ‖²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.flow import Flow

Objective = Callable[[Any, jax.Array, jax.Array, Mapping[str, jax.Array]], jax.Array]


@dataclass(frozen=True)
class WeightDecayFlow(Flow):
    """Gradient flow of L + (λ/2)‖θ‖² (‖·‖ over every parameter leaf); λ = ``hp["weight_decay"]`` or the field."""

    weight_decay: float = 0.0
    name: ClassVar[str] = "weight-decay-flow"

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            lam = float(self.weight_decay)
        except (TypeError, ValueError):
            raise InputError(f"weight decay must be a number, got {self.weight_decay!r}") from None
        if not (math.isfinite(lam) and lam >= 0):
            raise InputError(f"weight decay must be >= 0, got {self.weight_decay}")
        if self.time_change is not None:
            raise InputError("weight decay is added to L itself (time_change must be None)")

    def modify_objective(self, objective: Objective) -> Objective:
        def decayed(params, X, y, hp):
            lam = hp.get("weight_decay", self.weight_decay)
            sq = sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(params)
                     if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact))
            return objective(params, X, y, hp) + 0.5 * lam * sq

        return decayed

    def describe(self) -> dict:
        return {**super().describe(), "name": self.name, "weight_decay": self.weight_decay}


register_optimizer("weight-decay-flow", WeightDecayFlow)
