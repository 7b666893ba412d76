"""Large steps find flat minima: GD's final sharpness stays below 2/h, and SGD on a diagonal network gets sparser.

GD with step h cannot settle where the loss's sharpness λ_max(∇²L) exceeds 2/h (the iteration
is linearly unstable there). Sweeping h on a small tanh MLP: for small h GD lands where the flow
does; once 2/h drops below that sharpness, training runs at the edge of stability and ends with
λ_max ≈ 2/h, so the final sharpness falls as h grows (Cohen et al. 2021). On a diagonal network,
SGD with larger steps ends at interpolators of smaller ℓ1 norm — closer to the min-ℓ1 interpolator —
and smaller Hessian trace (Even, Pesme, Gunasekar, Flammarion 2023; for full-batch GD the same
paper shows large steps can hinder sparsity, which ``compare_gd`` measures).

Sharpness is the top Hessian eigenvalue by Lanczos on Hessian-vector products, recorded along
training at log-spaced steps; the trace is Hutchinson's estimate (see :mod:`implicit_bias.metrics.curvature`).

References: Cohen, Kaur, Li, Kolter, Talwalkar, "Gradient descent on neural networks typically
occurs at the edge of stability", ICLR 2021; Even, Pesme, Gunasekar, Flammarion, "(S)GD over
diagonal linear networks: implicit regularisation, large stepsizes and edge of stability", NeurIPS 2023.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.experiments._diagonal_outcomes import diagonal_outcomes
from implicit_bias.experiments.registry import Entry
from implicit_bias.metrics.curvature import record
from implicit_bias.metrics.rates import fraction_nonincreasing
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.mlp import MLP
from implicit_bias.optim import GD, SGD
from implicit_bias.problems import Problem, sparse_regression
from implicit_bias.problems.smooth import smooth_regression
from implicit_bias.references import min_l1_interpolator
from implicit_bias.results import Result, at_least, at_most, close_to
from implicit_bias.sweeps import grid


def means_by(values: np.ndarray, keys: np.ndarray, levels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the configurations with each key level (only those in ``keep``)."""
    return np.array([values[(keys == v) & keep].mean() if np.any((keys == v) & keep) else np.nan for v in levels])


@dataclass(frozen=True)
class Config:
    """MLP step-size sweep (GD, ``step_sizes``) and diagonal-network step-size sweep (SGD, ``diag_step_sizes``).

    ``interpolation``: guard on the diagonal runs (final / initial loss; a residual of 1% of ‖y‖, well below
    the ≥ 10% effects claimed); ``mlp_settled``: guard on the stable MLP runs (final / initial loss).
    """

    mlp_samples: int = 32
    mlp_features: int = 5
    mlp_width: int = 32
    mlp_steps: int = 10_000
    step_sizes: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    mlp_seeds: int = 3
    diag_samples: int = 20
    diag_features: int = 40
    diag_sparsity: int = 3
    init_scale: float = 0.1
    diag_batch_size: int = 1
    diag_steps: int = 20_000
    diag_step_sizes: tuple[float, ...] = (0.01, 0.02, 0.04, 0.06, 0.08)
    diag_seeds: int = 3
    compare_gd: bool = True
    trace_samples: int = 256
    eos_tolerance: float = 0.1
    interpolation: float = 1e-4
    mlp_settled: float = 1e-2
    seed: int = 0


def _mlp_sweep(config: Config):
    problem = smooth_regression(config.mlp_samples, config.mlp_features, config.seed)
    model = MLP(config.mlp_features, widths=(config.mlp_width,), activation="tanh")
    hp = grid(step_size=np.asarray(config.step_sizes), seed=np.arange(config.mlp_seeds))
    out = train(model, losses.square, GD(), problem, steps=config.mlp_steps, hparams=hp, n_records=16,
                record=record(model, losses.square), description="mlp step-size sweep")
    return out


def _diag_sweep(config: Config, batch_size: int | None):
    reg = sparse_regression(config.diag_samples, config.diag_features, config.diag_sparsity, n_test=1,
                            seed=config.seed)
    problem = Problem(reg.X, reg.y, name="sparse regression")
    model = DiagonalModel(config.diag_features, init_scale=config.init_scale)
    opt = SGD(batch_size=batch_size) if batch_size and batch_size < problem.n_samples else GD()
    hp = grid(step_size=np.asarray(config.diag_step_sizes), seed=np.arange(config.diag_seeds))
    out = train(model, losses.square, opt, problem, steps=config.diag_steps, hparams=hp, n_records=16,
                description=f"diagonal step-size sweep ({opt.name})")
    return out, diagonal_outcomes([out], problem, model, config.trace_samples)[0], hp


def _figures(mlp, hs, sharp, stable, diag_h, diag, config):
    from implicit_bias.plotting import color, log_axis_label, new_figure

    fig1, ax = new_figure()
    for j, h in enumerate(hs):
        sel = np.flatnonzero((mlp.hparams["step_size"] == h) & stable)[:1]
        for i in sel:
            ax.semilogx(np.maximum(mlp.steps, 1), mlp.records["sharpness"][i], color=color(j), label=f"h = {h:g}")
            ax.axhline(2 / h, color=color(j), linestyle=":", linewidth=1)
    ax.set_ylim(0, 1.4 * float(np.nanmax(mlp.records["sharpness"][stable])))
    ax.set_xlabel(log_axis_label("GD step"))
    ax.set_ylabel("sharpness λ_max(∇²L)")
    ax.set_title("Sharpness along training; dotted: 2/h (edge of stability)")
    ax.legend(fontsize="small", ncol=2)

    fig2, ax = new_figure()
    ax.loglog(mlp.hparams["step_size"][stable], sharp[stable], "o", color=color(0), label="final sharpness (runs)")
    grid_h = np.geomspace(min(hs), max(hs), 50)
    ax.loglog(grid_h, 2 / grid_h, color="black", linestyle=":", label="2/h")
    ax.set_xlabel(log_axis_label("step size h"))
    ax.set_ylabel(log_axis_label("final sharpness"))
    ax.set_title("tanh MLP, GD: larger steps end at flatter minima")
    ax.legend()

    fig3, axes = new_figure(ncols=2)
    for i, (label, out) in enumerate(diag.items()):
        axes[0].plot(diag_h, out["l1_mean"], marker="o", color=color(i), label=label)
        axes[1].plot(diag_h, out["trace_mean"], marker="o", color=color(i), label=label)
    axes[0].axhline(diag[next(iter(diag))]["l1_min"], color="black", linestyle=":", label="min-ℓ1 interpolator")
    axes[0].set_ylabel("‖w‖₁ of the solution (mean over seeds)")
    axes[1].set_ylabel("Hessian trace at the solution")
    for ax in axes:
        ax.set_xlabel("step size h")
        ax.legend(fontsize="small")
    axes[0].set_title("Diagonal network: ℓ1 norm")
    axes[1].set_title("Diagonal network: flatness")
    return {"sharpness_along_training": fig1, "final_sharpness": fig2, "diagonal_sparsity": fig3}


def run(config: Config) -> Result:
    claims, notes = [], []
    mlp = _mlp_sweep(config)
    hs = np.asarray(config.step_sizes)
    h_all = mlp.hparams["step_size"]
    stable = ~mlp.diverged
    sharp = mlp.records["sharpness"][:, -1]
    mean_sharp = means_by(sharp, h_all, hs, stable)
    small = mean_sharp[0]
    eos = (2 / hs < small) & np.isfinite(mean_sharp)
    claims.append(at_most("MLP: every stable run has settled (max final / initial loss)",
                          float(np.max(mlp.final_loss[stable] / mlp.records["loss"][stable, 0])), config.mlp_settled,
                          kind="guard"))
    claims.append(at_most("MLP: max over stable runs of h·λ_max(final)/2 (stability: λ ≤ 2/h)",
                          float(np.max(h_all[stable] * sharp[stable] / 2)), 1 + config.eos_tolerance, kind="sanity",
                          note="the linear stability condition any settled GD run satisfies; the edge-of-stability "
                               "result is the lower bound below"))
    largest = int(np.flatnonzero(np.isfinite(mean_sharp))[-1])
    claims.append(at_most(f"MLP: mean final sharpness at h = {hs[largest]:g} over that at h = {hs[0]:g} "
                          "(at least 20% flatter)", float(mean_sharp[largest] / small), 0.8))
    # from the largest step below the edge (2/h ≥ λ at the smallest step) through every step beyond it
    onset = max(int(np.argmax(eos)) - 1, 0) if eos.any() else len(hs)
    tail = mean_sharp[onset:][np.isfinite(mean_sharp[onset:])]
    claims.append(close_to(f"MLP: final sharpness falls as h grows past 2/h = λ at h = {hs[0]:g} (fraction of "
                           f"steps in h, {len(tail)} step sizes)", fraction_nonincreasing(tail) if len(tail) > 2
                           else float("nan"), 1.0, 0.0))
    at_edge = stable & np.isin(h_all, hs[eos])
    claims.append(at_least("MLP: min over edge-of-stability runs of h·λ_max(final)/2 (they end at the edge)",
                           float(np.min(h_all[at_edge] * sharp[at_edge] / 2)) if at_edge.any() else float("nan"),
                           0.8))
    if mlp.diverged.any():
        notes.append(f"MLP: {int(mlp.diverged.sum())} run(s) diverged (flagged, excluded): "
                     f"h = {sorted(set(h_all[mlp.diverged].round(4).tolist()))}")

    diag, frames = {}, [mlp.metrics_frame(series="mlp-gd")]
    diag_h = np.asarray(config.diag_step_sizes)
    l1_min = float(np.abs(min_l1_interpolator(*_diag_data(config)).solution).sum())
    runs = [(f"SGD (B = {config.diag_batch_size})", config.diag_batch_size)]
    if config.compare_gd:
        runs.append(("GD", None))
    for label, batch in runs:
        out, res, hp = _diag_sweep(config, batch)
        keep = ~res["diverged"]
        diag[label] = {"l1_mean": means_by(res["l1_norm"], hp["step_size"], diag_h, keep),
                       "dist_mean": means_by(res["distance_to_min_l1"], hp["step_size"], diag_h, keep),
                       "trace_mean": means_by(res["hessian_trace"], hp["step_size"], diag_h, keep),
                       "l1_min": l1_min,
                       "res": res, "hp": hp}
        frames.append(pd.DataFrame({"series": f"diagonal-{'sgd' if batch else 'gd'}", "config": np.arange(len(keep)),
                                    "step": config.diag_steps, "metric": "l1_norm", "value": res["l1_norm"],
                                    "step_size": hp["step_size"], "seed": hp["seed"]}))
        frames.append(pd.DataFrame({"series": f"diagonal-{'sgd' if batch else 'gd'}", "config": np.arange(len(keep)),
                                    "step": config.diag_steps, "metric": "hessian_trace", "value": res["hessian_trace"],
                                    "step_size": hp["step_size"], "seed": hp["seed"]}))
    sgd = diag[runs[0][0]]
    res, hp = sgd["res"], sgd["hp"]
    keep = ~res["diverged"]
    claims.append(at_most("diagonal, SGD: every run interpolates (max final / initial loss)",
                          float(np.max(res["final_loss"][keep] / res["initial_loss"][keep])), config.interpolation,
                          kind="guard"))
    claims.append(close_to(f"diagonal, SGD: mean ‖w‖₁ falls as h grows (fraction of steps in h, "
                           f"h = {diag_h.min():g}..{diag_h.max():g})", fraction_nonincreasing(sgd["l1_mean"]),
                           1.0, 0.0))
    claims.append(at_most(f"diagonal, SGD: distance to the min-ℓ1 interpolator at h = {diag_h.max():g} over that at "
                          f"h = {diag_h.min():g}", float(sgd["dist_mean"][-1] / sgd["dist_mean"][0]), 0.9))
    claims.append(close_to("diagonal, SGD: mean Hessian trace falls as h grows (fraction of steps in h)",
                           fraction_nonincreasing(sgd["trace_mean"]), 1.0, 0.0))
    claims.append(at_most("diagonal, SGD: max over runs of h·λ_max(final)/2",
                          float(np.max(hp["step_size"][keep] * res["sharpness"][keep] / 2)), 1 + config.eos_tolerance,
                          kind="sanity"))
    if config.compare_gd:
        gd = diag["GD"]
        notes.append("diagonal, GD (Even et al.: large steps can hinder GD's sparsity): mean ‖w‖₁ by h = "
                     + ", ".join(f"{h:g}: {v:.3f}" for h, v in zip(diag_h, gd["l1_mean"]))
                     + "; SGD: " + ", ".join(f"{h:g}: {v:.3f}" for h, v in zip(diag_h, sgd["l1_mean"])))
    if res["diverged"].any():
        notes.append(f"diagonal, SGD: {int(res['diverged'].sum())} run(s) diverged (excluded)")
    figures = _figures(mlp, hs, sharp, stable, diag_h, diag, config)
    return Result("learning-rate-sharpness", asdict(config), claims, pd.concat(frames, ignore_index=True), figures,
                  notes=notes)


def _diag_data(config: Config) -> tuple[np.ndarray, np.ndarray]:
    reg = sparse_regression(config.diag_samples, config.diag_features, config.diag_sparsity, n_test=1,
                            seed=config.seed)
    return reg.X, reg.y


ENTRY = Entry(
    name="learning-rate-sharpness",
    summary="larger GD steps end at flatter minima (sharpness ≤ 2/h, edge of stability); larger SGD steps sparser",
    description=("A step-size sweep of GD on a tanh MLP, with the top Hessian eigenvalue tracked by Lanczos along "
                 "training, shows the final sharpness pinned at 2/h once the step is large: the step size selects "
                 "flat minima. On a diagonal network SGD with larger steps ends closer to the min-ℓ1 interpolator "
                 "with a smaller Hessian trace. Scale: a small stand-in in both modes (32-sample tanh MLP, 20×40 "
                 "diagonal network), not Cohen et al.'s CIFAR networks."),
    paper="Cohen et al. 2021, Gradient descent on neural networks typically occurs at the edge of stability; "
          "Even, Pesme, Gunasekar, Flammarion 2023, (S)GD over diagonal linear networks",
    run=run,
    full=Config(),
    quick=Config(mlp_steps=5_000, step_sizes=(0.05, 0.3, 0.45, 0.6), mlp_seeds=2, diag_steps=10_000,
                 diag_step_sizes=(0.01, 0.04, 0.08), diag_seeds=2, compare_gd=False, trace_samples=128),
)
