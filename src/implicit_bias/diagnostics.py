"""Why a run did not do what was asked: one line naming the cause and the remedy.

Gradient flow is integrated by an adaptive ODE solver that may stop before the horizon
(``solver_ok`` false). The causes told apart here, from what the run itself recorded:

* no progress from the start: the loss and the parameters barely moved although the solver spent
  its step budget: the vector field is not smooth at the starting point (an activation's kink,
  e.g. a ReLU-type neuron started at w = 0), where adaptive steps shrink without end;
* step budget spent while moving: a stiff problem or a long horizon for an explicit solver;
* an early stop with budget left: the step size underflowed or a value became non-finite.
"""

from __future__ import annotations

import numpy as np

#: relative change of the loss below which a run counts as not having moved.
NO_PROGRESS = 1e-3


def flow_failure(*, solver: str, solver_steps: int, max_steps: int, loss_start: float, loss_end: float,
                 explicit: bool) -> str:
    """One line: why the ODE solver stopped before the horizon, and what to do instead."""
    moved = not (np.isfinite(loss_end) and abs(loss_start - loss_end) <= NO_PROGRESS * max(abs(loss_start), 1e-300))
    if solver_steps >= max_steps and not moved:
        return (f"the ODE solver ({solver}) spent its {max_steps} steps without moving from the starting point: the "
                "gradient field is not smooth there (e.g. an activation's kink at the initial point, such as w = 0 "
                "for relu or leaky-relu), so this is not a gradient-flow limit; use --optimizer gd with a small --step-size")
    if solver_steps >= max_steps:
        remedy = ("try --solver kvaerno5 (implicit, for stiff problems), a larger --max-steps or a shorter --time"
                  if explicit else "try a larger --max-steps or a shorter --time")
        return f"the ODE solver ({solver}) ran out of its {max_steps}-step budget before the horizon: {remedy}"
    return (f"the ODE solver ({solver}) stopped early after {solver_steps} steps (step size underflow or a "
            "non-finite value); try --optimizer gd with a small --step-size, or another --solver")
