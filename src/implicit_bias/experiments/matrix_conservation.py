"""Balancedness is conserved: W_{j+1}ᵀW_{j+1} − W_j W_jᵀ is constant under gradient flow, O(h²) per GD step.

For W = W_D ⋯ W_1 and any loss ℓ(W), the flow Ẇ_j = −W_{j+1:}ᵀ ∇ℓ W_{:j−1}ᵀ gives
d/dt (W_{j+1}ᵀW_{j+1}) = d/dt (W_j W_jᵀ) (both equal −W_{j+1}ᵀ G_{j+1} − G_{j+1}ᵀ W_{j+1}-type
terms that cancel), so C_j = W_{j+1}ᵀW_{j+1} − W_j W_jᵀ (k×k) never moves. One GD step of size
h changes it by exactly h²(G_{j+1}ᵀG_{j+1} − G_j G_jᵀ), G_j = ∂L/∂W_j: the first-order terms cancel
and the drift up to a fixed time T is O(h) (T/h steps of O(h²)).

Measured from an unbalanced Gaussian initialization (C_j(0) of order one): the flow (Tsit5
at tight tolerance) keeps C_j to the solver's accuracy while the factors move by O(1); GD at
step sizes h, h/2, h/4, ... (one compiled sweep) drifts with a fitted per-step slope ≈ 2 in h.

References: Arora, Cohen, Hazan 2018 (On the optimization of deep networks: implicit acceleration
by overparameterization); Du, Hu, Lee 2018 (Algorithmic regularization in learning deep homogeneous
models: layers are automatically balanced).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax.numpy as jnp
import numpy as np
import pandas as pd

from implicit_bias import losses, optim
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.experiments.registry import Entry
from implicit_bias.metrics import fit_loglog_slope
from implicit_bias.models.factorized import FactorizedModel, balance_gaps
from implicit_bias.problems.matrix import matrix_sensing
from implicit_bias.results import Result, at_least, at_most, close_to, is_true


@dataclass(frozen=True)
class Config:
    """Sensing problem, depth, Gaussian init scale ‖W(0)‖_F, flow horizon and the GD step sizes."""

    size: int = 16
    rank: int = 2
    n_measurements: int = 100
    depth: int = 4
    init_scale: float = 1.0
    time_horizon: float = 5.0
    step_sizes: tuple[float, ...] = (0.02, 0.01, 0.005, 0.0025, 0.00125)
    rtol: float = 1e-11
    seed: int = 0


def _record(model: FactorizedModel):
    def record(params, hp, data):
        f = model.predict(params, data["X"])
        out = {"loss": losses.square.value(f, data["y"]), "log_loss": losses.square.log_value(f, data["y"])}
        for j, C in enumerate(balance_gaps(params)):
            out[f"C{j + 1}"] = C
        for j, Wj in enumerate(params):
            out[f"norm_W{j + 1}"] = jnp.linalg.norm(Wj)
        out["W1"] = params[0]
        return out

    return record


def _drift(records: dict, depth: int) -> np.ndarray:
    """max_j ‖C_j(t) − C_j(0)‖_F / ‖C_j(0)‖_F at every record, shape (M, R)."""
    out = []
    for j in range(1, depth):
        C = records[f"C{j}"]
        out.append(np.linalg.norm(C - C[:, :1], axis=(-2, -1)) / np.linalg.norm(C[:, 0], axis=(-2, -1))[:, None])
    return np.max(np.stack(out), axis=0)


def _figure(t_flow, drift_flow, gd_curves, hs, drift_T, per_step):
    from implicit_bias.plotting import annotate_slope, color, log_axis_label, new_figure

    fig, axes = new_figure(ncols=2, width=10.0, height=4.0)
    keep = t_flow > 0
    axes[0].semilogy(t_flow[keep], np.maximum(drift_flow[keep], 1e-17), color="black", label="gradient flow")
    for i, (t, d) in enumerate(gd_curves):
        k = t > 0
        axes[0].semilogy(t[k], np.maximum(d[k], 1e-17), color=color(i), label=f"GD h = {hs[i]:g}")
    axes[0].set_xlabel("time t = steps × h")
    axes[0].set_ylabel(log_axis_label("max_j ‖C_j(t) − C_j(0)‖ / ‖C_j(0)‖"))
    axes[0].legend(fontsize=8)
    axes[1].loglog(hs, per_step, marker="o", color=color(0), label="drift per step at time T")
    annotate_slope(axes[1], hs, per_step, 2.0, "slope 2")
    axes[1].loglog(hs, drift_T, marker="s", color=color(1), label="total drift at time T")
    annotate_slope(axes[1], hs, drift_T, 1.0, "slope 1", linestyle="--")
    axes[1].set_xlabel(log_axis_label("step size h"))
    axes[1].set_ylabel(log_axis_label("relative drift of C_j"))
    axes[1].legend(fontsize=8)
    fig.suptitle("W_{j+1}ᵀW_{j+1} − W_jW_jᵀ: conserved by the flow, O(h²) per GD step")
    return fig


def run(config: Config) -> Result:
    d, D = config.size, config.depth
    problem = matrix_sensing((d, d), config.rank, config.n_measurements, normalization="frobenius", n_test=0,
                             seed=config.seed)
    model = FactorizedModel((d, d), D, init_kind="gaussian", init_scale=config.init_scale, kind="sensing")
    record = _record(model)
    T = config.time_horizon
    flow = train(model, losses.square, optim.Flow(solver="tsit5", rtol=config.rtol, atol=1e-14), problem,
                 time_horizon=T, hparams={"seed": config.seed}, n_records=32, record=record, description="flow")
    drift_flow = _drift(flow.records, D)[0]
    moved = max(float(np.max(np.abs(flow.records[f"norm_W{j + 1}"][0] / flow.records[f"norm_W{j + 1}"][0, 0] - 1)))
                for j in range(D))
    W1 = flow.records["W1"][0]
    moved = max(moved, float(np.max(np.linalg.norm(W1 - W1[0], axis=(1, 2)) / np.linalg.norm(W1[0]))))

    hs = np.sort(np.asarray(config.step_sizes, dtype=float))[::-1]
    n_steps = np.rint(T / hs).astype(np.int64)
    if np.any(np.abs(n_steps * hs - T) > 1e-9 * T):
        raise InputError(f"every step size must divide the time horizon {T:g} (got {tuple(hs.tolist())})")
    grid = np.unique(np.concatenate([np.linspace(0, n_steps[-1], 200).astype(np.int64), n_steps]))
    gd = train(model, losses.square, optim.GD(), problem, steps=int(n_steps[-1]), record_steps=grid,
               hparams={"step_size": hs, "seed": np.full(len(hs), config.seed)}, record=record, description="GD sweep")
    drift_gd = _drift(gd.records, D)
    steps = np.asarray(gd.steps)
    drift_T = np.array([drift_gd[i, np.flatnonzero(steps == n_steps[i])[0]] for i in range(len(hs))])
    per_step = drift_T / n_steps
    gd_curves = [(steps[steps <= n_steps[i]] * hs[i], drift_gd[i, steps <= n_steps[i]]) for i in range(len(hs))]
    slope_step, slope_total = fit_loglog_slope(hs, per_step), fit_loglog_slope(hs, drift_T)

    claims = [
        at_most("gradient flow: max_t max_j ‖C_j(t) − C_j(0)‖_F / ‖C_j(0)‖_F", float(drift_flow.max()), 1e-7,
                note=f"Tsit5 at rtol {config.rtol:g}"),
        is_true("gradient flow: the ODE solver finished", bool(flow.solver_ok.all()), kind="guard"),
        at_least("gradient flow: the factors themselves move (max relative change)", moved, 0.1, kind="sanity"),
        at_least("gradient flow: the loss falls by 10× (a real trajectory)",
                 float(flow.records["loss"][0, 0] / flow.records["loss"][0, -1]), 10.0, kind="sanity"),
        close_to("GD: slope of the total drift at time T against h (O(h²) per step, O(h) in all)", slope_total, 1.0,
                 0.15, note=f"the per-step slope is this one plus 1 ({slope_step:.3f}): the same measurement"),
        at_least("GD: the drift is measurable (largest h, relative)", float(drift_T[0]), 1e-6, kind="sanity"),
        at_most("GD: no configuration diverged", float(gd.diverged.sum()), 0.0, kind="guard"),
    ]
    notes = [f"flow: max drift {drift_flow.max():.2e} over t ≤ {T:g} ({int(flow.solver_steps[0])} solver steps), "
             f"loss {flow.records['loss'][0, 0]:.3g} → {flow.records['loss'][0, -1]:.3g}",
             "GD drift of C_j at time T: " + ", ".join(f"h={h:g}: {x:.2e}" for h, x in zip(hs, drift_T)),
             f"fitted slopes: per step {slope_step:.3f}, total {slope_total:.3f}"]
    frames = [flow.metrics_frame(series="flow", metrics=("loss",)), gd.metrics_frame(series="gd", metrics=("loss",))]
    return Result("matrix-conservation", asdict(config), claims, pd.concat(frames, ignore_index=True),
                  figures={"balance_drift": _figure(np.asarray(flow.steps), drift_flow, gd_curves, hs, drift_T, per_step)},
                  notes=notes)


ENTRY = Entry(
    name="matrix-conservation",
    summary="W_{j+1}ᵀW_{j+1} − W_jW_jᵀ is conserved by gradient flow and drifts by O(h²) per GD step",
    description=("In a deep matrix factorization the differences of consecutive Gram matrices are invariants of "
                 "gradient flow, which is why small initializations stay balanced and the end-to-end dynamics close. "
                 "Gradient descent breaks the invariance only at second order in the step size, measured here by a "
                 "fitted slope. Scale: a small stand-in in both modes (16×16 sensing, depth 4 full; 8×8, depth 3 "
                 "quick): the law is exact at any size."),
    paper="Arora, Cohen, Hazan 2018; Du, Hu, Lee 2018, Algorithmic regularization in learning deep homogeneous models",
    run=run,
    full=Config(),
    quick=Config(size=8, n_measurements=30, depth=3, step_sizes=(0.02, 0.01, 0.005, 0.0025), time_horizon=5.0),
)
