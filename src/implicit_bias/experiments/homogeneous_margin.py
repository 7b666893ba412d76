"""Homogeneous ReLU networks on separable data: the smoothed margin grows and the parameters head to a KKT point.

A bias-free ReLU network of depth D is D-homogeneous in its parameters. Once every point is
classified, gradient flow on the exp or logistic loss never decreases the smoothed margin
γ̃ = log(1/L_sum)/ρ^D (Lyu & Li 2020), the normalized margin γ̄ = min q/ρ^D grows with it,
θ/‖θ‖ aligns with −∇L (Ji & Telgarsky 2020: measured in the notes, not claimed) and the rescaled parameters approach a KKT point
of min ‖θ‖² s.t. y_i f(θ; x_i) ≥ 1. Layers stay balanced: ‖W_{l+1}‖² − ‖W_l‖² is conserved by
the flow, so the layers' shares of ‖θ‖² tend to 1/D as ‖θ‖ → ∞.

Time change: GD with the step h/(L(θ) ρ^{2D−2}), i.e. GD on log L with the step scaled by
ρ^{−(2D−2)}. It discretizes the same gradient-flow path, reparameterized by
dt = ds/(L ρ^{2D−2}); in s, log(1/L) ∝ ρ^D grows linearly and the direction moves at a rate
that the soft-min curvature (∝ ρ^D) allows, so a fixed h stays stable while the plain time t
reaches e^{thousands}. Adaptive ODE solvers are not used: they stall where a ReLU kink makes
the flow slide (measured).

References: Lyu & Li, "Gradient descent maximizes the margin of homogeneous neural networks",
ICLR 2020; Ji & Telgarsky, "Directional convergence and alignment in deep learning", NeurIPS 2020;
Du, Hu, Lee, "Algorithmic regularization in learning deep homogeneous models", NeurIPS 2018.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.flatten_util import ravel_pytree

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.experiments._seeds import over_seeds
from implicit_bias.experiments.registry import Entry
from implicit_bias.metrics.kkt import (gradient_alignment, homogeneous_normalized_margin, kkt_residual,
                                       layer_balance, smoothed_margin)
from implicit_bias.models.mlp import MLP
from implicit_bias.optim.homogeneous_margin import HomogeneousMarginGD
from implicit_bias.problems import Problem
from implicit_bias.metrics import fit_loglog_slope
from implicit_bias.results import Result, at_least, at_most, close_to, is_true


@dataclass(frozen=True)
class MarginRecord:
    """Records log L, q_i = y_i f(x_i), θ (flattened), the layers' squared norms and −∇ log L."""

    model: MLP
    loss: Any

    def __call__(self, params, hp, data):
        X, y = data["X"], data["y"]
        f = self.model.predict(params, X)
        grads = jax.grad(lambda p: self.loss.log_value(self.model.predict(p, X), y))(params)
        return {"log_loss": self.loss.log_value(f, y), "q": f * y, "w": self.model.end_to_end(params),
                "layers": self.model.layer_norms(params), "neg_grad": -self.model.end_to_end(grads)}


@dataclass(frozen=True)
class Config:
    """Data (n points on the sphere in ℝ^d labelled by a ReLU teacher), widths per depth, GD length."""

    n_samples: int = 40
    n_features: int = 3
    seed: int = 0
    seeds: tuple[int, ...] = ()
    width: int = 20
    depths: tuple[int, ...] = (2, 3)
    losses: tuple[str, ...] = ("exp", "logistic")
    init_scale: float = 0.5
    step_size: float = 4.0
    steps: int = 100_000
    n_inits: int = 3
    teacher_margin: float = 0.2
    kkt_points: int = 6


def make_problem(config: Config) -> Problem:
    """x uniform on S^{d−1}, y = sign(teacher(x)) for a bias-free ReLU teacher with 4 units of signs ±,
    keeping points with |teacher(x)| > ``teacher_margin`` (separable by the student family, not linearly)."""
    if config.n_samples < 2 or config.n_features < 2:
        raise InputError("homogeneous-margin needs n_samples >= 2 and n_features >= 2")
    rng = np.random.default_rng(config.seed)
    T = rng.standard_normal((config.n_features, 4))
    a = np.array([1.0, -1.0, 1.0, -1.0])
    X, y = [], []
    for _ in range(1000 * config.n_samples):
        x = rng.standard_normal(config.n_features)
        x /= np.linalg.norm(x)
        f = np.maximum(x @ T, 0) @ a
        if abs(f) > config.teacher_margin:
            X.append(x)
            y.append(np.sign(f))
        if len(X) == config.n_samples:
            break
    if len(X) < config.n_samples or len(set(y)) < 2:
        raise InputError("could not draw the requested separable sample; lower teacher_margin")
    return Problem(np.array(X), np.array(y), name=f"ReLU-teacher labels n={config.n_samples} d={config.n_features}")


def _kkt_curve(model: MLP, problem: Problem, thetas: np.ndarray, degree: int) -> np.ndarray:
    """KKT residual (max of stationarity and complementarity) at each θ of (k, P)."""
    _, unravel = ravel_pytree(model.trainable(model.init({}, jax.random.PRNGKey(0))))
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y)
    q_fn = jax.jit(lambda th: model.apply(unravel(th), X) * y)
    jac = jax.jit(jax.jacrev(q_fn))
    return np.array([kkt_residual(th, np.asarray(q_fn(th)), np.asarray(jac(th)), degree).total
                     for th in jnp.asarray(thetas)])


def _one(config: Config, problem: Problem, depth: int, loss_name: str, claims: list, frames: list, curves: dict,
         notes: list):
    model = MLP(config.n_features, (config.width,) * (depth - 1), activation="relu", init_scale=config.init_scale)
    D = model.homogeneity_degree
    loss = losses.get_loss(loss_name)
    out = train(model, loss, HomogeneousMarginGD(), problem, steps=config.steps, step_size=config.step_size,
                hparams={"seed": np.arange(config.n_inits)}, n_records=160, record=MarginRecord(model, loss),
                description=f"margin GD depth {D} {loss_name}")
    frames.append(out.metrics_frame(series=f"depth{D}-{loss_name}", metrics=("log_loss",)))
    tag = f"depth {D}, {loss_name}"
    n = problem.n_samples
    fracs, rises, kkt_ratio, kkt_slope, balance, drift, aligned, classified = [], [], [], [], [], [], [], []
    for c in range(config.n_inits):
        rho = np.linalg.norm(out.records["w"][c], axis=1)
        g_s = smoothed_margin(out.records["log_loss"][c], n, rho, D, loss_name)
        g_n = homogeneous_normalized_margin(out.records["q"][c], rho, D)
        done = np.isfinite(g_s) & (out.records["q"][c].min(axis=1) > 0)
        classified.append(bool(done[-1]))
        if not done[-1]:
            continue
        i0 = int(np.argmax(done))
        s = g_s[i0:]
        fracs.append(float(np.mean(np.diff(s) >= 0)))
        rises.append(g_n[-1] - g_n[i0])
        picks = np.unique(np.geomspace(max(i0, 1), len(rho) - 1, config.kkt_points).astype(int))
        kkt = _kkt_curve(model, problem, out.records["w"][c][picks], D)
        kkt_ratio.append(kkt[-1] / kkt[0])
        late = picks >= picks[len(picks) // 2]
        kkt_slope.append(fit_loglog_slope(np.asarray(out.steps)[picks][late], kkt[late]))
        lay = out.records["layers"][c]
        balance.append(layer_balance(lay[-1]) / layer_balance(lay[0]))
        diffs = np.diff(lay, axis=1)
        drift.append(float(np.max(np.abs(diffs - diffs[0])) / np.max(rho ** 2)))
        align = gradient_alignment(out.records["w"][c], out.records["neg_grad"][c])
        aligned.append(align[-1] / align[i0])
        if c == 0:
            curves[tag] = (out.steps[i0:], s, g_n[i0:], kkt, out.steps[picks], align[i0:])
    claims.append(is_true(f"{tag}: every point classified at the end (all {config.n_inits} inits)", all(classified),
                          kind="guard"))
    if not fracs:
        return
    k = len(fracs)
    claims.append(close_to(f"{tag}: fraction of recorded GD steps after classification where γ̃ does not decrease "
                           f"(min over {k} inits)", min(fracs), 1.0, 0.0))
    claims.append(at_least(f"{tag}: normalized margin γ̄ rises after classification (min increase over inits)",
                           min(rises), 0.0))
    claims.append(at_most(f"{tag}: KKT residual at the end / at classification (max over inits)", max(kkt_ratio), 0.5,
                          note="residual = max(stationarity, complementary slackness), multipliers by NNLS"))
    claims.append(at_most(f"{tag}: KKT residual keeps decaying: fitted slope of log residual against log step over "
                          "the later half of training (max over inits)", max(kkt_slope), -0.1,
                          note="the theorem: the residual tends to 0; slopes "
                               + ", ".join(f"{x:.3f}" for x in kkt_slope)))
    notes.append(f"{tag}: 1 − cos(θ, −∇L) at the end / at classification: "
                 f"{', '.join(f'{a:.3g}' for a in aligned)} (measured, not claimed: GD's one-sided ReLU gradients "
                 "zigzag across kinks, so the instantaneous alignment need not shrink)")
    claims.append(at_most(f"{tag}: layers balance, max_l |‖W_l‖²/‖θ‖² − 1/D| end / start (max over inits)",
                          max(balance), 0.1))
    claims.append(at_most(f"{tag}: drift of ‖W_(l+1)‖² − ‖W_l‖² (conserved by the flow) / max ‖θ‖²", max(drift), 1e-3))


def _figures(curves: dict):
    from implicit_bias.plotting import color, log_axis_label, new_figure

    fig1, axes = new_figure(ncols=2)
    for i, (tag, (steps, g_s, g_n, *_)) in enumerate(curves.items()):
        axes[0].semilogx(steps, g_s, color=color(i), label=f"{tag}: smoothed γ̃")
        axes[0].semilogx(steps, g_n, color=color(i), linestyle="--", label=f"{tag}: normalized γ̄")
        axes[1].loglog(steps, np.maximum(g_n - g_s, 1e-16), color=color(i), label=tag)
    axes[0].set_xlabel(log_axis_label("GD steps (after every point is classified)"))
    axes[0].set_ylabel("margin / ‖θ‖^D")
    axes[0].set_title("Smoothed margin never decreases")
    axes[0].legend(fontsize="small")
    axes[1].set_xlabel(log_axis_label("GD steps"))
    axes[1].set_ylabel("γ̄ − γ̃ (≤ log n / ρ^D)")
    axes[1].set_title("The two margins merge")
    axes[1].legend(fontsize="small")

    fig2, axes = new_figure(ncols=2)
    for i, (tag, (steps, _, _, kkt, kkt_steps, align)) in enumerate(curves.items()):
        axes[0].loglog(kkt_steps, kkt, color=color(i), marker="o", label=tag)
        axes[1].loglog(steps, align, color=color(i), label=tag)
    axes[0].set_xlabel(log_axis_label("GD steps"))
    axes[0].set_ylabel("KKT residual of θ/(min q)^{1/D}")
    axes[0].set_title("Towards a KKT point of the max-margin problem")
    axes[0].legend(fontsize="small")
    axes[1].set_xlabel(log_axis_label("GD steps"))
    axes[1].set_ylabel("1 − cos(θ, −∇L)")
    axes[1].set_title("Parameters align with the negative gradient")
    axes[1].legend(fontsize="small")
    return {"margins": fig1, "kkt_alignment": fig2}


def run(config: Config) -> Result:
    """Every seed of ``config.seeds`` (worst case per claim), or ``config.seed`` alone when it is empty."""
    return over_seeds(_run_one, config)


def _run_one(config: Config) -> Result:
    for depth in config.depths:
        if depth < 2:
            raise InputError(f"depths must be >= 2 (a hidden layer), got {depth}")
    for name in config.losses:
        if name not in ("exp", "logistic"):
            raise InputError(f"losses must be exp or logistic, got {name!r}")
    problem = make_problem(config)
    claims: list = []
    frames: list = []
    curves: dict = {}
    measured: list = []
    for depth in config.depths:
        for loss_name in config.losses:
            _one(config, problem, depth, loss_name, claims, frames, curves, measured)
    notes = measured + [f"Step h/(L ρ^(2D−2)) with h = {config.step_size}: a time change of gradient flow (dt = ds/(L ρ^(2D−2))) "
             "discretized by GD; the smoothed margin is checked at the recorded steps.",
             "The KKT residual uses one-sided ReLU gradients; where the limit puts a hidden unit on a kink for a "
             "support point, the Clarke subdifferential is needed and the measured residual levels off above 0."]
    return Result("homogeneous-margin", asdict(config), claims, pd.concat(frames, ignore_index=True),
                  _figures(curves), notes=notes)


ENTRY = Entry(
    name="homogeneous-margin",
    summary="bias-free ReLU nets (depth 2, 3) on separable data: smoothed margin non-decreasing, towards a KKT point",
    description=("Bias-free ReLU networks are homogeneous in their parameters; on separable data with exp or "
                 "logistic loss, once every point is classified the smoothed margin never decreases, the normalized "
                 "margin grows and the parameters approach a KKT point of the max-margin problem (the KKT residual "
                 "keeps decaying). GD with loss-scaled steps (a time change of the flow) gets there in seconds. "
                 "Scale: a small stand-in in both modes (40 points on the sphere in ℝ³, width 20, three data seeds in full mode; quick: 20 points, "
                 "exp loss only), not the papers' image networks."),
    paper="Lyu & Li 2020, Gradient descent maximizes the margin of homogeneous neural networks; Ji & Telgarsky 2020",
    run=run,
    full=Config(seeds=(0, 1, 2)),
    quick=Config(n_samples=20, steps=20_000, losses=("exp",), n_inits=2),
)
