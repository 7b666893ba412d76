"""Early-stopped gradient descent against ridge at λ = 1/t: bias never larger, variance at most c*² times.

Least squares y = Xβ₀ + ε with the mean square loss (1/2n)‖Xβ − y‖². Gradient flow from 0 stopped at time t
and ridge (XᵀX + nλI)⁻¹Xᵀy at λ = 1/t have, direction by direction of XᵀX/n = V diag(s) Vᵀ with x = ts,
bias factors e^{−2x} ≤ (1 + x)⁻² and variance factors whose ratio is ((1 − e^{−x})(1 + x)/x)² ≤ c*²,
c* = sup_x (1 − e^{−x})(1 + x)/x, so for every design, signal and noise level (Ali, Kolter & Tibshirani
2019, Theorem 1): Bias_gf(t) ≤ Bias_ridge(1/t), Var_gf(t) ≤ c*² Var_ridge(1/t), Risk_gf(t) ≤ c*² Risk_ridge(1/t).
c*² = 1.685909… (x* = 1.79328…); the paper quotes the rounded-up 1.6862. On a pure-noise orthogonal design
(β₀ = 0, XᵀX/n = I) the ratio at t = x* is exactly c*²: the constant cannot be improved.

What is measured: GD is linear in y, β_k = A_k y, so training it on the n unit targets e_j (one vmapped
sweep) measures the whole map A_k; the measured iterates are checked against the discrete closed form
A_k = V diag((1 − (1 − hs)^k)/s) Vᵀ Xᵀ/n and their noise-integrated risk ‖A_k Xβ₀ − β₀‖² + σ²‖A_k‖²_F against
the closed-form GD risk. The flow–ridge comparison runs on the closed forms over a log grid of t on
Gaussian (tall and wide) and orthogonal designs, and the Marchenko–Pastur limits of both risks (isotropic
prior, scipy quadrature) are checked against the risks of large Gaussian designs.

References: Ali, Kolter, Tibshirani, "A continuous-time view of early stopping for least squares",
AISTATS 2019 (Lemma 5, Theorem 1, Theorem 6).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from implicit_bias import losses, optim
from implicit_bias.engine import train
from implicit_bias.experiments.registry import Entry
from implicit_bias.models.linear import LinearModel
from implicit_bias.metrics.risk import (PAPER_CONSTANT, design_spectrum, early_stopping_constant, gd_risk,
                                        gf_risk, mp_gf_risk, mp_ridge_risk, ridge_risk)
from implicit_bias.problems.problem import Problem
from implicit_bias.results import Result, at_most, close_to, is_true


@dataclass(frozen=True)
class Config:
    """Designs (n, d) trained with GD (the wide one too when ``train_wide``); t grid for the flow–ridge
    ratios; MP check sizes; λ = ridge_scale/t."""

    n_samples: int = 100
    n_features: int = 50
    noise: float = 1.0
    signal: float = 1.0
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 600
    n_times: int = 400
    mp_n_samples: int = 2000
    mp_gammas: tuple[float, ...] = (0.5, 2.0)
    mp_times: tuple[float, ...] = (0.5, 2.0, 8.0)
    ridge_scale: float = 1.0
    train_wide: bool = True


def _gd_map(X: np.ndarray, steps: int, description: str):
    """(record steps, A_k (R, d, n), h): GD from 0 on every unit target, h = 1/s_max."""
    n, d = X.shape
    s_max = float(np.linalg.eigvalsh(X.T @ X / n).max())
    h = 1.0 / s_max
    # configuration j trains on the unit target e_j (its own targets): the map y ↦ w_k column by column
    out = train(LinearModel(d), losses.square, optim.GD(), Problem(X, np.zeros(n)), steps=steps,
                step_size=h, config_data={"y": np.eye(n)}, n_records=40, description=description)
    return out.steps, np.transpose(out.records["w"], (1, 2, 0)), h  # (R, d, n)


def _closed_map(X: np.ndarray, h: float, ks: np.ndarray) -> np.ndarray:
    """A_k = V diag((1 − (1 − hs)^k)/s) Vᵀ Xᵀ/n for each k: (R, d, n)."""
    n, _ = X.shape
    U, sv, Vt = np.linalg.svd(X, full_matrices=False)
    s = sv ** 2 / n
    factor = (1.0 - (1.0 - h * s)[None, :] ** ks[:, None].astype(float)) / s  # (R, r)
    return np.einsum("ir,kr,rj->kij", Vt.T, factor, (sv[:, None] * U.T) / n)


def _ratios(s, b2, sigma2, n, times, scale):
    gb, gv = gf_risk(s, b2, sigma2, n, times)
    rb, rv = ridge_risk(s, b2, sigma2, n, scale / times)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"bias": np.where(rb > 0, gb / rb, 1.0), "variance": np.where(rv > 0, gv / rv, 1.0),
                "risk": (gb + gv) / (rb + rv)}


def _designs(config: Config, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (X, β₀): Gaussian tall and wide, orthogonal with signal, orthogonal pure noise."""
    rng = np.random.default_rng(seed)
    n, d = config.n_samples, config.n_features
    beta = config.signal * rng.standard_normal(d) / np.sqrt(d)
    q, _ = np.linalg.qr(rng.standard_normal((n, d)))
    return {"gaussian n>d": (rng.standard_normal((n, d)), beta),
            "gaussian n<d": (rng.standard_normal((d, n)), config.signal * rng.standard_normal(n) / np.sqrt(n)),
            "orthogonal": (np.sqrt(n) * q, beta),
            "orthogonal pure noise": (np.sqrt(n) * q, np.zeros(d))}


def _figures(curves, mp_rows):
    from implicit_bias.plotting import color, new_figure

    _, c_star = early_stopping_constant()
    fig, axes = new_figure(ncols=3, width=13.5)
    for a, key in zip(axes, ("bias", "variance", "risk")):
        for i, (name, (times, ratios)) in enumerate(curves.items()):
            a.semilogx(times, ratios[key], color=color(i), label=name)
        a.axhline(c_star ** 2 if key != "bias" else 1.0, color="black", linestyle=":",
                  label="c*² = 1.6859" if key != "bias" else "1")
        a.set_xlabel("t (ridge at λ = 1/t)")
        a.set_title(f"{key}: gradient flow / ridge")
    axes[0].legend(fontsize="small")
    fig2, ax = new_figure()
    for i, (gamma, times, gf_limit, ridge_limit, gf_meas, ridge_meas) in enumerate(mp_rows):
        ax.semilogx(times, gf_limit, color=color(i), label=f"gradient flow, MP limit γ = {gamma:g}")
        ax.semilogx(times, ridge_limit, color=color(i), linestyle="--", label=f"ridge λ = 1/t, MP limit γ = {gamma:g}")
        ax.semilogx(times, gf_meas, "o", color=color(i), markersize=4)
        ax.semilogx(times, ridge_meas, "s", color=color(i), markersize=4, fillstyle="none")
    ax.set_xlabel("t")
    ax.set_ylabel("estimation risk E‖β̂ − β₀‖²")
    ax.set_title("Marchenko–Pastur limits (lines) and one large design (markers)")
    ax.legend(fontsize="small")
    return {"risk_ratio": fig, "mp_risk": fig2}


def run(config: Config) -> Result:
    x_star, c_star = early_stopping_constant()
    bound = c_star ** 2
    sigma2 = config.noise ** 2
    claims = [is_true(f"c*² = {bound:.7f} (x* = {x_star:.6f}) lies below the paper's rounded 1.6862, within 5e-4",
                      bound <= PAPER_CONSTANT and PAPER_CONSTANT - bound <= 5e-4, kind="sanity")]
    times = np.geomspace(1e-2, 1e3, config.n_times)
    worst = {}
    map_err = risk_err = 0.0
    frames, curves = [], {}
    for seed in config.seeds:
        for name, (X, beta) in _designs(config, seed).items():
            n, d = X.shape
            s, b2 = design_spectrum(X, beta)
            ratios = _ratios(s, b2, sigma2, n, times, config.ridge_scale)
            for key, values in ratios.items():
                worst[(name, key)] = max(worst.get((name, key), 0.0), float(np.max(values)))
            if seed == config.seeds[0]:
                curves[name] = (times, ratios)
            if name == "gaussian n>d" or (name == "gaussian n<d" and config.train_wide):
                ks, measured, h = _gd_map(X, config.steps, f"GD unit targets {name} seed {seed}")
                closed = _closed_map(X, h, ks)
                map_err = max(map_err, float(np.max(np.linalg.norm(measured - closed, axis=(1, 2))
                                                    / np.maximum(np.linalg.norm(closed, axis=(1, 2)), 1e-300))))
                bias_m = np.sum((measured @ (X @ beta) - beta) ** 2, axis=1)
                var_m = sigma2 * np.sum(measured ** 2, axis=(1, 2))
                bias_c, var_c = gd_risk(s, b2, sigma2, n, h, ks)
                risk_err = max(risk_err, float(np.max(np.abs(bias_m + var_m - bias_c - var_c) / (bias_c + var_c))))
                frames.append(pd.DataFrame({"series": f"gd {name} seed {seed}", "config": 0,
                                            "step": np.repeat(ks, 2), "metric": np.tile(["bias", "variance"], len(ks)),
                                            "value": np.column_stack([bias_m, var_m]).reshape(-1)}))
    claims.append(at_most("GD iterates equal the discrete closed form A_k = V(1 − (1 − hs)^k)/s VᵀXᵀ/n "
                          "(max relative Frobenius error over k, designs, seeds)", map_err, 1e-10))
    claims.append(at_most("measured GD risk (noise integrated through the measured map) equals the closed-form "
                          "GD risk (max relative error)", risk_err, 1e-10))
    for name in curves:
        if name != "orthogonal pure noise":  # β₀ = 0: both biases vanish
            claims.append(at_most(f"{name}: max over t of Bias_gf(t)/Bias_ridge(λ = 1/t) ≤ 1 (worst seed)",
                                  worst[(name, "bias")], 1.0 + 1e-12))
        claims.append(at_most(f"{name}: max over t of Var_gf(t)/Var_ridge(1/t) ≤ c*²", worst[(name, "variance")],
                              bound + 1e-12))
        claims.append(at_most(f"{name}: max over t of Risk_gf(t)/Risk_ridge(1/t) ≤ c*²", worst[(name, "risk")],
                              bound + 1e-12))
    s_orth, b2_orth = design_spectrum(*_designs(config, config.seeds[0])["orthogonal pure noise"])
    at_star = _ratios(s_orth, b2_orth, sigma2, config.n_samples, np.array([x_star]), config.ridge_scale)["risk"][0]
    claims.append(close_to("pure-noise orthogonal design: risk ratio at t = x* attains c*²", at_star, bound, 1e-12))
    claims.append(close_to("pure-noise orthogonal design: max over the t grid approaches c*² (grid spacing 2.9e-2 "
                           "in log t: gap ≤ 1e-3)", worst[("orthogonal pure noise", "risk")], bound, 1e-3))

    mp_rows, mp_err, quad_ok = [], 0.0, True
    for gamma in config.mp_gammas:
        n = config.mp_n_samples
        d = int(round(gamma * n))
        rng = np.random.default_rng(1000 + int(100 * gamma))
        sv = np.linalg.svd(rng.standard_normal((n, d)), compute_uv=False)
        s = np.zeros(d)
        s[:sv.size] = sv ** 2 / n
        b2 = np.full(d, config.signal ** 2 / d)  # isotropic prior: E (vᵢᵀβ₀)² = r²/d
        mt = np.asarray(config.mp_times)
        gf_m = np.sum(gf_risk(s, b2, sigma2, n, mt), axis=0)
        ridge_m = np.sum(ridge_risk(s, b2, sigma2, n, 1.0 / mt), axis=0)
        gf_l = np.array([sum(mp_gf_risk(gamma, config.signal ** 2, sigma2, t)) for t in mt])
        ridge_l = np.array([sum(mp_ridge_risk(gamma, config.signal ** 2, sigma2, 1.0 / t)) for t in mt])
        quad_ok &= bool(np.all(np.isfinite(gf_l)) and np.all(np.isfinite(ridge_l)))
        mp_err = max(mp_err, float(np.max(np.abs(gf_m / gf_l - 1))), float(np.max(np.abs(ridge_m / ridge_l - 1))))
        mp_rows.append((gamma, mt, gf_l, ridge_l, gf_m, ridge_m))
    tol = 10.0 / (min(config.mp_gammas) * config.mp_n_samples)
    claims.append(is_true("MP quadratures finite", quad_ok, kind="guard"))
    claims.append(at_most(f"Marchenko–Pastur limits of the gradient-flow and ridge risks match designs with "
                          f"n = {config.mp_n_samples} (max relative error; O(1/d) finite-size tolerance 10/d)",
                          mp_err, tol))
    notes = [f"c* = {c_star:.12f}, c*² = {bound:.12f} at x* = {x_star:.12f}; the paper's 1.6862 is c*² rounded up "
             f"(c*² rounds to 1.6859).",
             "Risk = E_ε‖β̂ − β₀‖² given X (noise integrated exactly, never sampled).",
             f"λ = {config.ridge_scale:g}/t." if config.ridge_scale != 1.0 else "λ = 1/t."]
    metrics = pd.concat(frames, ignore_index=True) if frames else None
    return Result("early-stopping-ridge", asdict(config), claims, metrics, _figures(curves, mp_rows), notes=notes)


ENTRY = Entry(
    name="early-stopping-ridge",
    summary="gradient flow stopped at t vs ridge at λ = 1/t: bias ≤ ridge's, variance and risk ≤ c*² = 1.6859 × ridge's",
    description=("Gradient flow on least squares stopped at time t has, for every design, at most the bias of ridge "
                 "at λ = 1/t and at most c*² = 1.6859 times its variance and risk, and the constant is attained on a "
                 "pure-noise orthogonal design; measured GD iterates (the whole linear map, trained on unit targets) "
                 "equal their discrete closed form, and the Marchenko–Pastur limits of both risks match large "
                 "Gaussian designs. The theorem is size-free; full mode is a small stand-in for the paper's "
                 "experiments (n = 100, d = 50 and 50 × 100, 3 seeds, MP check at n = 2000), quick mode smaller."),
    paper="Ali, Kolter, Tibshirani 2019, A continuous-time view of early stopping for least squares (AISTATS)",
    run=run,
    full=Config(),
    quick=Config(n_samples=60, n_features=30, seeds=(0,), steps=400, mp_n_samples=800, train_wide=False),
)
