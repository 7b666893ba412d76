"""In high dimension every training point is a support vector: the max-margin classifier is X⁺y.

For X (n, d) with XXᵀ invertible, the hard-margin SVM through the origin equals the least-norm
interpolator of the labels, ŵ = X⁺y = Xᵀ(XXᵀ)⁻¹y, exactly when its dual α = y ⊙ (XXᵀ)⁻¹y is positive
(support-vector proliferation); then GD on the logistic loss, whose direction tends to ŵ, ends at the
regression solution. With isotropic Gaussian x and any labels this holds with probability ≥ 1 − 2/n once
d ≥ 10 n log n + n − 1 (Hsu, Muthukumar & Xu 2021, Theorem 1), and the sharp threshold is d ≈ 2 n log n
(Ardeshir, Sanford & Hsu 2021): the probability is measured across τ = d/(n log n) and its transition
located, the algebraic condition is checked against the Clarabel QP, and normalized GD's direction against X⁺y.

Natural-gradient descent (:mod:`implicit_bias.optim.natural`, the Euclidean metric on the training
predictions) is invariant to reparameterization in function space: with J of full row rank, its training
predictions follow f ← f − h n∇_f L + O(h²) in any parameterization (Kerekes, Mészáros & Huszár 2021 make
this point for natural gradient flow; their abstract: "approximately invariant to reparameterization, it
always follows the same trajectory"). On the logistic loss from f(0) = 0 every margin then obeys the same
recursion m ← m + hσ(−m), so f(t) = m(t) y: the predictions of the linear, diagonal (u² − v²) and deep
linear (identity-activation MLP, symmetric init) parameterizations coincide to O(h), and the linear
model's w = X⁺f is exactly along X⁺y. What is not invariant is the part of w that the data do not see:
w leaves rowspan(X) in the diagonal and deep parameterizations, so only the predictions (and the linear
model's direction) are claimed. Plain GD in the diagonal parameterization does not follow that path.

References: Hsu, Muthukumar, Xu, "On the proliferation of support vectors in high dimensions", AISTATS 2021;
Muthukumar, Narang, Subramanian, Belkin, Hsu, Sahai, "Classification vs regression in overparameterized
regimes: does the loss function matter?", JMLR 2021; Ardeshir, Sanford, Hsu, "Support vector machines and
linear regression coincide with very high-dimensional features", NeurIPS 2021; Kerekes, Mészáros, Huszár,
"Depth without the magic: inductive bias of natural gradient descent", 2021.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from implicit_bias import losses, optim
from implicit_bias.engine import train
from implicit_bias.experiments.registry import Entry
from implicit_bias.metrics.geometry import angle_gap
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.models.mlp import MLP
from implicit_bias.optim.natural import NaturalGD
from implicit_bias.problems.problem import Problem
from implicit_bias.references.max_margin import hard_margin_svm
from implicit_bias.results import Result, at_least, at_most, close_to, is_true


@dataclass(frozen=True)
class Config:
    """Sizes n for the probability curve, τ grid, trials per point; the GD/NGD instance; NGD steps."""

    n_samples: tuple[int, ...] = (16, 32, 64)
    taus: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
    trials: int = 400
    qp_checks: int = 8
    seed: int = 0
    gd_n_samples: int = 12
    gd_tau: float = 4.0
    gd_steps: int = 40_000
    gd_step_size: float = 0.5
    step_size: float = 0.1
    steps: int = 300
    init_scale: float = 0.3
    width: int = 32
    optimizer: str = "natural-gd"


def _sizes(n: int, tau: float) -> int:
    return int(np.ceil(tau * n * np.log(n)))


def svp_event(X: np.ndarray, y: np.ndarray) -> bool:
    """Every point is a support vector of the hard-margin SVM: y ⊙ (XXᵀ)⁻¹y > 0."""
    return bool(np.all(y * np.linalg.solve(X @ X.T, y) > 0))


def _instance(rng, n, d):
    return rng.standard_normal((n, d)), rng.choice([-1.0, 1.0], n)


def _curve(config: Config):
    """(n -> probabilities over τ, [(event, ‖X⁺y‖/‖ŵ_QP‖ − 1)] on the QP-checked instances).

    X⁺y always satisfies every margin constraint with equality, so it is the SVM exactly when its norm equals
    the QP's optimal ‖ŵ‖ (the QP's optimal value is accurate to second order in its certified KKT residual)."""
    rng = np.random.default_rng(config.seed)
    out, checked = {}, []
    for n in config.n_samples:
        probs = []
        for tau in (*config.taus, _hmx_tau(n)):
            d = _sizes(n, tau)
            hits = 0
            for trial in range(config.trials):
                X, y = _instance(rng, n, d)
                event = svp_event(X, y)
                hits += event
                if n == config.n_samples[0] and trial < config.qp_checks and 1.0 <= tau <= 2.0:
                    svm = hard_margin_svm(X, y)
                    pinv = np.linalg.pinv(X) @ y
                    checked.append((event, float(np.linalg.norm(pinv) / svm.objective - 1.0)))
            probs.append(hits / config.trials)
        out[n] = np.array(probs)
    return out, checked


def _hmx_tau(n: int) -> float:
    """τ of Hsu–Muthukumar–Xu's sufficient dimension d = 10 n log n + n − 1."""
    return (10 * n * np.log(n) + n) / (n * np.log(n))


def _midpoint(taus: np.ndarray, probs: np.ndarray) -> float:
    """τ where the measured curve first crosses 1/2 (linear interpolation in τ)."""
    above = np.flatnonzero(probs >= 0.5)
    if above.size == 0 or above[0] == 0:
        return float("nan") if above.size == 0 else float(taus[0])
    i = above[0]
    return float(taus[i - 1] + (0.5 - probs[i - 1]) * (taus[i] - taus[i - 1]) / (probs[i] - probs[i - 1]))


def _prediction_record(model):
    def record(params, hp, data):
        f = model.predict(params, data["X"])
        return {"f": f, "loss": losses.logistic.value(f, data["y"])}

    return record


def _linear_w(model, params, d):
    """The linear predictor of a linear-in-x model: w = predict(params, I_d)."""
    return np.asarray(model.predict(params, jnp.eye(d)))


def _natural(config: Config, X: np.ndarray, y: np.ndarray):
    """Per parameterization: (record steps, f (2, R, n) at steps h and h/2, final w at step h)."""
    n, d = X.shape
    models = {"linear": LinearModel(d), "diagonal u²−v²": DiagonalModel(d, init_scale=config.init_scale),
              "deep linear (depth 3)": MLP(d, widths=(config.width, config.width), activation="identity",
                                           init_scale=1.0, symmetric_init=True)}
    ks = np.unique(np.r_[0, np.geomspace(1, config.steps, 24).round()].astype(int))
    record_steps = np.unique(np.r_[ks, 2 * ks])
    out = {}
    for name, model in models.items():
        opt = NaturalGD() if config.optimizer == "natural-gd" or name == "linear" else optim.GD()
        h = config.step_size
        res = train(model, losses.logistic, opt, Problem(X, y), steps=2 * config.steps,
                    hparams={"step_size": [h, h / 2]}, record_steps=record_steps, record=_prediction_record(model),
                    description=f"{config.optimizer} {name}")
        f = res.records["f"]
        f_h = f[0][np.searchsorted(record_steps, ks)]
        f_half = f[1][np.searchsorted(record_steps, 2 * ks)]
        params_h = jax.tree_util.tree_map(lambda a: a[0], res.params)
        # w at step h·K for the final comparison: train ran 2K steps at h, so use the h/2 run's end (time hK)
        params_half = jax.tree_util.tree_map(lambda a: a[1], res.params)
        out[name] = (ks, f_h, f_half, _linear_w(model, params_half, d), res.diverged.any(), params_h)
    return out


def _svp_claims(config: Config, curves, checked) -> list:
    claims = []
    taus = np.array(config.taus)
    for n, probs in curves.items():
        slack = 3 * np.sqrt(2 / n * (1 - 2 / n) / config.trials) if n > 2 else 0.0
        claims.append(at_least(f"n = {n}: P(all support vectors) at d = 10 n log n + n − 1 ≥ 1 − 2/n "
                               f"(Hsu et al. Thm 1; 3 binomial SE slack)", probs[-1], 1 - 2 / n - slack))
        mid = _midpoint(taus, probs[:-1])
        claims.append(is_true(f"n = {n}: the measured probability crosses 1/2 at τ = {mid:.2f}, between n log n "
                              f"and the asymptotic sharp threshold 2 n log n", 1.0 <= mid <= 2.0))
    claims.append(at_least("P(all support vectors) at τ = 0.5 is small and at τ = 4 large (difference, worst n)",
                           min(p[list(config.taus).index(4.0)] - p[0] for p in curves.values()), 0.9))
    if len(config.n_samples) > 1:
        first, last = curves[config.n_samples[0]], curves[config.n_samples[-1]]
        i1 = list(config.taus).index(1.0)
        claims.append(at_most(f"the transition sharpens: P at τ = 1 falls from n = {config.n_samples[0]} to "
                              f"n = {config.n_samples[-1]}", last[i1], first[i1]))
    inside = [dist for event, dist in checked if event]
    outside = [dist for event, dist in checked if not event]
    claims.append(at_most(f"y ⊙ (XXᵀ)⁻¹y > 0 ⇒ X⁺y (feasible, all margins 1) attains the Clarabel QP's minimum "
                          f"‖ŵ‖: max ‖X⁺y‖/‖ŵ_QP‖ − 1 over {len(inside)} of {len(checked)} QP-checked instances, "
                          f"τ ∈ [1, 2]", max(inside, default=0.0), 1e-9))
    claims.append(at_least(f"otherwise X⁺y is not the SVM: min ‖X⁺y‖/‖ŵ_QP‖ − 1 over {len(outside)} instances",
                           min(outside, default=1.0), 1e-8))
    claims.append(is_true("both cases occur among the QP-checked instances", bool(inside) and bool(outside), kind="sanity"))
    return claims


def _gd_instance(config: Config):
    """(X, y, claims): an instance with every point a support vector, and normalized GD's direction on it."""
    claims = []
    rng = np.random.default_rng(config.seed + 7)
    n = config.gd_n_samples
    d = _sizes(n, config.gd_tau)
    X, y = _instance(rng, n, d)
    while not svp_event(X, y):
        X, y = _instance(rng, n, d)
    svm = hard_margin_svm(X, y)
    pinv = np.linalg.pinv(X) @ y
    claims.append(is_true("GD instance: every point a support vector in the QP and ŵ_QP = X⁺y (1e-8)",
                          svm.info["n_support"] == n and np.linalg.norm(svm.solution - pinv) <= 1e-8 * np.linalg.norm(pinv),
                          kind="guard"))
    ngd = train(LinearModel(d), losses.logistic, optim.NormalizedGD(), Problem(X, y), steps=config.gd_steps,
                step_size=config.gd_step_size, n_records=30, description="normalized GD")
    w = ngd.end_to_end[0]
    claims.append(is_true("normalized GD separates the data with growing margin", bool(np.all(y * (X @ w) > 0))
                          and np.linalg.norm(w) > 10 * np.linalg.norm(ngd.records["w"][0, 1]), kind="guard"))
    claims.append(at_most("normalized GD on the logistic loss: 1 − cos(w, X⁺y)", float(angle_gap(w, pinv)), 1e-6))
    return X, y, claims


def _natural_claims(config: Config, X: np.ndarray, y: np.ndarray, nat) -> tuple[list, dict]:
    claims = []
    pinv = np.linalg.pinv(X) @ y
    ks, f_lin_h, f_lin_half, w_lin, _, _ = nat["linear"]
    claims.append(is_true("natural GD runs finite", not any(v[4] for v in nat.values()), kind="guard"))
    m_rec = np.zeros(len(ks))
    m, k_done = 0.0, 0
    for i, k in enumerate(ks):
        for _ in range(k - k_done):
            m += config.step_size / (1.0 + np.exp(m))
        k_done = k
        m_rec[i] = m
    claims.append(at_most("linear natural GD: f_k = m_k y with m ← m + hσ(−m) (max relative error)",
                          float(np.max(np.abs(f_lin_h[1:] - m_rec[1:, None] * y) / m_rec[1:, None])), 1e-8))
    claims.append(at_most("linear natural GD: 1 − cos(w, X⁺y)", float(angle_gap(w_lin, pinv)), 1e-12))
    t_end = config.step_size * ks[-1]
    rows = []
    for name in ("diagonal u²−v²", "deep linear (depth 3)"):
        _, f_h, f_half, w_p, _, _ = nat[name]
        err_h = float(np.max(np.linalg.norm(f_h[1:] - f_lin_h[1:], axis=1) / np.linalg.norm(f_lin_h[1:], axis=1)))
        err_half = float(np.max(np.linalg.norm(f_half[1:] - f_lin_half[1:], axis=1)
                                / np.linalg.norm(f_lin_half[1:], axis=1)))
        rows.append((name, err_h, err_half, w_p))
        claims.append(at_most(f"{name}: predictions follow the linear model's natural-gradient path up to t = {t_end:g} "
                              f"(max relative distance at step h = {config.step_size:g})", err_h, 0.05))
        claims.append(_first_order(name, err_h, err_half))
        spread = np.ptp(y * f_h[-1]) / np.mean(y * f_h[-1])
        claims.append(at_most(f"{name}: all training margins equal at the end (relative spread)", float(spread), 0.05))
    off = {name: float(np.linalg.norm(w_p - np.linalg.pinv(X) @ (X @ w_p)) / np.linalg.norm(w_p))
           for name, _, _, w_p in rows}
    return claims, off


def run(config: Config) -> Result:
    curves, checked = _curve(config)
    claims = _svp_claims(config, curves, checked)
    X, y, gd_claims = _gd_instance(config)
    nat = _natural(config, X, y)
    nat_claims, off = _natural_claims(config, X, y, nat)
    claims += gd_claims + nat_claims
    notes = [f"probability curves over τ = {list(config.taus)} (+ Hsu et al.'s τ): "
             + "; ".join(f"n = {k}: {np.round(v, 3).tolist()}" for k, v in curves.items()),
             "natural GD end-to-end w off rowspan(X) (relative; not invariant, not claimed): "
             + ", ".join(f"{k}: {v:.3g}" for k, v in off.items()),
             f"optimizer for the reparameterized models: {config.optimizer}"]
    metrics = pd.DataFrame([{"series": f"svp n={k}", "config": 0, "step": i, "metric": "probability",
                             "value": float(p), "tau": float(t)}
                            for k, v in curves.items() for i, (t, p) in enumerate(zip((*config.taus, _hmx_tau(k)), v))])
    return Result("classification-as-regression", asdict(config), claims, metrics, _figures(config, curves, nat, y),
                  notes=notes)


def _first_order(name: str, err_h: float, err_half: float):
    """The O(h) discrepancy: halving h halves it (fitted order log2(err_h/err_half) within [0.7, 1.3])."""
    order = float(np.log2(err_h / err_half)) if err_half > 0 and err_h > 0 else float("nan")
    return close_to(f"{name}: the discrepancy is first order in h (log2 of its ratio at h and h/2)", order, 1.0, 0.3)


def _figures(config, curves, nat, y):
    from implicit_bias.plotting import color, new_figure

    fig, ax = new_figure()
    for i, (n, probs) in enumerate(curves.items()):
        ax.plot(list(config.taus), probs[:-1], "o-", color=color(i), label=f"n = {n}")
    ax.axvline(2.0, color="black", linestyle=":", label="2 n log n")
    ax.set_xscale("log")
    ax.set_xlabel("τ = d/(n log n)")
    ax.set_ylabel("P(every point is a support vector)")
    ax.set_title("Support-vector proliferation")
    ax.legend()
    fig2, ax2 = new_figure()
    for i, (name, (ks, f_h, _, _, _, _)) in enumerate(nat.items()):
        margins = y * f_h
        ax2.plot(ks * config.step_size, margins.min(axis=1), color=color(i), label=f"{name} (min margin)")
        ax2.plot(ks * config.step_size, margins.max(axis=1), color=color(i), linestyle="--")
    ax2.set_xlabel("t = k h")
    ax2.set_ylabel("training margins y_i f_i")
    ax2.set_title(f"{config.optimizer}: predictions in three parameterizations")
    ax2.legend(fontsize="small")
    return {"support_vector_proliferation": fig, "natural_gradient_margins": fig2}


ENTRY = Entry(
    name="classification-as-regression",
    summary="when d ≳ 2n log n every point is a support vector and the max-margin direction is X⁺y",
    description=("Above d ≈ 2 n log n (τ = d/(n log n) > 2) every training point is a support vector, so the hard-margin "
                 "SVM equals X⁺y and normalized GD's direction does too: the condition y ⊙ (XXᵀ)⁻¹y > 0 is checked against "
                 "the QP and its probability measured across τ, with the transition between n log n and 2 n log n "
                 "that sharpens with n. Natural-gradient descent moves the training predictions along the same path in "
                 "the linear, diagonal and deep-linear parameterizations (to O(h)), so all margins stay equal and the "
                 "linear model's direction is X⁺y. Full mode is a small stand-in for the papers' simulations (n = 16, 32, 64, "
                 "400 trials per point); quick mode is smaller."),
    paper="Hsu, Muthukumar, Xu 2021; Muthukumar et al. 2021 (JMLR); Ardeshir, Sanford, Hsu 2021; "
          "Kerekes, Mészáros, Huszár 2021",
    run=run,
    full=Config(),
    quick=Config(n_samples=(16, 32), trials=100, qp_checks=4, gd_steps=10_000, steps=120),
)
