"""Backward error analysis: GD with step h is the gradient flow of L + (h/4)‖∇L‖² up to O(h²).

GD's iterate θ_k and the plain gradient flow at the same time t = kh differ by O(h); the flow of
Barrett & Dherin's modified loss L̃ = L + (h/4)‖∇L‖² is a whole order closer, O(h²). The entry
measures both distances at a fixed t for a geometric sequence of step sizes on three models — a
quadratic (least squares on a linear model), a diagonal network and a small tanh MLP — and fits
the slopes of log distance against log h (expected 1 and 2).

The quadratic is also checked in closed form: with H = XᵀX/n and w_LS the least-squares solution,
the modified flow is w(t) = w_LS + exp(−t(H + hH²/2))(w0 − w_LS) (per eigenvalue λ of H the factor
exp(−(hλ + h²λ²/2) t/h)), and GD is w_LS + (I − hH)^k (w0 − w_LS).

One program per model and method: GD over all h (records at the steps t/h), one modified-flow sweep
(IGRFlow with ``hp["step_size"]`` swept) and the plain flow, Dopri8 at rtol 1e-12. At the same t,
larger steps end at smaller ‖∇L‖ (the implicit gradient penalty), and the modified flow reproduces
GD's ‖∇L‖ a whole order closer than the plain flow does.

References: Barrett & Dherin, "Implicit gradient regularization", ICLR 2021; Hairer, Lubich,
Wanner, Geometric Numerical Integration, ch. IX (backward error analysis).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import scipy.linalg
from jax.flatten_util import ravel_pytree

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.experiments.registry import Entry
from implicit_bias.metrics.rates import fit_loglog_slope
from implicit_bias.metrics.trajectory import ParamsRecord
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.models.mlp import MLP
from implicit_bias.optim import GD, Flow
from implicit_bias.optim.modified import IGRFlow
from implicit_bias.problems import Problem, sparse_regression
from implicit_bias.results import Result, at_most, close_to, is_true


@dataclass(frozen=True)
class Config:
    """Data sizes, the time t, the step counts k (h = t/k) and the flow's tolerance."""

    n_samples: int = 20
    n_features: int = 10
    diagonal_features: int = 20
    mlp_width: int = 16
    time_horizon: float = 1.0
    step_counts: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    rtol: float = 1e-12
    slope_tolerance: float = 0.1
    seed: int = 0


def _models(config: Config):
    """(name, model, problem): a quadratic, a diagonal network, a tanh MLP."""
    reg = sparse_regression(config.n_samples, config.n_features, 3, n_test=1, seed=config.seed)
    quad = Problem(reg.X, reg.y, name="least squares")
    wide = sparse_regression(config.n_samples // 2, config.diagonal_features, 2, n_test=1, seed=config.seed + 1)
    rng = np.random.default_rng(config.seed + 2)
    Xm = rng.standard_normal((config.n_samples, 5))
    mlp_problem = Problem(Xm, np.sin(Xm[:, 0]) + 0.5 * Xm[:, 1], name="tanh regression")
    return [("quadratic", LinearModel(config.n_features), quad),
            ("diagonal network", DiagonalModel(config.diagonal_features, init_scale=0.5),
             Problem(wide.X, wide.y, name="sparse regression")),
            ("MLP", MLP(5, widths=(config.mlp_width,), activation="tanh"), mlp_problem)]


def _distances(model, problem, config: Config):
    """(h, ‖θ_GD − θ_flow‖, ‖θ_GD − θ_modified‖, GD thetas, modified-flow thetas, frames)."""
    t = float(config.time_horizon)
    ks = np.asarray(sorted(config.step_counts), dtype=np.int64)
    hs = t / ks
    gd = train(model, losses.square, GD(), problem, steps=int(ks.max()), hparams={"step_size": hs},
               record_steps=np.r_[0, ks], record=ParamsRecord(model, losses.square), description="gd")
    at = np.searchsorted(gd.steps, ks)
    theta_gd = gd.records["theta"][np.arange(len(ks)), at]
    flow = train(model, losses.square, IGRFlow(solver="dopri8", rtol=config.rtol, atol=config.rtol * 1e-2),
                 problem, time_horizon=t, hparams={"step_size": hs}, record_steps=np.array([t]),
                 record=ParamsRecord(model, losses.square), description="modified flows")
    flow0 = train(model, losses.square, Flow(solver="dopri8", rtol=config.rtol, atol=config.rtol * 1e-2),
                  problem, time_horizon=t, record_steps=np.array([t]), record=ParamsRecord(model, losses.square),
                  description="plain flow")
    theta_flow = np.concatenate([flow0.records["theta"][:, -1], flow.records["theta"][:, -1]])
    plain = np.linalg.norm(theta_gd - theta_flow[0], axis=1)
    modified = np.linalg.norm(theta_gd - theta_flow[1:], axis=1)
    ok = bool(flow.solver_ok.all() and flow0.solver_ok.all() and not gd.diverged.any())
    return hs, plain, modified, theta_gd, theta_flow[1:], theta_flow[0], ok


def gradient_norms(model, problem: Problem, thetas: np.ndarray) -> np.ndarray:
    """‖∇L(θ)‖ over the trained parameters at each flattened θ of ``thetas`` (k, P) (an MLP's output scale
    is a constant, not a parameter)."""
    import jax

    _, unravel = ravel_pytree(model.init({}, jax.random.PRNGKey(0)))
    X, y = jax.numpy.asarray(problem.X), jax.numpy.asarray(problem.y)
    trained = model.trainable if isinstance(model, MLP) else (lambda p: p)

    def norm(theta):
        g = jax.grad(lambda p: losses.square.value(model.predict(p, X), y))(unravel(theta))
        return jax.numpy.linalg.norm(ravel_pytree(trained(g))[0])

    return np.asarray(jax.jit(jax.vmap(norm))(jax.numpy.asarray(thetas)))


def _quadratic_closed_form(problem: Problem, hs: np.ndarray, t: float):
    """(GD iterates at k = t/h, modified-flow values at t) in closed form, from w0 = 0."""
    X, y = problem.X, problem.y
    n = X.shape[0]
    H = X.T @ X / n
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    gd, flow = [], []
    for h in hs:
        k = int(round(t / h))
        gd.append(w_ls + np.linalg.matrix_power(np.eye(len(H)) - h * H, k) @ (-w_ls))
        flow.append(w_ls + scipy.linalg.expm(-t * (H + h * H @ H / 2)) @ (-w_ls))
    return np.array(gd), np.array(flow)


def _figure(curves, config: Config):
    from matplotlib.ticker import NullFormatter

    from implicit_bias.plotting import annotate_slope, color, log_axis_label, new_figure

    fig, axes = new_figure(ncols=len(curves))
    for ax, (name, (hs, plain, modified)) in zip(np.atleast_1d(axes), curves.items()):
        ax.loglog(hs, plain, color=color(0), marker="o", label="GD vs gradient flow")
        ax.loglog(hs, modified, color=color(1), marker="s", label="GD vs modified flow L + (h/4)‖∇L‖²")
        annotate_slope(ax, hs, plain, 1.0, "slope 1")
        annotate_slope(ax, hs, modified, 2.0, "slope 2", linestyle="--")
        ax.set_xticks(hs, [f"1/{round(config.time_horizon / h):d}" if config.time_horizon == 1 else f"{h:.3g}" for h in hs])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(log_axis_label("step size h"))
        ax.set_ylabel(log_axis_label(f"‖θ_k − θ(kh)‖ at t = {config.time_horizon:g}"))
        ax.set_title(name)
    np.atleast_1d(axes)[0].legend(fontsize="small", loc="upper left")
    return fig


def run(config: Config) -> Result:
    claims, frames, curves, notes = [], [], {}, []
    for name, model, problem in _models(config):
        hs, plain, modified, theta_gd, theta_mod, theta_plain, ok = _distances(model, problem, config)
        curves[name] = (hs, plain, modified)
        s1, s2 = fit_loglog_slope(hs, plain), fit_loglog_slope(hs, modified)
        tol = config.slope_tolerance
        claims.append(close_to(f"{name}: slope of log ‖θ_GD − θ_flow‖ against log h (plain flow, O(h))",
                               s1, 1.0, tol))
        claims.append(close_to(f"{name}: slope of log ‖θ_GD − θ_modified‖ against log h (modified flow, O(h²))",
                               s2, 2.0, 2 * tol))
        claims.append(at_most(f"{name}: max over h of ‖θ_GD − θ_modified‖ / ‖θ_GD − θ_flow‖",
                              float(np.max(modified / plain)), 0.5))
        claims.append(is_true(f"{name}: every flow solve finished and no GD run diverged", ok, kind="guard"))
        g_gd, g_mod = gradient_norms(model, problem, theta_gd), gradient_norms(model, problem, theta_mod)
        g_flow = float(gradient_norms(model, problem, theta_plain[None])[0])
        order = np.argsort(hs)
        claims.append(close_to(f"{name}: implicit gradient regularization, ‖∇L(θ_GD(t))‖ falls as h grows "
                               "(fraction of step-size pairs)", float(np.mean(np.diff(g_gd[order]) < 0)), 1.0, 0.0,
                               note=f"‖∇L‖ at t: flow {g_flow:.6g}; GD " + ", ".join(
                                   f"h={h:.3g}: {g:.6g}" for h, g in zip(hs[order], g_gd[order]))))
        claims.append(at_most(f"{name}: the explicit regularizer (h/4)‖∇L‖² reproduces GD's gradient-norm reduction: "
                              "max over h of |‖∇L‖_modified − ‖∇L‖_GD| / (‖∇L‖_flow − ‖∇L‖_GD)",
                              float(np.max(np.abs(g_mod - g_gd) / np.maximum(g_flow - g_gd, 1e-300))), 0.5))
        if name == "quadratic":
            gd_cf, flow_cf = _quadratic_closed_form(problem, hs, config.time_horizon)
            scale = np.linalg.norm(flow_cf, axis=1)
            claims.append(at_most("quadratic: max over h of ‖w_modified − closed form‖/‖w‖ "
                                  "(w_LS + exp(−t(H + hH²/2))(w0 − w_LS))",
                                  float(np.max(np.linalg.norm(theta_mod - flow_cf, axis=1) / scale)), 1e-9,
                                  kind="sanity"))
            claims.append(at_most("quadratic: max over h of ‖w_GD − (w_LS + (I − hH)^k(w0 − w_LS))‖/‖w‖",
                                  float(np.max(np.linalg.norm(theta_gd - gd_cf, axis=1) / scale)), 1e-10,
                                  kind="sanity"))
        frames.append(pd.DataFrame({"series": name, "config": np.arange(len(hs)), "step": np.round(config.time_horizon / hs),
                                    "metric": "distance_to_flow", "value": plain, "step_size": hs}))
        frames.append(pd.DataFrame({"series": name, "config": np.arange(len(hs)), "step": np.round(config.time_horizon / hs),
                                    "metric": "distance_to_modified_flow", "value": modified, "step_size": hs}))
    notes.append("Distances are Euclidean in parameter space at t = kh; the flows are Dopri8 at "
                 f"rtol {config.rtol:g}, far below the smallest distance.")
    return Result("igr-backward-error", asdict(config), claims, pd.concat(frames, ignore_index=True),
                  {"backward_error": _figure(curves, config)}, notes=notes)


ENTRY = Entry(
    name="igr-backward-error",
    summary="GD with step h tracks the flow of L + (h/4)‖∇L‖² to O(h²), the plain flow only to O(h); larger h, smaller ‖∇L‖",
    description=("On a quadratic, a diagonal network and a tanh MLP, the distance between the GD iterate and "
                 "the gradient flow at the same time t = kh is fitted against h: slope 1 for the plain flow and "
                 "slope 2 for Barrett & Dherin's modified flow. The finite step is itself an implicit gradient "
                 "penalty, the mechanism behind the step-size effects of the other entries: at the same time t, "
                 "larger steps end at smaller ‖∇L‖, and the explicit regularizer reproduces that reduction. Scale: small stand-ins in both modes "
                 "(20 samples; width-16 MLP), as in Barrett & Dherin's own order checks."),
    paper="Barrett & Dherin 2021, Implicit gradient regularization",
    run=run,
    full=Config(),
    quick=Config(step_counts=(16, 32, 64, 128, 256)),
)
