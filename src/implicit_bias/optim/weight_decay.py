"""Gradient flow with weight decay: dθ/dt = −∇(L(θ) + (λ/2)‖θ‖²), λ = ``hp["weight_decay"]``.

The decay is swept like any hyper-parameter (a traced leaf: one compiled program per sweep);
λ = 0 is the plain gradient flow.

References: Lyu, Jin, Li, Du, Lee, Hu, "Dichotomy of early and late phase implicit biases can
provably induce grokking", ICLR 2024 (gradient flow on L + (λ/2)‖θ‖²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import Objective
from implicit_bias.optim.flow import Flow


@dataclass(frozen=True)
class WeightDecayFlow(Flow):
    """Gradient flow of L + (λ/2)‖θ‖² (‖·‖ over every parameter leaf); λ = ``hp["weight_decay"]`` or the field."""

    weight_decay: float = 0.0
    name: ClassVar[str] = "weight-decay-flow"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("weight_decay", float, 0.0, "weight decay λ in L + (λ/2)‖θ‖² (0: the plain flow)", low=0.0),
    )

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
            lam = self.hparam(hp, "weight_decay")
            sq = sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(params)
                     if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact))
            return objective(params, X, y, hp) + 0.5 * lam * sq

        return decayed


register_optimizer("weight-decay-flow", WeightDecayFlow)
