"""The ℓ1 max-margin separator through the origin, the late-phase limit of diagonal networks.

    ŵ₁ = argmin ‖w‖₁  s.t.  y_i ⟨w, x_i⟩ ≥ 1  (i = 1..n),   X (n, d), y ∈ {±1}ⁿ

solved as the split LP w = p − q, p, q ≥ 0, with scipy's HiGHS, and certified by LP duality: the
dual max Σ μ_i s.t. ‖Σ_i μ_i y_i x_i‖_∞ ≤ 1, μ ≥ 0 must be feasible with the same value. The ℓ1
margin of the direction is 1/‖ŵ₁‖₁ = max_{‖w‖₁ ≤ 1} min_i y_i⟨w, x_i⟩. The ℓ1 minimizer need not be
unique; ``info["unique"]`` is the strict-complementarity test of the HiGHS vertex (reduced costs
of the zero coordinates strictly positive and the active constraints' rows, on the support,
of full column rank), a sufficient condition.

References: Gunasekar, Lee, Soudry, Srebro, "Characterizing implicit bias in terms of optimization
geometry", ICML 2018; Lyu et al., "Dichotomy of early and late phase implicit biases can provably
induce grokking", ICLR 2024 (diagonal networks with weight decay reach the ℓ1 max margin).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog

from implicit_bias.errors import InputError, NotSeparableError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register

#: relative duality gap, dual infeasibility and primal infeasibility that certify the LP.
CERTIFY_TOL = 1e-8


def l1_max_margin(X: np.ndarray, y: np.ndarray) -> Reference:
    """argmin ‖w‖₁ s.t. y_i⟨w, x_i⟩ ≥ 1 (HiGHS LP, certified by its dual).

    Returns a Reference with objective ‖ŵ₁‖₁, arrays {"dual": μ (n,), "support": indices with
    y_i⟨ŵ₁, x_i⟩ = 1}, info {margin = 1/‖ŵ₁‖₁, support_size (nonzero coordinates), kkt_residual,
    unique, solver}. NotSeparableError when no w separates the data; ReferenceFailure when the
    LP is not certified.
    """
    X, y = check_data(X, y)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError("max-margin-l1 needs labels ±1")
    n, d = X.shape
    Z = y[:, None] * X
    res = linprog(np.ones(2 * d), A_ub=-np.hstack([Z, -Z]), b_ub=-np.ones(n), bounds=[(0.0, None)] * (2 * d),
                  method="highs")
    if res.status == 2:
        raise NotSeparableError("the data are not linearly separable through the origin (ℓ1 max margin infeasible)")
    if res.status != 0:
        raise ReferenceFailure(f"ℓ1 max-margin LP: HiGHS failed with status {res.status}: {res.message}")
    w = res.x[:d] - res.x[d:]
    mu = -np.asarray(res.ineqlin.marginals, dtype=float)  # multipliers of Z w ≥ 1, ≥ 0
    p_star = float(np.abs(w).sum())
    margins = Z @ w
    kkt = {"primal": float(max(0.0, 1.0 - margins.min())),
           "dual": float(max(0.0, np.abs(Z.T @ mu).max() - 1.0, -mu.min())),
           "gap": abs(p_star - float(mu.sum())) / max(1.0, p_star)}
    if max(kkt.values()) > CERTIFY_TOL:
        raise ReferenceFailure(f"ℓ1 max-margin LP not certified: residuals {kkt} exceed {CERTIFY_TOL:g}")
    support = np.flatnonzero(np.abs(margins - 1.0) <= 1e-9 * max(1.0, float(np.abs(margins).max())))
    coords = np.flatnonzero(np.abs(w) > 1e-12 * max(float(np.abs(w).max()), 1e-300))
    corr = Z.T @ mu
    strict = np.all(np.abs(np.delete(corr, coords)) < 1 - 1e-9)
    unique = bool(strict and np.linalg.matrix_rank(Z[np.ix_(support, coords)]) == coords.size)
    info = {"margin": 1.0 / p_star, "support_size": int(coords.size), "n_active": int(support.size),
            "kkt_residual": max(kkt.values()), "unique": unique, "solver": "HIGHS"}
    return Reference("max-margin-l1", w + 0.0, p_star, "optimal", arrays={"dual": mu, "support": support},
                     info=info)


def l1_regularized_logistic(X: np.ndarray, y: np.ndarray, lam: float) -> Reference:
    """w_λ = argmin (1/n) Σ log(1 + exp(−y_i⟨w, x_i⟩)) + (λ/2)‖w‖₁ (cvxpy + Clarabel, exponential cone).

    The stationary point of the logistic loss with weight decay (λ/2)(‖u‖² + ‖v‖²) on w = u⊙u − v⊙v;
    w_λ/‖w_λ‖₁ tends to the ℓ1 max-margin direction as λ → 0 (Rosset, Zhu, Hastie 2004). Certified by
    the optimality condition −∇L(w_λ) ∈ (λ/2)∂‖w_λ‖₁ after Newton polishing on the support:
    info["kkt_residual"] is the largest violation, relative to λ/2.
    """
    import cvxpy as cp

    X, y = check_data(X, y)
    if not (np.isfinite(lam) and lam > 0):
        raise InputError(f"the ℓ1 penalty λ must be positive, got {lam}")
    n, d = X.shape
    w = cp.Variable(d)
    problem = cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(y, X @ w))) / n + 0.5 * lam * cp.norm1(w)))
    problem.solve(solver=cp.CLARABEL)
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None:
        raise ReferenceFailure(f"ℓ1-regularized logistic regression: Clarabel returned '{problem.status}'")
    half = 0.5 * lam

    def kkt(v):
        g = -(X.T @ (y / (1.0 + np.exp(np.clip(y * (X @ v), -700, 700))))) / n          # ∇L(w)
        on = np.abs(v) > 1e-6 * max(float(np.abs(v).max()), 1e-300)
        viol = np.where(on, np.abs(-g - half * np.sign(v)), np.maximum(np.abs(g) - half, 0.0))
        return float(viol.max()) / half, on

    sol = np.asarray(w.value, dtype=float)
    best, on = kkt(sol)
    polished = np.where(on, sol, 0.0)
    for _ in range(20):  # Newton polish on the support: ∇L(w)_S + (λ/2) sign(w_S) = 0 (kept only if better)
        p_ = 1.0 / (1.0 + np.exp(np.clip(y * (X @ polished), -700, 700)))            # σ(−z)
        g_s = -(X[:, on].T @ (y * p_)) / n + half * np.sign(sol[on])
        H = (X[:, on].T * (p_ * (1 - p_))) @ X[:, on] / n
        polished[on] -= np.linalg.lstsq(H, g_s, rcond=None)[0]
    if np.all(np.sign(polished[on]) == np.sign(sol[on])) and kkt(polished)[0] < best:
        sol = polished
    kkt_res, on = kkt(sol)
    return Reference("l1-logistic", sol, float(np.abs(sol).sum()), "optimal",
                     info={"lam": float(lam), "kkt_residual": kkt_res, "support_size": int(on.sum()), "solver": "CLARABEL"})


def _compute(problem: Any, **options: Any) -> Reference:
    given(options, SPEC.options, SPEC.name)
    return l1_max_margin(problem.X, problem.y)


def _example():
    """Six separable points in ℝ³ (planted margin 0.2)."""
    from implicit_bias.problems import planted_margin_classification

    return planted_margin_classification(6, 3, margin=0.2, n_test=0, seed=0), {}


SPEC = register(ReferenceSpec(
    name="max-margin-l1",
    summary="ℓ1 max-margin separator through the origin: argmin ‖w‖₁ s.t. y_i⟨w, x_i⟩ ≥ 1 (HiGHS LP)",
    compute=_compute,
    options=(),
    example=_example,
))
