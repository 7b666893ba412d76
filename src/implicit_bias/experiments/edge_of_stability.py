"""Edge of stability and the flattest minimum, exactly, on L = (xy − 1)²/2 and on ½‖XYᵀ − M‖².

Scalar model (a one-coordinate ``uv`` diagonal network fitting y = 1 from x = 1). The minima form the
hyperbola xy = 1, where ∇²L = (y, x)(y, x)ᵀ has λ_max = x² + y². Gradient flow conserves x² − y²
(d/dt (x² − y²) = −2x·y(xy−1) + 2y·x(xy−1) = 0), so it ends where xy = 1 and x² − y² = x0² − y0²:

    S_flow(x0, y0) = x² + y² = √((x² − y²)² + 4x²y²) = √((x0² − y0²)² + 4),

a closed form of the init (and of any point: the sharpness of the minimum the flow would reach from it,
the "GFS sharpness" of Kreisler et al. 2023). GD with step h cannot settle at a minimum sharper than
2/h (it is linearly unstable there); from an init with 2/h < S_flow it leaves the flow's path and ends
at sharpness ≤ 2/h — flatter the larger h, only bounded by 2/h, not equal to it. Normalized GD with
slowly decaying steps, θ ← θ − h_k ∇L/‖∇L‖, h_k = h(1 + k/k₀)^(−p), bounces across the valley and drifts
to its flattest point, x = y = 1, sharpness 2 (Josz 2026).

Matrix model W = XYᵀ (3 × 3, width 3), ½‖XYᵀ − M‖²: at a minimum the Hessian is the Gauss–Newton
operator (ΔX, ΔY) ↦ ΔX Yᵀ + X ΔYᵀ, whose top eigenvalue is λ_max(XXᵀ) + λ_max(YYᵀ) ≥ 2‖X‖‖Y‖ ≥ 2σ₁(M),
with equality at the balanced minima: the flattest sharpness is 2σ₁(M). From a large, unbalanced
Gaussian init GD with a small step stays sharp (the flow conserves XᵀX − YᵀY); normalized GD with
decaying steps reaches 2σ₁(M). The engine's loss is the mean over the m = 9 entries, (1/m)·½‖XYᵀ − M‖²,
so its steps are scaled by m and its sharpness reported times m.

References: Cohen, Kaur, Li, Kolter, Talwalkar, ICLR 2021; Kreisler, Nacson, Soudry, Carmon, "Gradient
descent monotonically decreases the sharpness of gradient flow solutions in scalar networks and beyond",
ICML 2023; Wang, Chen, Zhao, Tao, "Large learning rate tames homogeneity", ICLR 2022; Zhu, Wang, Wang,
Zhou, Ge, "Understanding edge-of-stability training dynamics with a minimalist example", ICLR 2023;
Josz, "Implicit regularization of normalized gradient descent", arXiv:2602.08177, 2026.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.flatten_util import ravel_pytree

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.experiments.registry import Entry
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.factorized import FactorizedModel
from implicit_bias.optim import GD, Flow
from implicit_bias.optim.normalized_decay import GradientNormalizedGD
from implicit_bias.problems import Problem
from implicit_bias.problems.matrix import full_matrix_problem
from implicit_bias.results import Result, at_least, at_most, close_to, is_true

FLAT_OPTIMIZERS = ("normalized", "gd")


def flow_sharpness(x0, y0) -> np.ndarray:
    """S_flow = √((x0² − y0²)² + 4): the sharpness of the minimum gradient flow reaches from (x0, y0)."""
    x0, y0 = np.asarray(x0, dtype=float), np.asarray(y0, dtype=float)
    return np.sqrt((x0 * x0 - y0 * y0) ** 2 + 4.0)


def factor_sharpness(W1, W2) -> np.ndarray:
    """λ_max(XXᵀ) + λ_max(YYᵀ) for X = W_2 (d1, k), Y = W_1ᵀ (d2, k): ½‖XYᵀ − M‖²'s sharpness at a minimum."""
    W1, W2 = np.asarray(W1), np.asarray(W2)
    return (np.linalg.eigvalsh(W2 @ np.swapaxes(W2, -1, -2))[..., -1]
            + np.linalg.eigvalsh(np.swapaxes(W1, -1, -2) @ W1)[..., -1])


@dataclass(frozen=True)
class SharpnessRecord:
    """Records the loss and λ_max of the dense Hessian of the training loss (small models only)."""

    model: object

    def __call__(self, params, hp, data):
        flat, unravel = ravel_pytree(params)

        def loss(p):
            return losses.square.value(self.model.predict(unravel(p), data["X"]), data["y"])

        return {"loss": loss(flat), "sharpness": jnp.linalg.eigvalsh(jax.hessian(loss)(flat))[-1]}


@dataclass(frozen=True)
class Config:
    """Scalar inits (x0, y0), GD's step sweep, normalized GD's schedule, the matrix model's sizes and steps.

    Normalized GD starts at h = ``flat_step_size``; ``small_step_size`` is the small GD step of the sharp control (× m on the matrix model).
    ``flat_optimizer="gd"`` replaces normalized GD by GD with a small step (the negative control)."""

    inits: tuple[tuple[float, float], ...] = ((2.0, 0.1), (0.12, 2.1), (1.9, 0.2))
    step_sizes: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65)
    small_step_size: float = 0.01
    steps: int = 20_000
    flat_step_size: float = 0.5
    decay_power: float = 0.75
    decay_steps: float = 100.0
    matrix_singular_values: tuple[float, ...] = (1.0, 0.6, 0.3)
    matrix_init_scale: float = 4.0
    matrix_steps: int = 40_000
    seeds: tuple[int, ...] = (0, 1, 2)
    flat_optimizer: str = "normalized"
    time_horizon: float = 1e3


def _shape(x0: float, y0: float) -> tuple[float, float]:
    """(α, s) of the ``uv`` diagonal model with u0 = x0, v0 = y0 (u0 = α·a, v0 = α/a, a² = (1 − s)/(1 + s)):
    α = √(x0 y0), s = (y0 − x0)/(y0 + x0)."""
    return float(np.sqrt(x0 * y0)), float((y0 - x0) / (y0 + x0))


def _flat_optimizer(config: Config, scale: float = 1.0):
    if config.flat_optimizer == "normalized":
        return GradientNormalizedGD(decay_power=config.decay_power, decay_steps=config.decay_steps), config.flat_step_size
    return GD(), config.small_step_size * scale


def _scalar(config: Config):
    x0 = np.array([p[0] for p in config.inits])
    y0 = np.array([p[1] for p in config.inits])
    if np.any(x0 <= 0) or np.any(y0 <= 0):
        raise InputError("scalar inits (x0, y0) must be positive")
    alpha, shape = map(np.array, zip(*(_shape(a, b) for a, b in zip(x0, y0))))
    S0 = flow_sharpness(x0, y0)
    problem = Problem(np.array([[1.0]]), np.array([1.0]), name="xy = 1")
    model = DiagonalModel(1, param="uv")
    record = SharpnessRecord(model)
    flow = train(model, losses.square, Flow(solver="kvaerno5", rtol=1e-11, atol=1e-13), problem,
                 time_horizon=config.time_horizon, hparams={"init_scale": alpha, "init_shape": shape},
                 record=record, n_records=12, description="gradient flow, scalar model")
    hs = np.asarray(config.step_sizes, dtype=float)
    A, H = len(alpha), len(hs)
    gd = train(model, losses.square, GD(), problem, steps=config.steps,
               hparams={"init_scale": np.r_[np.repeat(alpha, H), alpha], "init_shape": np.r_[np.repeat(shape, H), shape],
                        "step_size": np.r_[np.tile(hs, A), np.full(A, config.small_step_size)]},
               record=record, n_records=32, description="GD step sweep, scalar model")
    opt, h = _flat_optimizer(config)
    flat = train(model, losses.square, opt, problem, steps=config.steps,
                 hparams={"init_scale": alpha, "init_shape": shape, "step_size": h}, record=record, n_records=32,
                 description="normalized GD with decaying steps, scalar model")
    return dict(x0=x0, y0=y0, S0=S0, flow=flow, gd=gd, flat=flat, hs=hs, A=A, H=H)


def _matrix(config: Config):
    d = len(config.matrix_singular_values)
    problem, M = full_matrix_problem(config.matrix_singular_values, d, d, 1)
    m = d * d
    model = FactorizedModel(shape=(d, d), depth=2, width=d, init_kind="gaussian",
                            init_scale=config.matrix_init_scale, kind="completion")
    seeds = np.asarray(config.seeds)
    gd = train(model, losses.square, GD(), problem, steps=config.matrix_steps,
               hparams={"seed": seeds, "step_size": config.small_step_size * m}, n_records=16, record_end_to_end=True,
               description="GD, matrix model")
    opt, h = _flat_optimizer(config, scale=m)
    flat = train(model, losses.square, opt, problem, steps=config.matrix_steps,
                 hparams={"seed": seeds, "step_size": h}, n_records=16,
                 description="normalized GD with decaying steps, matrix model")
    sigma1 = float(np.linalg.svd(M, compute_uv=False)[0])
    return dict(gd=gd, flat=flat, sigma1=sigma1, m=m,
                gd_sharp=factor_sharpness(*gd.params), flat_sharp=factor_sharpness(*flat.params))


def _figures(sc, mx, config):
    from implicit_bias.plotting import color, new_figure

    fig, axes = new_figure(ncols=3, width=15.0)
    ax = axes[0]
    t = np.linspace(0.25, 2.2, 200)
    ax.plot(t, 1 / t, color="gray", linewidth=1)
    ax.plot(sc["x0"], sc["y0"], "k*", markersize=10, label="inits")
    for i in range(sc["A"]):
        u, v = sc["flat"].params["u"][i, 0], sc["flat"].params["v"][i, 0]
        ax.plot(u, v, "o", color=color(2), fillstyle="none", label="normalized GD" if i == 0 else None)
        uf, vf = sc["flow"].params["u"][i, 0], sc["flow"].params["v"][i, 0]
        ax.plot(uf, vf, "s", color=color(0), fillstyle="none", label="gradient flow" if i == 0 else None)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Where each method lands on xy = 1")
    ax.legend(fontsize="small")
    ax = axes[1]
    fin = sc["gd"].records["sharpness"][:, -1]
    for i in range(sc["A"]):
        ax.plot(sc["hs"], fin[i * sc["H"]:(i + 1) * sc["H"]], "o-", color=color(i),
                label=f"GD from ({sc['x0'][i]:g}, {sc['y0'][i]:g}); S_flow = {sc['S0'][i]:.2f}")
    ax.plot(sc["hs"], 2 / sc["hs"], "k--", label="2/h")
    ax.axhline(2.0, color="black", linestyle=":", linewidth=1, label="flattest: 2")
    ax.set_xlabel("step size h")
    ax.set_ylabel("final sharpness")
    ax.set_title("Edge of stability: GD ends below 2/h")
    ax.legend(fontsize="x-small")
    ax = axes[2]
    ax.axhline(2 * mx["sigma1"], color="black", linestyle=":", label="2σ₁(M)")
    ax.plot(np.arange(len(config.seeds)), mx["gd_sharp"], "s", color=color(1), label="GD (small step)")
    ax.plot(np.arange(len(config.seeds)), mx["flat_sharp"], "o", color=color(2), label="normalized GD, decaying steps")
    ax.set_xlabel("seed")
    ax.set_ylabel("sharpness of ½‖XYᵀ − M‖² at the end")
    ax.set_title("Matrix model: normalized GD finds the flattest minimum")
    ax.legend(fontsize="small")
    return {"edge_of_stability": fig}


def run(config: Config) -> Result:
    if config.flat_optimizer not in FLAT_OPTIMIZERS:
        raise InputError(f"flat_optimizer must be one of {', '.join(FLAT_OPTIMIZERS)}, got {config.flat_optimizer!r}")
    S_init = flow_sharpness([p[0] for p in config.inits], [p[1] for p in config.inits])
    if min(config.step_sizes) <= 2 / S_init.min() or max(config.step_sizes) >= 1:
        raise InputError(f"step sizes must lie in (2/S_flow, 1) = ({2 / S_init.min():.3g}, 1): above the flow's "
                         "edge of stability, below that of the flattest minimum")
    sc, mx = _scalar(config), _matrix(config)
    A, H, hs, S0 = sc["A"], sc["H"], sc["hs"], sc["S0"]
    flow_fin = sc["flow"].records["sharpness"][:, -1]
    gd, fin = sc["gd"], sc["gd"].records["sharpness"][:, -1]
    big = np.arange(A * H)
    small = np.arange(A * H, A * H + A)
    fin_big = fin[big].reshape(A, H)
    u, v = sc["flat"].params["u"][:, 0], sc["flat"].params["v"][:, 0]
    flat_gfs = flow_sharpness(u, v)  # the sharpness of the minimum the flow reaches from the last iterate
    m, sigma1 = mx["m"], mx["sigma1"]
    claims = [
        at_most("gradient flow converged: max final loss", float(sc["flow"].final_loss.max()), 1e-20, kind="guard"),
        at_most("gradient flow: max over inits of |λ_max(end) − √((x0² − y0²)² + 4)| / √(…)",
                float(np.max(np.abs(flow_fin - S0) / S0)), 1e-6),
        at_most("GD converged: max final loss over the step sweep", float(gd.final_loss.max()), 1e-20, kind="guard"),
        is_true(f"GD: every step size above 2/S_flow of its init (min 2/S_flow = {2 / S0.max():.3g} … "
                f"{2 / S0.min():.3g} < h)", bool(np.all(hs[None, :] > 2 / S0[:, None])), kind="sanity"),
        at_most("GD above 2/S_flow: max over inits and h of h·λ_max(end)/2 (final sharpness ≤ 2/h)",
                float(np.max(fin_big * hs[None, :] / 2)), 1.0 + 1e-9),
        close_to("GD: final sharpness strictly decreases as h grows (fraction of consecutive h pairs, all inits)",
                 float(np.mean(np.diff(fin_big, axis=1) < 0)), 1.0, 0.0),
        at_most(f"GD with a small step (h = {config.small_step_size:g}) stays sharp: max |λ_max(end) − S_flow| / S_flow",
                float(np.max(np.abs(fin[small] - S0) / S0)), 1e-2),
        at_most("scalar: max over inits of the flow-limit sharpness √((x² − y²)² + 4) at the last iterate − 2 "
                "(flattest minimum: 2)", float(np.max(flat_gfs - 2.0)), 1e-6),
        at_most("scalar: max over inits of |x − 1| + |y − 1| at the last iterate (the balanced minimum)",
                float(np.max(np.abs(u - 1) + np.abs(v - 1))), 0.05),
        at_most("matrix: max final loss of GD and of the flattening run (both converged; ½‖XYᵀ − M‖² = m·L)",
                float(m * max(mx["gd"].final_loss.max(), mx["flat"].final_loss.max())), 1e-3, kind="guard"),
        at_least("matrix: GD with a small step stays sharp: min over seeds of sharpness / 2σ₁(M)",
                 float(mx["gd_sharp"].min() / (2 * sigma1)), 1.2, kind="sanity"),
        at_most("matrix: max over seeds of |λ_max(XXᵀ) + λ_max(YYᵀ) − 2σ₁(M)| / 2σ₁(M) at the end (flattest minimum)",
                float(np.max(np.abs(mx["flat_sharp"] - 2 * sigma1)) / (2 * sigma1)), 1e-2,
                note="measured at the last (still bouncing) iterate; the bounce has size h_K ≈ 5e-3"),
    ]
    frames = [sc["gd"].metrics_frame(series="scalar-gd", metrics=("loss", "sharpness")),
              sc["flat"].metrics_frame(series="scalar-flat", metrics=("loss", "sharpness")),
              mx["flat"].metrics_frame(series="matrix-flat", metrics=("loss",))]
    notes = [f"flow sharpness (closed form) by init: {np.round(S0, 4).tolist()}; GD's final sharpness by (init, h): "
             f"{np.round(fin_big, 4).tolist()}",
             f"matrix: 2σ₁(M) = {2 * sigma1:.4g}; GD ends at {np.round(mx['gd_sharp'], 4).tolist()}, the flattening run at "
             f"{np.round(mx['flat_sharp'], 4).tolist()}"]
    return Result("edge-of-stability", asdict(config), claims, pd.concat(frames, ignore_index=True),
                  _figures(sc, mx, config), notes=notes)


ENTRY = Entry(
    name="edge-of-stability",
    summary="(xy − 1)²/2 and ½‖XYᵀ − M‖²: flow's sharpness √((x0² − y0²)² + 4) exactly, GD ends ≤ 2/h, normalized GD "
            "with decaying steps reaches the flattest minimum",
    description=("On L = (xy − 1)²/2 gradient flow ends at sharpness √((x0² − y0²)² + 4), a closed form of the init; GD "
                 "with steps above 2/that ends at sharpness at most 2/h, lower as h grows, while a small step stays "
                 "sharp; normalized GD with decaying steps reaches the flattest minimum (sharpness 2, and 2σ₁(M) on "
                 "½‖XYᵀ − M‖²). Small models as in the papers."),
    paper="Cohen et al. 2021; Kreisler et al. 2023; Wang et al. 2022; Zhu et al. 2023; Josz 2026",
    run=run,
    full=Config(),
    quick=Config(seeds=(0, 1)),
)
