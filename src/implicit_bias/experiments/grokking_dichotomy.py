"""Grokking from a dichotomy of implicit biases: kernel (ℓ2 max-margin) early, ℓ1 max-margin late.

A diagonal network w = u⊙u − v⊙v (2-homogeneous in θ = (u, v)) from a large init u = v = α·1,
trained by gradient flow on the mean logistic loss plus weight decay (λ/2)‖θ‖², on n < d points
x ∈ {±1}^d/√d labelled by a 3-sparse rule y = sign(x_1 + x_2 + x_3):

* early phase (t < log(α)/λ): the network is in its kernel regime; its tangent kernel at init is
  linear in x, so it fits the data with the ℓ2 max-margin direction ŵ₂ (hard-margin SVM, QP) — train
  accuracy 1, test accuracy that of ŵ₂ (poor on a sparse rule);
* at t ≈ log(α)/λ the decay has shrunk θ from α to O(1) and the kernel regime ends (Lyu et al. 2024,
  Theorems 3.3 and 3.5: kernel predictor up to (1 − c) log(α)/λ, max-margin after (1 + c) log(α)/λ,
  as α → ∞; the constant in front of log(α)/λ is 1);
* late phase: the flow settles at a stationary point of L + (λ/2)‖θ‖², which for this network is
  w_λ = argmin L(w) + (λ/2)‖w‖₁ (min of (λ/2)(‖u‖² + ‖v‖²) over u⊙u − v⊙v = w), a convex program
  solved by cvxpy; as λ → 0, w_λ/‖w_λ‖₁ tends to the ℓ1 max-margin direction ŵ₁ (HiGHS LP). Test
  accuracy jumps while train accuracy stays 1: grokking.

The ℓ1 max margin ŵ₁ is the HiGHS vertex (not certified unique: ±1 features tie); cosines with it
are compared with those of ŵ₂ early and checked to be high late; the λ → 0 limit is claimed through
the ℓ1-normalized margin of w_λ, a unique number.

References: Lyu, Jin, Li, Du, Lee, Hu, "Dichotomy of early and late phase implicit biases can
provably induce grokking", ICLR 2024; Rosset, Zhu, Hastie, "Margin maximizing loss functions",
NeurIPS 2004 (the regularization path tends to the max margin).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.experiments.registry import Entry
from implicit_bias.metrics.rates import fit_loglog_slope
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.optim.weight_decay import WeightDecayFlow
from implicit_bias.problems.problem import Problem
from implicit_bias.references.l1_margin import l1_max_margin, l1_regularized_logistic
from implicit_bias.references.max_margin import hard_margin_svm
from implicit_bias.results import Result, at_least, at_most, close_to


@dataclass(frozen=True)
class Config:
    """Data size, the (α, λ) grid, the λ = 0 control, the horizon in units of max log(α)/λ, seeds."""

    n_samples: int = 30
    n_features: int = 80
    sparsity: int = 3
    n_test: int = 4000
    init_scales: tuple[float, ...] = (float(np.exp(2.0)), float(np.exp(3.0)), float(np.exp(4.0)))
    weight_decays: tuple[float, ...] = (1e-3, 2e-3, 4e-3)
    horizon_factor: float = 25.0
    exit_cosine: float = 0.95
    rtol: float = 1e-7
    n_records: int = 240
    seeds: tuple[int, ...] = (0, 1, 2)


def sparse_sign_problem(n_samples: int, n_features: int, sparsity: int, n_test: int, seed: int) -> Problem:
    """x ∈ {±1}^d/√d, y = sign(x_1 + ⋯ + x_k) (k odd, so never 0); a fresh test set of n_test points."""
    rng = np.random.default_rng(seed)
    X = rng.choice([-1.0, 1.0], size=(n_samples + n_test, n_features))
    y = np.sign(X[:, :sparsity].sum(1))
    X = X / np.sqrt(n_features)
    return Problem(X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:],
                   name=f"{sparsity}-sparse sign rule, n={n_samples}, d={n_features}",
                   meta={"sparsity": sparsity, "seed": seed})


def _record(params, hp, data):
    return {"w": params["u"] ** 2 - params["v"] ** 2}


def _cos(W: np.ndarray, r: np.ndarray) -> np.ndarray:
    return (W @ r) / (np.linalg.norm(W, axis=-1) * np.linalg.norm(r))


def _accuracy(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean(np.sign(W @ X.T) == y, axis=-1)


def _l1_margin(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.min((W @ X.T) * y, axis=-1) / np.abs(W).sum(-1)


def _figure(curves):
    from implicit_bias.plotting import color, new_figure

    fig, axes = new_figure(ncols=2, width=11.0, height=4.0)
    for i, (label, s, test, train_acc, c2, c1) in enumerate(curves):
        axes[0].semilogx(s, test, color=color(i), label=f"test, {label}")
        axes[0].semilogx(s, train_acc, color=color(i), linestyle=":", linewidth=1.0)
        axes[1].semilogx(s, c2, color=color(i), label=f"cos(w, ŵ₂), {label}")
        axes[1].semilogx(s, c1, color=color(i), linestyle="--")
    for ax in axes:
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("t · λ / log α (log scale)")
    axes[0].set_ylabel("accuracy (dotted: train)")
    axes[0].set_title("grokking: test accuracy jumps at t ≈ log(α)/λ")
    axes[1].set_ylabel("cosine (dashed: with ℓ1 max margin ŵ₁)")
    axes[1].set_title("ℓ2 max-margin direction early, ℓ1 late")
    axes[0].legend(fontsize=7)
    return fig


def run(config: Config) -> Result:
    alphas = np.repeat(config.init_scales, len(config.weight_decays))
    lams = np.tile(config.weight_decays, len(config.init_scales))
    control = float(max(config.init_scales))  # λ = 0 at the largest α: no late phase
    hp = {"init_scale": np.r_[alphas, control], "weight_decay": np.r_[lams, 0.0]}
    scales = np.log(alphas) / lams  # log(α)/λ per configuration
    horizon = config.horizon_factor * float(scales.max())
    model = DiagonalModel(config.n_features)
    claims, frames, notes, curves = [], [], [], []
    worst: dict[str, list[float]] = {}

    def keep(name, value):
        worst.setdefault(name, []).append(float(value))

    exits_all, scales_all = [], []
    for seed in config.seeds:
        p = sparse_sign_problem(config.n_samples, config.n_features, config.sparsity, config.n_test, seed)
        w2 = hard_margin_svm(p.X, p.y).solution
        ref1 = l1_max_margin(p.X, p.y)
        g1 = ref1.info["margin"]
        out = train(model, losses.logistic, WeightDecayFlow(rtol=config.rtol, atol=config.rtol * 1e-2), p,
                    time_horizon=horizon, hparams=hp, record=_record, n_records=config.n_records,
                    description=f"grokking seed {seed}")
        t, W = out.steps, out.records["w"]
        keep("solver", float(out.solver_ok.all() and not out.diverged.any()))
        test, tr = _accuracy(W, p.X_test, p.y_test), _accuracy(W, p.X, p.y)
        c2, c1 = _cos(W, w2), _cos(W, ref1.solution)
        acc2 = float(_accuracy(w2, p.X_test, p.y_test))
        cos21 = float(_cos(w2, ref1.solution))
        for i in range(len(alphas)):
            s = t * lams[i] / np.log(alphas[i])
            early = int(np.argmin(np.abs(s - 0.5)))
            fitted = np.flatnonzero(tr[i] == 1.0)
            first_fit = int(fitted[0]) if fitted.size else len(t) - 1
            keep("train_after_fit", tr[i, first_fit:].min())
            keep("fit_before", s[first_fit])
            keep("early_cos2", c2[i, early])
            keep("early_acc_gap", abs(test[i, early] - acc2))
            keep("early_cos1_gap", abs(c1[i, early] - cos21))
            after = np.flatnonzero((c2[i] < config.exit_cosine) & (s > 0.5))
            t_exit = float(t[after[0]]) if after.size else float("inf")
            exits_all.append(t_exit)
            scales_all.append(scales[i])
            keep("exit_ratio", t_exit / scales[i])
            w_lam = l1_regularized_logistic(p.X, p.y, lams[i]).solution
            keep("late_dist", np.linalg.norm(W[i, -1] - w_lam) / np.linalg.norm(w_lam))
            keep("late_acc", test[i, -1] - test[i, early])
            keep("late_cos1", c1[i, -1])
            keep("late_cos2", c2[i, -1])
            if seed == config.seeds[0]:
                curves.append((f"α = e^{np.log(alphas[i]):.0f}, λ = {lams[i]:g}", s[1:], test[i, 1:], tr[i, 1:],
                               c2[i, 1:], c1[i, 1:]))
            frames.append(pd.DataFrame({"series": f"seed {seed}", "config": i, "step": np.tile(t, 4),
                                        "metric": np.repeat(["test_accuracy", "train_accuracy", "cos_l2_margin",
                                                             "cos_l1_margin"], len(t)),
                                        "value": np.r_[test[i], tr[i], c2[i], c1[i]],
                                        "init_scale": alphas[i], "weight_decay": lams[i]}))
        keep("control_cos2", c2[-1, -1])
        keep("control_acc_gap", abs(test[-1, -1] - acc2))
        path = [l1_regularized_logistic(p.X, p.y, lam).solution for lam in (1e-2, 1e-4, 1e-6)]
        ratios = [float(_l1_margin(w, p.X, p.y) / g1) for w in path]
        keep("path_monotone", float(np.all(np.diff(ratios) > 0)))
        keep("path_last", ratios[-1])
        notes.append(f"seed {seed}: test accuracy of ŵ₂ {acc2:.3f}, of ŵ₁ {float(_accuracy(ref1.solution, p.X_test, p.y_test)):.3f}; "
                     f"ℓ1 margin of w_λ / max at λ = 1e-2, 1e-4, 1e-6: {', '.join(f'{r:.3f}' for r in ratios)}")

    mn, mx = (lambda k: min(worst[k])), (lambda k: max(worst[k]))
    claims += [
        at_least("guard: every flow finished without divergence", mn("solver"), 1.0, kind="guard"),
        at_most("guard: training data fitted (train accuracy 1) by t = 0.1·log(α)/λ (max over configs)",
                mx("fit_before"), 0.1, kind="guard"),
        at_least("train accuracy stays 1 from the first fit to the end (min over configs and records)",
                 mn("train_after_fit"), 1.0),
        at_least("early (t = ½ log(α)/λ): cos(w, ŵ₂) with the ℓ2 max margin (min)", mn("early_cos2"), 0.98,
                 note="the tangent kernel at init is linear, so the kernel predictor is the hard-margin SVM"),
        at_most("early: |test accuracy − test accuracy of ŵ₂| (max)", mx("early_acc_gap"), 0.03),
        at_most("early: |cos(w, ŵ₁) − cos(ŵ₂, ŵ₁)| with the ℓ1 max margin ŵ₁ (max)", mx("early_cos1_gap"), 0.05),
        at_least("kernel phase ends at t_exit (cos(w, ŵ₂) < exit level) ≥ 0.8·log(α)/λ (min ratio)",
                 mn("exit_ratio"), 0.8),
        at_most("… and ≤ 1.25·log(α)/λ (max ratio)", mx("exit_ratio"), 1.25),
        close_to("t_exit ∝ (log(α)/λ)^slope over the (α, λ) grid and seeds (fitted slope)",
                 fit_loglog_slope(np.array(scales_all), np.array(exits_all)), 1.0, 0.1),
        at_most("late: ‖w(T) − w_λ‖/‖w_λ‖, w_λ = argmin L + (λ/2)‖w‖₁ (cvxpy) (max)", mx("late_dist"), 0.01),
        at_least("late: test accuracy gain over the early phase (min)", mn("late_acc"), 0.2),
        at_least("late: cos(w(T), ŵ₁) with the ℓ1 max margin (min)", mn("late_cos1"), 0.9,
                 note="early it is cos(ŵ₂, ŵ₁) ≈ 0.5; at finite λ the limit is w_λ, not ŵ₁ itself"),
        at_most("late: cos(w, ŵ₂) has left the kernel direction (max)", mx("late_cos2"), 0.8),
        at_least("w_λ → ℓ1 max margin as λ → 0: its ℓ1 margin ratio increases over λ = 1e-2, 1e-4, 1e-6 (all seeds)",
                 mn("path_monotone"), 1.0),
        at_least("… and reaches ≥ 0.85 of the ℓ1 max margin at λ = 1e-6 (min)", mn("path_last"), 0.85),
        at_least("control λ = 0: no late phase, cos(w(T), ŵ₂) stays (min)", mn("control_cos2"), 0.98),
        at_most("control λ = 0: test accuracy stays that of ŵ₂ (max gap)", mx("control_acc_gap"), 0.03),
    ]
    notes.append(f"horizon T = {horizon:.4g} = {config.horizon_factor:g} · max log(α)/λ; exit level cos = "
                 f"{config.exit_cosine}; the ratio t_exit·λ/log α approaches 1 from the finite-α side")
    return Result("grokking-dichotomy", asdict(config), claims, pd.concat(frames, ignore_index=True),
                  figures={"grokking": _figure(curves)}, notes=notes)


ENTRY = Entry(
    name="grokking-dichotomy",
    summary="Large init + small weight decay: a diagonal net fits with the ℓ2 max margin, then groks to the ℓ1 one at t ≈ log(α)/λ",
    description=("A diagonal network from a large init α with weight decay λ first fits a sparse rule as its kernel "
                 "predictor, the ℓ2 max-margin SVM (poor test accuracy), and at t ≈ log(α)/λ leaves it for the ℓ1 "
                 "max-margin side, w_λ = argmin L + (λ/2)‖w‖₁: test accuracy jumps while train accuracy stays 1. Small "
                 "stand-in (n = 30, d = 80) for the paper's diagonal-net experiment, checked against the SVM QP, the ℓ1 LP "
                 "and the ℓ1-regularized logistic regression."),
    paper="Lyu, Jin, Li, Du, Lee, Hu 2024, Dichotomy of early and late phase implicit biases can provably induce grokking",
    run=run,
    full=Config(),
    quick=Config(init_scales=(float(np.exp(2.0)), float(np.exp(4.0))), weight_decays=(2e-3, 4e-3), seeds=(0,),
                 n_test=2000, n_records=200),
)
