"""Full-batch SAM minimizes λ_max(∇²L), 1-SAM minimizes tr ∇²L: two algorithms, two different exact minimizers.

On the diagonal network w = u⊙u − v⊙v with L = (1/2n)‖Xw − y‖², normalized SAM keeps bouncing across
the zero-loss manifold and its ascent aligns with the top Hessian eigenvector, so it drifts along the
manifold down λ_max(∇²L); 1-SAM (ascent and descent on one sample) ascends along ∇f_k, whose sample
Hessian has the single eigenvalue ‖∇f_k‖², so it drifts down the mean of those, tr ∇²L (Wen, Ma & Li
2023). On the manifold λ_max(∇²L) = (4/n) λ_max(X diag(u² + v²) Xᵀ) and tr ∇²L = (4/n) Σ_j c_j(u_j² + v_j²)
(:mod:`implicit_bias.metrics.diagonal_curvature`), minimized over interpolators by an SDP and by the
column-weighted ℓ1 LP (:mod:`implicit_bias.references.min_sharpness`).

The data (n = 2, d = 6, Gaussian columns scaled by U[0.5, 2]) are the first generator seed from
``data_seed`` on at which the two minimizers are far apart (relative distance ≥ ``min_separation``) and
the SDP optimum has a simple top eigenvalue (relative gap ≥ 0.1; SAM's drift follows that eigenvector).
Both algorithms run in ONE vmapped program (SAM with a swept batch size: n for full-batch SAM, 1 for
1-SAM), plus GD (ρ = 0) from the same init; every run is finished with the exact noise-free flow from
its last (|u|, |v|), whose limit's curvature is exact (u_j v_j is conserved by the flow).

References: Wen, Ma, Li, "How does sharpness-aware minimization minimize sharpness?", ICLR 2023;
Andriushchenko & Flammarion, "Towards understanding sharpness-aware minimization", ICML 2022;
Foret et al., ICLR 2021.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax.numpy as jnp
import numpy as np
import pandas as pd

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.experiments.registry import Entry
from implicit_bias.metrics.diagonal_curvature import manifold_sharpness
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.optim.sam import SAM
from implicit_bias.problems import Problem
from implicit_bias.references.diagonal_flow import diagonal_flow_finish
from implicit_bias.references.min_sharpness import min_sharpness_interpolator
from implicit_bias.results import Result, at_least, at_most, is_true


@dataclass(frozen=True)
class CurvatureRecord:
    """Records the loss, tr ∇²L (exact) and (4/n) λ_max(X diag(u² + v²) Xᵀ) (exact on the manifold)."""

    model: DiagonalModel

    def __call__(self, params, hp, data):
        X = data["X"]
        n = X.shape[0]
        u, v = params["u"], params["v"]
        a = u * u + v * v
        w = self.model.end_to_end(params)
        return {"loss": losses.square.value(X @ w, data["y"]),
                "trace": 4.0 / n * jnp.sum(jnp.sum(X * X, axis=0) * a),
                "sharpness": 4.0 / n * jnp.linalg.eigvalsh((X * a) @ X.T)[-1]}


@dataclass(frozen=True)
class Config:
    """Data search, init scale, SAM's (h, ρ) for each algorithm, 1-SAM's ascent batch, seeds, steps.

    Full-batch SAM runs at h = ``step_size``, ρ = ``full_rho`` (GD at the same h, ρ = 0); 1-SAM at
    h = ``one_sam_step_size``, ρ = ``one_rho``.

    ``one_sample_batch`` is the batch of the "1-SAM" runs: 1, or n for the negative control (ascent on
    the full batch)."""

    n_samples: int = 2
    n_features: int = 6
    data_seed: int = 0
    min_separation: float = 0.5
    init_scale: float = 0.5
    step_size: float = 0.1
    full_rho: float = 0.03
    one_sam_step_size: float = 0.03
    one_rho: float = 0.15
    one_sample_batch: int = 1
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 100_000
    tolerance: float = 1e-2


def far_apart_problem(n_samples: int, n_features: int, seed: int, min_separation: float, tries: int = 200):
    """(problem, trace reference, λ_max reference, seed used): the first seed ≥ ``seed`` whose two minimizers
    are ≥ ``min_separation`` apart (relative to the λ_max one) with a simple top eigenvalue at the SDP optimum."""
    for s in range(seed, seed + tries):
        rng = np.random.default_rng(s)
        X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.5, 2.0, n_features)
        w_star = np.zeros(n_features)
        w_star[:2] = [1.0, -1.0]
        y = X @ w_star
        lam = min_sharpness_interpolator(X, y, measure="lambda-max")
        tr = min_sharpness_interpolator(X, y, measure="trace")
        sep = np.linalg.norm(tr.solution - lam.solution) / np.linalg.norm(lam.solution)
        if sep >= min_separation and lam.info["top_eigengap"] >= 0.1 and tr.info["unique"]:
            return Problem(X, y, w_star=w_star, name=f"SAM data seed {s}", meta={"seed": s}), tr, lam, s
    raise InputError(f"no data seed in [{seed}, {seed + tries}) has minimizers {min_separation} apart")


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _figures(out, kinds, tr, lam, W, problem):
    from implicit_bias.plotting import color, log_axis_label, new_figure

    fig, axes = new_figure(ncols=3, width=15.0)
    steps = np.maximum(out.steps, 1)
    names = {"full": "full-batch SAM", "one": "1-SAM", "gd": "GD"}
    for ax, key, ref, label in ((axes[0], "sharpness", lam, "λ_max(∇²L) / min λ_max"),
                                (axes[1], "trace", tr, "tr ∇²L / min tr")):
        seen = set()
        for i, kind in enumerate(kinds):
            ax.loglog(steps, out.records[key][i] / ref.objective, color=color(["full", "one", "gd"].index(kind)),
                      label=None if kind in seen else names[kind])
            seen.add(kind)
        ax.axhline(1.0, color="black", linestyle=":", linewidth=1)
        ax.set_xlabel(log_axis_label("step"))
        ax.set_ylabel(log_axis_label(label))
        ax.legend(fontsize="small")
    axes[0].set_title("Full-batch SAM flattens the top eigenvalue")
    axes[1].set_title("1-SAM flattens the trace")
    ax = axes[2]
    x = np.arange(problem.n_features)
    ax.plot(x, lam.solution, "o", color=color(0), markersize=10, fillstyle="none", label="argmin λ_max (SDP)")
    ax.plot(x, tr.solution, "s", color=color(1), markersize=10, fillstyle="none", label="argmin trace (LP)")
    ax.plot(x, W[kinds.index("full")], "x", color=color(0), label="full-batch SAM")
    ax.plot(x, W[kinds.index("one")], "+", color=color(1), markersize=9, label="1-SAM")
    ax.set_xlabel("coordinate j")
    ax.set_ylabel("w_j")
    ax.set_title("Two algorithms, two minimizers")
    ax.legend(fontsize="small")
    return {"sam_sharpness": fig}


def run(config: Config) -> Result:
    if config.one_sample_batch not in (1, config.n_samples):
        raise InputError(f"one_sample_batch must be 1 (1-SAM) or n = {config.n_samples}, got {config.one_sample_batch}")
    problem, tr, lam, data_seed = far_apart_problem(config.n_samples, config.n_features, config.data_seed,
                                                    config.min_separation)
    X, y, n = problem.X, problem.y, config.n_samples
    seeds = np.asarray(config.seeds)
    S = len(seeds)
    kinds = ["full"] + ["one"] * S + ["gd"]
    hp = {"batch_size": np.r_[n, np.full(S, config.one_sample_batch), n],
          "step_size": np.r_[config.step_size, np.full(S, config.one_sam_step_size), config.step_size],
          "rho": np.r_[config.full_rho, np.full(S, config.one_rho), 0.0],
          "seed": np.r_[0, seeds, 0], "init_scale": config.init_scale}
    model = DiagonalModel(config.n_features)
    out = train(model, losses.square, SAM(), problem, steps=config.steps, hparams=hp, n_records=24,
                record=CurvatureRecord(model), description="full-batch SAM, 1-SAM and GD")
    finals = [diagonal_flow_finish(X, y, out.params["u"][i], out.params["v"][i]) if not out.diverged[i]
              else (np.full(config.n_features, np.nan), np.nan) for i in range(len(kinds))]
    W = np.stack([f[0] for f in finals])
    trace_ratio = np.array([f[1] for f in finals]) / tr.objective
    p = np.abs(out.params["u"] * out.params["v"])
    a = np.sqrt(W * W + 4 * p * p)  # u² + v² at the flow limit
    sharp_ratio = manifold_sharpness(X, np.sqrt(a), np.zeros_like(a)) / lam.objective
    d_lam = np.array([_rel(w, lam.solution) for w in W])
    d_tr = np.array([_rel(w, tr.solution) for w in W])
    sep = _rel(tr.solution, lam.solution)
    full, one, gd = (np.array(kinds) == k for k in ("full", "one", "gd"))
    tol = config.tolerance
    claims = [
        is_true(f"no run diverged ({int(out.diverged.sum())} did)", not out.diverged.any(), kind="guard"),
        is_true("both references certified (LP unique; SDP dual gap ≤ 1e-6)",
                tr.status == "optimal" and lam.status == "optimal", kind="guard"),
        at_least("the two minimizers are far apart: ‖w_tr − w_λ‖/‖w_λ‖", sep, config.min_separation, kind="sanity"),
        at_least("simple top eigenvalue at the λ_max minimizer: (λ₁ − λ₂)/λ₁", lam.info["top_eigengap"], 0.1,
                 kind="sanity"),
        at_most("full-batch SAM: ‖w − argmin λ_max‖/‖argmin λ_max‖", float(d_lam[full].max()), tol),
        at_most("full-batch SAM: λ_max(∇²L) at its limit / min over interpolators", float(sharp_ratio[full].max()),
                1.001),
        at_least("full-batch SAM: ‖w − argmin tr‖ over the separation (not the trace minimizer)",
                 float(d_tr[full].min() / sep), 0.5),
        at_most("1-SAM: max over seeds of ‖w − argmin tr‖/‖argmin tr‖", float(d_tr[one].max()), tol),
        at_most("1-SAM: max over seeds of tr ∇²L at its limit / min over interpolators", float(trace_ratio[one].max()),
                1.001),
        at_least("1-SAM: min over seeds of ‖w − argmin λ_max‖ over the separation (not the λ_max minimizer)",
                 float(d_lam[one].min() / sep), 0.5),
        at_least("GD from the same init: distance to the nearer minimizer (SAM's drift does the selecting)",
                 float(min(d_lam[gd].min(), d_tr[gd].min())), 10 * tol),
    ]
    frame = out.metrics_frame(series="sam", metrics=("loss", "trace", "sharpness"))
    frame["algorithm"] = frame.config.map(dict(enumerate(kinds)))
    limits = pd.DataFrame({"series": "limit", "config": np.arange(len(kinds)), "step": config.steps,
                           "metric": "dist_lambda_max", "value": d_lam, "algorithm": kinds})
    notes = [f"data seed {data_seed}: argmin λ_max = {np.round(lam.solution, 4).tolist()}, argmin tr = "
             f"{np.round(tr.solution, 4).tolist()}",
             f"distances to argmin λ_max: {np.round(d_lam, 6).tolist()}; to argmin tr: {np.round(d_tr, 6).tolist()} "
             f"(order: {kinds})"]
    return Result("sam-sharpness", asdict(config), claims, pd.concat([frame, limits], ignore_index=True),
                  _figures(out, kinds, tr, lam, W, problem), notes=notes)


ENTRY = Entry(
    name="sam-sharpness",
    summary="full-batch SAM reaches the min-λ_max interpolator (SDP), 1-SAM the min-trace one (LP): two exact minimizers",
    description=("On a diagonal network, normalized full-batch SAM finished by the exact flow lands on the "
                 "interpolator minimizing the Hessian's top eigenvalue (a certified SDP), 1-SAM on the one minimizing "
                 "its trace (a weighted-ℓ1 LP); the data are chosen so that the two are far apart, and each algorithm "
                 "misses the other's minimizer while GD reaches neither. A small stand-in (n = 2, d = 6)."),
    paper="Wen, Ma & Li 2023, How does sharpness-aware minimization minimize sharpness?; Andriushchenko & Flammarion 2022",
    run=run,
    full=Config(),
    quick=Config(seeds=(0, 1)),
)
