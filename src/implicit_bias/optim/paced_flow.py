"""Gradient flow with a per-configuration clock: dθ/dt = −c ∇L(θ), c = ``speed`` > 0.

The path is the gradient flow's, reparameterized by t ↦ c t; a sweep can give each configuration the clock
that keeps its stiffness comparable (a diagonal network from a large scale is stiff at t = 0), so one
vmapped implicit solve serves scales that differ by orders of magnitude. At time T configuration m has
followed the flow to c_m T.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import Objective
from implicit_bias.optim.flow import Flow


@dataclass(frozen=True)
class PacedFlow(Flow):
    """Gradient flow with its clock run at ``speed`` c: dθ/dt = −c∇L (the same path, time rescaled by c)."""

    speed: float = 1.0
    name: ClassVar[str] = "paced-flow"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("speed", float, 1.0, "clock speed c of dθ/dt = −c∇L", low=0.0, low_open=True),
    )

    def modify_objective(self, objective: Objective) -> Objective:
        def paced(params, X, y, hp):
            return self.hparam(hp, "speed") * objective(params, X, y, hp)

        return paced


register_optimizer("paced-flow", PacedFlow)
