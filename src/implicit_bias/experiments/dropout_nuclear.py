"""Dropout on a matrix factorization is a squared-nuclear-norm regularizer with an exact, equalized optimum.

Dropout with retain probability θ on the r hidden units of W = UVᵀ (inverted scaling b_i/θ) has the
expected objective ‖M − UVᵀ‖² + λ Σ_i ‖u_i‖²‖v_i‖², λ = (1 − θ)/θ, whose induced regularizer on W is
(λ/r)‖W‖_*²; its global minimizer shares M's singular vectors, with singular values (σ_i − τ)₊,
τ = (λ/r) Σ_j s_j, and is equalized: ‖u_i‖‖v_i‖ = ‖W‖_*/r for every unit (Mianjy, Arora & Vidal 2018).
Three runs from the same small Gaussian init, all fitting every entry of M (square loss):

  * dropout SGD (a fresh Bernoulli mask each step, constant step): its iterates keep fluctuating, so
    the claim is on the average of W over the second half of training;
  * GD on the exact expected objective: converges to the closed form and equalizes the units;
  * plain GD (θ = 1, no dropout): converges to the best rank-r approximation of M instead.

M (6 × 5) has singular values ``singular_values`` and Haar singular vectors; r = ``width``.

References: Mianjy, Arora, Vidal, "On the implicit bias of dropout", ICML 2018; Cavazza, Haeffele, Lane,
Morerio, Murino, Vidal, "Dropout as a low-rank regularizer for matrix factorization", AISTATS 2018.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.experiments.registry import Entry
from implicit_bias.models.factorized import FactorizedModel
from implicit_bias.optim.dropout import Dropout
from implicit_bias.problems.matrix import full_matrix_problem
from implicit_bias.references.dropout_optimum import dropout_optimum
from implicit_bias.results import Result, at_least, at_most, is_true
from implicit_bias.sweeps import log_spaced_steps


@dataclass(frozen=True)
class Config:
    """Target spectrum and size, width r, retain θ, steps and step sizes, tail-averaging window, seeds.

    ``dropout=False`` trains every run with θ = 1 (no dropout) against the same θ's closed form:
    the negative control."""

    n_rows: int = 6
    n_cols: int = 5
    singular_values: tuple[float, ...] = (4.0, 3.0, 2.0, 1.0, 0.5)
    width: int = 4
    retain: float = 0.5
    init_scale: float = 0.1
    step_size: float = 0.5
    sgd_step_size: float = 0.05
    steps: int = 200_000
    tail_records: int = 400
    seeds: tuple[int, ...] = (0, 1, 2)
    problem_seed: int = 0
    dropout: bool = True


def unit_products(params, width: int) -> np.ndarray:
    """‖u_i‖‖v_i‖ (..., r) for params (W_1 (..., r, d2), W_2 (..., d1, r)): u_i = W_2[:, i], v_i = W_1[i, :]."""
    W1, W2 = (np.asarray(p) for p in params)
    return np.linalg.norm(W2, axis=-2) * np.linalg.norm(W1, axis=-1)


def _figures(sgd, gd, ref, M, tail, config):
    from implicit_bias.plotting import color, log_axis_label, new_figure

    fig, axes = new_figure(ncols=2, width=12.0)
    ax = axes[0]
    k = np.arange(1, len(ref.arrays["data_singular_values"]) + 1)
    ax.plot(k, ref.arrays["data_singular_values"], "s--", color="gray", label="σ_i(M)")
    ax.plot(k, ref.arrays["singular_values"], "o-", color="black", fillstyle="none", markersize=10,
            label="closed form (σ_i − τ)₊")
    W_avg = sgd.records["w"][0, tail].mean(axis=0)
    ax.plot(k, np.linalg.svd(W_avg, compute_uv=False)[:len(k)], "x", color=color(0), markersize=9,
            label="dropout SGD (tail average)")
    ax.plot(k, np.linalg.svd(gd.end_to_end[0], compute_uv=False)[:len(k)], "+", color=color(1), markersize=11,
            label="GD on the expected objective")
    ax.plot(k, np.linalg.svd(sgd.end_to_end[-1], compute_uv=False)[:len(k)], "^", color=color(2), fillstyle="none",
            label="no dropout")
    ax.set_xlabel("i")
    ax.set_ylabel("singular value")
    ax.set_title(f"Dropout (θ = {config.retain:g}, r = {config.width}) shrinks by τ = {ref.info['tau']:.3g}")
    ax.legend(fontsize="small")
    ax = axes[1]
    steps = np.maximum(sgd.steps, 1)
    dist = np.linalg.norm(sgd.records["w"] - ref.solution, axis=(-2, -1)) / np.linalg.norm(ref.solution)
    ax.loglog(steps, dist[0], color=color(0), label="dropout SGD (iterate)")
    ax.loglog(steps, dist[-1], color=color(2), label="no dropout")
    gdist = np.linalg.norm(gd.records["w"][0] - ref.solution, axis=(-2, -1)) / np.linalg.norm(ref.solution)
    ax.loglog(np.maximum(gd.steps, 1), np.maximum(gdist, 1e-17), color=color(1), label="GD on E[objective]")
    ax.set_xlabel(log_axis_label("step"))
    ax.set_ylabel(log_axis_label("‖W − W*‖/‖W*‖"))
    ax.set_title("Distance to the closed-form optimum")
    ax.legend(fontsize="small")
    return {"dropout_spectrum": fig}


def run(config: Config) -> Result:
    problem, M = full_matrix_problem(config.singular_values, config.n_rows, config.n_cols, config.problem_seed)
    ref = dropout_optimum(M, config.retain, config.width)
    theta = config.retain if config.dropout else 1.0
    model = FactorizedModel(shape=(config.n_rows, config.n_cols), depth=2, width=config.width,
                            init_kind="gaussian", init_scale=config.init_scale, kind="completion")
    seeds = np.asarray(config.seeds)
    K = config.steps
    tail_steps = np.unique(np.linspace(K // 2, K, config.tail_records).astype(int))
    record_steps = np.unique(np.r_[log_spaced_steps(K // 2, 16), tail_steps])
    tail = np.isin(record_steps, tail_steps)
    sgd = train(model, losses.square, Dropout(width=config.width), problem, steps=K, record_steps=record_steps,
                hparams={"seed": np.r_[seeds, seeds[0]], "retain": np.r_[np.full(len(seeds), theta), 1.0],
                         "step_size": config.sgd_step_size}, description="dropout SGD and plain GD")
    gd = train(model, losses.square, Dropout(width=config.width, expected=True), problem, steps=K,
               hparams={"seed": seeds[:1], "retain": theta, "step_size": config.step_size}, n_records=24,
               description="GD on the expected dropout objective")
    norm = np.linalg.norm(ref.solution)
    W_avg = sgd.records["w"][:len(seeds)][:, tail].mean(axis=1)
    d_avg = np.linalg.norm(W_avg - ref.solution, axis=(-2, -1)) / norm
    d_gd = float(np.linalg.norm(gd.end_to_end[0] - ref.solution) / norm)
    prods = unit_products(tuple(p[0] for p in gd.params), config.width)
    equal = float(np.max(np.abs(prods - ref.info["equalized_product"])) / ref.info["equalized_product"])
    d_plain = float(np.linalg.norm(sgd.end_to_end[-1] - ref.solution) / norm)
    U, s, Vt = np.linalg.svd(M)
    best_r = (U[:, :config.width] * s[:config.width]) @ Vt[:config.width]
    claims = [
        is_true("the closed form is certified (optimality residual ≤ 1e-10) and has rank ≤ r",
                ref.status == "optimal" and ref.info["rank"] <= config.width, kind="guard"),
        is_true(f"no run diverged ({int(sgd.diverged.sum() + gd.diverged.sum())} did)",
                not (sgd.diverged.any() or gd.diverged.any()), kind="guard"),
        at_most("GD on the expected objective: relative change of W between its last two records (converged)",
                float(np.linalg.norm(gd.records["w"][0, -1] - gd.records["w"][0, -2]) / norm), 1e-9, kind="guard"),
        at_most(f"dropout SGD (θ = {config.retain:g}): max over seeds of ‖mean of W over the second half − W*‖/‖W*‖",
                float(d_avg.max()), 1e-2),
        at_most("GD on the expected objective: ‖W − W*‖/‖W*‖", d_gd, 1e-6),
        at_most("GD on the expected objective: max_i |‖u_i‖‖v_i‖ − ‖W*‖_*/r| / (‖W*‖_*/r) (equalized units)",
                equal, 1e-6),
        at_least("no dropout (θ = 1): ‖W − W*‖/‖W*‖ (far from the dropout optimum)", d_plain, 0.1),
        at_most("no dropout converges to the best rank-r approximation of M: ‖W − M_r‖/‖M_r‖",
                float(np.linalg.norm(sgd.end_to_end[-1] - best_r) / np.linalg.norm(best_r)), 1e-6, kind="sanity"),
    ]
    frames = [sgd.metrics_frame(series="dropout-sgd", metrics=("loss",)),
              gd.metrics_frame(series="expected-gd", metrics=("loss",)),
              pd.DataFrame({"series": "limit", "config": np.arange(len(d_avg)), "step": K,
                            "metric": "dist_tail_average", "value": d_avg})]
    notes = [f"closed form: τ = {ref.info['tau']:.6g}, rank {ref.info['rank']}, singular values "
             f"{np.round(ref.arrays['singular_values'], 6).tolist()}, unit product ‖W*‖_*/r = "
             f"{ref.info['equalized_product']:.6g}",
             f"GD on E[objective]: unit products {np.round(prods, 9).tolist()}",
             f"dropout SGD tail averages: distances {np.round(d_avg, 5).tolist()}"]
    return Result("dropout-nuclear", asdict(config), claims, pd.concat(frames, ignore_index=True),
                  _figures(sgd, gd, ref, M, tail, config), notes=notes)


ENTRY = Entry(
    name="dropout-nuclear",
    summary="dropout on W = UVᵀ: tail-averaged dropout SGD and GD on its expectation reach the closed-form "
            "equalized optimum (σ_i − τ)₊",
    description=("Dropout on the hidden units of a width-r matrix factorization regularizes with (λ/r)‖W‖_*²: the "
                 "average of dropout-SGD iterates lands within 1 % of the closed-form optimum (M's singular values "
                 "shrunk by τ), GD on the expected objective reaches it to 1e-6 with equalized units, and training "
                 "without dropout ends far away at the best rank-r approximation. A small stand-in (6 × 5, r = 4)."),
    paper="Mianjy, Arora & Vidal 2018, On the implicit bias of dropout; Cavazza et al. 2018",
    run=run,
    full=Config(),
    quick=Config(seeds=(0, 1), steps=80_000),
)
