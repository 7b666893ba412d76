"""The outcome of diagonal-network sweeps, shared by the step-size and batch-size entries.

For each run of a sweep and each of its configurations: ‖w‖₁, the distance to the min-ℓ1
interpolator, the sharpness λ_max(∇²L) and the Hessian trace at the final parameters (one compiled
program for the curvature of every run), the initial and final loss and the divergence flag.
"""

from __future__ import annotations

import jax
import numpy as np

from implicit_bias import losses
from implicit_bias.metrics.curvature import curvature_at
from implicit_bias.problems import Problem
from implicit_bias.references import min_l1_interpolator


def diagonal_outcomes(outs: list, problem: Problem, model, trace_samples: int) -> list[dict[str, np.ndarray]]:
    """Per run and configuration: ‖w‖₁, distance to the min-ℓ1 interpolator, sharpness and Hessian trace.

    The curvature of every run's final parameters is measured in one compiled program.
    """
    w_l1 = min_l1_interpolator(problem.X, problem.y).solution
    params = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, 0), *[o.params for o in outs])
    curv = curvature_at(model, losses.square, params, problem.X, problem.y, trace=True,
                        trace_samples=trace_samples, iterations=30)
    rows, start = [], 0
    for out in outs:
        sl = slice(start, start + out.n_configs)
        start += out.n_configs
        w = out.end_to_end
        rows.append({"l1_norm": np.abs(w).sum(axis=1),
                     "distance_to_min_l1": np.linalg.norm(w - w_l1, axis=1) / np.linalg.norm(w_l1),
                     "sharpness": np.asarray(curv["sharpness"])[sl],
                     "hessian_trace": np.asarray(curv["hessian_trace"])[sl],
                     "final_loss": out.final_loss, "initial_loss": out.records["loss"][:, 0],
                     "diverged": out.diverged})
    return rows
