"""Sharpness-aware minimization (SAM): a gradient step taken at an ascended point.

    ε = ρ ∇L_B(θ)/‖∇L_B(θ)‖   (normalized; ``unnormalized``: ε = ρ ∇L_B(θ)),
    θ ← θ − h ∇L_B(θ + ε)

on the batch B the engine hands the optimizer: the full batch (``variant="n"``, full-batch SAM) or a
single sample (``variant="1"``, 1-SAM: batch size 1, ascent and descent on the same sample, drawn
without replacement each epoch). A sweep may instead give ``hp["batch_size"]`` (then ``batch_size``
stays None): the ascent is on the same weighted minibatch as the descent. ε carries no gradient
(it is held fixed while differentiating, as in every SAM implementation), so the update direction
is exactly ∇L_B at θ + ε. Near a manifold of minima, full-batch normalized SAM drifts along it to
minimize λ_max(∇²L), 1-SAM to minimize tr ∇²L (Wen, Ma & Li 2023); with ε = 0 where ∇L_B = 0.

Swept hyper-parameters: ``hp["step_size"]`` (h) and ``hp["rho"]`` (ρ).

References: Foret, Kleiner, Mobahi, Neyshabur, "Sharpness-aware minimization for efficiently
improving generalization", ICLR 2021; Wen, Ma, Li, "How does sharpness-aware minimization minimize
sharpness?", ICLR 2023; Andriushchenko & Flammarion, "Towards understanding sharpness-aware
minimization", ICML 2022 (1-SAM, unnormalized SAM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import Objective, StepOptimizer

VARIANTS = ("n", "1")


def ascent(grads: Any, rho: jax.Array, normalized: bool) -> Any:
    """ε = ρ g/‖g‖ (0 where g = 0; ‖·‖ over every leaf) or ε = ρ g."""
    if not normalized:
        return jax.tree_util.tree_map(lambda g: rho * g, grads)
    norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads)))
    scale = jnp.where(norm > 0, rho / jnp.where(norm > 0, norm, 1.0), 0.0)
    return jax.tree_util.tree_map(lambda g: scale * g, grads)


def sam_objective(objective: Objective, rho_default: float, normalized: bool) -> Objective:
    """(θ, X, y, hp) ↦ L(θ + sg(ε(θ))): its gradient at θ is ∇L(θ + ε), the SAM direction."""
    grad = jax.grad(objective)

    def perturbed(params, X, y, hp):
        eps = ascent(grad(params, X, y, hp), hp.get("rho", rho_default), normalized)
        eps = jax.lax.stop_gradient(eps)
        return objective(jax.tree_util.tree_map(jnp.add, params, eps), X, y, hp)

    return perturbed


@dataclass(frozen=True)
class SAM(StepOptimizer):
    """SAM with radius ρ: full batch (``variant="n"``) or one sample per step (``variant="1"``).

    Attributes:
      rho: ρ > 0, the ascent radius (``hp["rho"]`` overrides it).
      variant: "n" (the engine's batch, full by default) or "1" (batch size 1).
      unnormalized: ascend by ρ∇L instead of ρ∇L/‖∇L‖.
    """

    rho: float = 0.05
    variant: str = "n"
    unnormalized: bool = False
    name: ClassVar[str] = "sam"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("rho", float, 0.05, "ascent radius ρ (0: plain GD, the control)", low=0.0),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.rho, (int, float)) and math.isfinite(self.rho) and self.rho > 0):
            raise InputError(f"SAM radius rho must be a positive number, got {self.rho!r}")
        if self.variant not in VARIANTS:
            raise InputError(f"unknown SAM variant '{self.variant}'; valid: n (full batch), 1 (one sample)")
        if self.variant == "1":
            if self.batch_size not in (None, 1):
                raise InputError(f"1-SAM takes one sample per step; got batch size {self.batch_size}")
            object.__setattr__(self, "batch_size", 1)

    def modify_objective(self, objective: Objective) -> Objective:
        return sam_objective(objective, float(self.rho), not self.unnormalized)


register_optimizer("sam", SAM)
