"""GD for the margin of a D-homogeneous model: θ ← θ − h ∇L / (L ρ^{2D−2}), ρ = ‖θ‖ (Lyu & Li 2020's time change).

GD on log L with the step scaled by ρ^{−(2D−2)} discretizes the gradient-flow path reparameterized by
dt = ds / (L ρ^{2D−2}): in s, log(1/L) ∝ ρ^D grows linearly and the direction moves at the rate the soft-min
curvature (∝ ρ^D) allows, so a fixed step stays stable while the flow's time t reaches e^{thousands}.
ρ is the norm of the model's end-to-end vector (for a network, its flattened trainable parameters θ) and D its
homogeneity degree (``model.homogeneity_degree``); the engine binds the model it trains.

Reference: Lyu & Li, "Gradient descent maximizes the margin of homogeneous neural networks", ICLR 2020.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import NOT_AN_OPTION, Objective, StepOptimizer


@dataclass(frozen=True)
class HomogeneousMarginGD(StepOptimizer):
    """GD on log L with the step scaled by ρ^{−(2D−2)} (the model's homogeneity degree D, bound by the engine)."""

    model: Any = field(default=None, kw_only=True, repr=False, metadata=NOT_AN_OPTION)
    name: ClassVar[str] = "margin-gd"
    uses_log_loss: ClassVar[bool] = True

    def bind(self, model: Any) -> "HomogeneousMarginGD":
        return self if self.model is model else dataclasses.replace(self, model=model)

    def modify_objective(self, objective: Objective) -> Objective:
        degree = None if self.model is None else self.model.homogeneity_degree
        if degree is None:
            raise InputError("margin-gd needs a positively homogeneous model (a bias-free ReLU or linear network)")
        power = degree - 1
        end_to_end = self.model.end_to_end

        def scaled(params, X, y, hp):
            rho2 = jnp.sum(end_to_end(params) ** 2)
            return objective(params, X, y, hp) / jax.lax.stop_gradient(rho2 ** power)

        return scaled

    @classmethod
    def example(cls, model: Any) -> "HomogeneousMarginGD | None":
        """Only for models that declare a homogeneity degree."""
        return cls() if model.homogeneity_degree else None


register_optimizer("margin-gd", HomogeneousMarginGD)
