"""Early stopping on noisy labels: deeper diagonal networks have a wider window of good stopping times.

GD on w = u^N − v^N (u0 = v0 = w0^{1/N}, the same end-to-end init scale w0 for every depth,
same step size) with noisy labels y = Xw* + σε: the estimation error ‖w(t) − w*‖² first falls
while the k signal coordinates are picked up, then rises as the small coordinates slowly fit
the noise, up to the interpolating limit of training — the exact gradient-flow limit
q_alpha_interpolator(X, y, w0^{1/N}, depth=N), which GD with this small a step approaches.
Stopping early beats training to the end, and the deeper the network the wider (in
iterations, and as a ratio of stopping times) the window in which the error stays low.

References: Li, Nguyen, Hegde, Wong, "Implicit sparse regularization: the impact of depth and early
stopping", NeurIPS 2021 (their setting: n = 100, d = 200, k = 5, σ = 0.5, w0 = 1e-5).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax.numpy as jnp
import numpy as np
import pandas as pd

from implicit_bias import losses, optim
from implicit_bias.engine import train
from implicit_bias.experiments._seeds import over_seeds
from implicit_bias.experiments.registry import Entry
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.problems import sparse_regression
from implicit_bias.references import q_alpha_interpolator
from implicit_bias.results import Result, at_least, at_most, close_to, is_true
from implicit_bias.sweeps import log_spaced_steps


@dataclass(frozen=True)
class EstimationRecord:
    """Records the loss and the relative estimation error ‖w − w*‖²/‖w*‖² (hashable: w* as a tuple)."""

    model: DiagonalModel
    w_star: tuple[float, ...]

    def __call__(self, params, hp, data):
        w = self.model.end_to_end(params)
        w_star = jnp.asarray(self.w_star)
        return {"loss": losses.square.value(data["X"] @ w, data["y"]),
                "error": jnp.sum((w - w_star) ** 2) / jnp.sum(w_star ** 2)}


@dataclass(frozen=True)
class Config:
    """Li et al.'s setting; ``steps`` GD steps read per depth (one program runs the longest), the window's level."""

    n_samples: int = 100
    n_features: int = 200
    sparsity: int = 5
    noise: float = 0.5
    seed: int = 0
    seeds: tuple[int, ...] = ()
    depths: tuple[int, ...] = (2, 3, 5)
    init_scale: float = 1e-5
    step_size: float = 0.05
    steps: tuple[int, ...] = (2000, 12000, 40000)
    n_records: int = 300
    window_level: float = 0.01


def window(steps: np.ndarray, error: np.ndarray, level: float) -> tuple[int, int]:
    """(first, last) recorded step with error ≤ level around the minimum, (0, 0) if the minimum is above it."""
    i = int(np.argmin(error))
    if error[i] > level:
        return 0, 0
    lo, hi = i, i
    while lo > 0 and error[lo - 1] <= level:
        lo -= 1
    while hi < len(error) - 1 and error[hi + 1] <= level:
        hi += 1
    return int(steps[lo]), int(steps[hi])


def _figure(curves, limits, windows, config):
    from implicit_bias.plotting import color, log_axis_label, new_figure

    fig, ax = new_figure()
    for i, depth in enumerate(config.depths):
        steps, err = curves[depth]
        ax.loglog(steps[1:], err[1:], color=color(i), label=f"depth N = {depth}")
        ax.axhline(limits[depth], color=color(i), linestyle=":", linewidth=1)
        lo, hi = windows[depth]
        if hi > lo:
            ax.axvspan(lo, hi, color=color(i), alpha=0.12)
    ax.axhline(config.window_level, color="black", linestyle="--", linewidth=1, label=f"window level {config.window_level:g}")
    ax.set_xlabel(log_axis_label("GD iterations"))
    ax.set_ylabel(log_axis_label("‖w − w*‖² / ‖w*‖²"))
    ax.set_title(f"Noisy labels (σ = {config.noise:g}): U-shaped error; dotted: the interpolating limit")
    ax.legend(fontsize="small")
    return {"early_stopping": fig}


def run(config: Config) -> Result:
    """Every seed of ``config.seeds`` (worst case per claim), or ``config.seed`` alone when it is empty."""
    return over_seeds(_run_one, config)


def _run_one(config: Config) -> Result:
    problem = sparse_regression(config.n_samples, config.n_features, config.sparsity, noise=config.noise,
                                n_test=0, seed=config.seed)
    X, y, w_star = problem.X, problem.y, problem.w_star
    claims, frames, curves, limits, windows, notes = [], [], {}, {}, {}, []
    diverged = False
    depths = np.asarray(config.depths)
    alphas = config.init_scale ** (1.0 / depths)
    grids = [log_spaced_steps(steps, config.n_records) for steps in config.steps]
    model = DiagonalModel(config.n_features, depth=int(depths.max()), param="power")
    # every depth in ONE program (the depth is a swept hyper-parameter), each read up to its own budget
    run_all = train(model, losses.square, optim.GD(), problem, steps=max(config.steps), step_size=config.step_size,
                    hparams={"depth": depths, "init_scale": alphas}, record_steps=np.unique(np.concatenate(grids)),
                    record=EstimationRecord(model, tuple(w_star.tolist())), description="GD, every depth")
    for i, (depth, steps, alpha, grid) in enumerate(zip(config.depths, config.steps, alphas, grids)):
        out = run_all.select([i])
        keep = np.isin(run_all.steps, grid)
        frame = out.metrics_frame(series=f"depth-{depth}", metrics=("loss", "error"))
        frames.append(frame[frame.step.isin(grid)])
        err, rec_steps = out.records["error"][0][keep], out.steps[keep]
        limit_w = q_alpha_interpolator(X, y, alpha, depth=depth, rtol=1e-10).solution
        limits[depth] = float(np.sum((limit_w - w_star) ** 2) / np.sum(w_star ** 2))
        curves[depth], windows[depth] = (rec_steps, err), window(rec_steps, err, config.window_level)
        best, i_best = float(err.min()), int(np.argmin(err))
        claims.append(at_least(f"depth {depth}: U-shape, error at init / minimum along training", float(err[0] / best), 10.0))
        claims.append(at_least(f"depth {depth}: U-shape, error at the last iterate (step {rec_steps[-1]}) / minimum",
                               float(err[-1] / best), 3.0, note=f"minimum at step {rec_steps[i_best]}"))
        claims.append(at_most(f"depth {depth}: early-stopped error / error of the interpolating limit of training",
                              best / limits[depth], 0.2))
        if out.diverged.any() and out.diverged_at[0] <= steps:
            diverged = True
            notes.append(f"depth {depth}: GD diverged")
    widths = [windows[d][1] - windows[d][0] for d in config.depths]
    ratios = [np.log10(windows[d][1] / windows[d][0]) if windows[d][0] > 0 else 0.0 for d in config.depths]
    claims.append(close_to(f"the window (error ≤ {config.window_level:g}) widens with depth on a time axis normalised "
                           "per depth: log10(t_end/t_start) grows between consecutive depths (fraction of pairs)",
                           float(np.mean(np.diff(ratios) > 0)), 1.0, 0.0,
                           note=f"log10 ratios {[round(r, 3) for r in ratios]}; a ratio of stopping times does not "
                                f"change when a depth runs uniformly slower (widths in iterations {widths}, which do)"))
    claims.append(at_least(f"the window widens with depth: log10(t_end/t_start) of depth {config.depths[-1]} minus "
                           f"depth {config.depths[0]}", float(ratios[-1] - ratios[0]), 0.1,
                           note=f"log10 ratios {[round(r, 3) for r in ratios]}"))
    claims.append(is_true("no GD run diverged within its steps", not diverged, kind="guard"))
    notes.append(f"same end-to-end init w0 = {config.init_scale:g} for every depth (layer scale w0^(1/N)) and the "
                 f"same step size {config.step_size:g}; limits of training (Q_α references): "
                 + ", ".join(f"N={d}: {limits[d]:.3f}" for d in config.depths))
    figures = _figure(curves, limits, windows, config)
    return Result("early-stopping", asdict(config), claims, pd.concat(frames, ignore_index=True), figures, notes=notes)


ENTRY = Entry(
    name="early-stopping",
    summary="noisy labels: the error of GD on depth-N diagonal networks is U-shaped, and depth widens the stopping window",
    description=("With noisy labels, gradient descent on a diagonal network first recovers the sparse signal and then "
                 "slowly fits the noise, so stopping early beats training to the interpolating limit. Deeper "
                 "networks started at the same end-to-end scale keep the error low over a wider window, measured as a "
                 "ratio of stopping times so that a uniformly slower depth does not count. Scale: full mode runs Li "
                 "et al.'s setting (n = 100, d = 200, k = 5, σ = 0.5, w0 = 1e-5) on three seeds (worst case claimed); quick mode records "
                 "fewer points."),
    paper="Li, Nguyen, Hegde, Wong 2021, Implicit sparse regularization: the impact of depth and early stopping",
    run=run,
    full=Config(seeds=(0, 1, 2)),
    quick=Config(n_records=200),
)
