"""Gradient flow dθ/dt = −∇L(θ), integrated by diffrax with adaptive steps.

``time_change="loss"`` integrates dθ/ds = −∇L/L = −∇ log L instead: the same path
reparameterized by ds = L dt, which makes the log t horizon of exp-tailed losses reachable.
Explicit solvers (Tsit5, Dopri8) or implicit ones for stiff problems (Kvaerno5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import diffrax

from implicit_bias.errors import InputError

SOLVERS = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "kvaerno5": diffrax.Kvaerno5,
}


@dataclass(frozen=True)
class Flow:
    """Gradient flow to time T with an adaptive ODE solver.

    Attributes:
      solver: one of tsit5, dopri5, dopri8 (explicit) or kvaerno5 (implicit, for stiff problems).
      rtol, atol: the PID controller's tolerances.
      time_change: None, or "loss" to integrate the loss-normalized flow.
      max_steps: solver step budget; a solve that runs out is reported as not converged.
    """

    solver: str = "tsit5"
    rtol: float = 1e-10
    atol: float = 1e-12
    time_change: str | None = None
    max_steps: int = 200_000
    name: ClassVar[str] = "flow"
    kind: ClassVar[str] = "flow"
    batch_size: ClassVar[None] = None

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise InputError(f"unknown ODE solver '{self.solver}'; valid: {', '.join(SOLVERS)}")
        if self.time_change not in (None, "loss"):
            raise InputError(f"time_change must be None or 'loss', got {self.time_change!r}")
        if not (self.rtol > 0 and self.atol > 0):
            raise InputError("rtol and atol must be positive")

    @property
    def uses_log_loss(self) -> bool:
        return self.time_change == "loss"

    def make_solver(self) -> diffrax.AbstractSolver:
        return SOLVERS[self.solver]()

    def describe(self) -> dict:
        return {"name": self.name, "solver": self.solver, "rtol": self.rtol, "atol": self.atol,
                "time_change": self.time_change}
