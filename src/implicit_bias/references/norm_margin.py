"""Max-margin separators in any norm: the limits of steepest descent, mirror descent and linear conv nets.

    ŵ = argmin ‖w‖  s.t.  y_i ⟨w, x_i⟩ ≥ 1,     γ* = 1/‖ŵ‖ = max_{‖w‖ ≤ 1} min_i y_i⟨w, x_i⟩

for ``norm`` in l2 (QP, :func:`~implicit_bias.references.max_margin.hard_margin_svm`), quadratic
‖w‖_P = √(wᵀPw) (the same QP after the change of variables v = Cᵀw, P = CCᵀ), l1 and l∞ (LPs with
scipy's HiGHS, with the optimal face's coordinate ranges since these LPs are often not unique), lp
(power-cone program, cvxpy + Clarabel) and fourier-l1 ‖Fw‖₁ with F the unnormalised DFT (an SOCP over
the d complex moduli). Every solution is certified by the duality gap of

    max 1ᵀα  s.t.  ‖Zᵀα‖_* ≤ 1, α ≥ 0      (Z = y ⊙ X row-wise)

with the solver's multipliers rescaled to dual feasibility: gap = (‖ŵ‖ − 1ᵀα/‖Zᵀα‖_*)/‖ŵ‖.

References: Gunasekar, Lee, Soudry, Srebro, ICML 2018 (steepest descent) and NeurIPS 2018 (linear
convolutional networks); Sun, Ahn, Thrampoulidis, Azizan, NeurIPS 2022 (p-norm mirror descent).
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np
from scipy.optimize import linprog

from implicit_bias.errors import InputError, NotSeparableError, ReferenceFailure
from implicit_bias.metrics.margins import NORMS, dual_norm, norm_of
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register
from implicit_bias.references.max_margin import hard_margin_svm

#: relative duality gap that certifies an LP / QP solution, and a cone program's.
LP_TOL = 1e-8
CONE_TOL = 1e-6
#: the optimal face is {Zw ≥ 1, ‖w‖ ≤ p*(1 + FACE_SLACK)}; ranges wider than UNIQUE_TOL·‖ŵ‖∞ mean "not unique".
FACE_SLACK = 1e-9
UNIQUE_TOL = 1e-6


def _lp(c, A_ub, b_ub, bounds, what):
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status == 2:
        raise NotSeparableError(f"{what}: infeasible, the data are not separable through the origin")
    if res.status != 0:
        raise ReferenceFailure(f"{what}: HiGHS failed with status {res.status}: {res.message}")
    return res


def _l1(Z: np.ndarray):
    """min Σ(a + b) s.t. Z(a − b) ≥ 1, a, b ≥ 0; returns (w, α)."""
    n, d = Z.shape
    res = _lp(np.ones(2 * d), -np.hstack([Z, -Z]), -np.ones(n), [(0, None)] * (2 * d), "l1 max-margin LP")
    return res.x[:d] - res.x[d:], -np.asarray(res.ineqlin.marginals)


def _linf(Z: np.ndarray):
    """min t s.t. Zw ≥ 1, −t ≤ w_j ≤ t; returns (w, α)."""
    n, d = Z.shape
    eye, ones = np.eye(d), np.ones((d, 1))
    A = np.vstack([np.hstack([-Z, np.zeros((n, 1))]), np.hstack([eye, -ones]), np.hstack([-eye, -ones])])
    b = np.r_[-np.ones(n), np.zeros(2 * d)]
    res = _lp(np.r_[np.zeros(d), 1.0], A, b, [(None, None)] * d + [(0, None)], "l-inf max-margin LP")
    return res.x[:d], -np.asarray(res.ineqlin.marginals)[:n]


def _face_ranges(Z: np.ndarray, w: np.ndarray, norm: str, p_star: float):
    """min and max of every w_j over the optimal face {Zw ≥ 1, ‖w‖ ≤ p*(1 + slack)} (LPs)."""
    n, d = Z.shape
    budget = p_star * (1.0 + FACE_SLACK) + 1e-12
    if norm == "l1":  # variables (a, b) ≥ 0, w = a − b
        A = np.vstack([-np.hstack([Z, -Z]), np.ones((1, 2 * d))])
        b, bounds, pick = np.r_[-np.ones(n), budget], [(0, None)] * (2 * d), lambda j: np.eye(d)[j] @ np.hstack([np.eye(d), -np.eye(d)])
    else:  # variables w with |w_j| ≤ budget
        A, b, bounds, pick = -Z, -np.ones(n), [(-budget, budget)] * d, lambda j: np.eye(d)[j]
    w_min, w_max = w.copy(), w.copy()
    for j in range(d):
        c = pick(j)
        w_min[j] = _lp(c, A, b, bounds, "optimal-face LP").fun
        w_max[j] = -_lp(-c, A, b, bounds, "optimal-face LP").fun
    return w_min, w_max


def _cone(Z: np.ndarray, norm: str, p: float | None):
    """lp (power cones) or fourier-l1 (second-order cones) with cvxpy + Clarabel; returns (w, α)."""
    n, d = Z.shape
    w = cp.Variable(d)
    if norm == "lp":
        objective = cp.pnorm(w, p)
    else:
        k = np.outer(np.arange(d), np.arange(d)) * (2 * np.pi / d)
        objective = cp.sum(cp.norm(cp.vstack([np.cos(k) @ w, -np.sin(k) @ w]), 2, axis=0))
    constraint = Z @ w >= 1
    problem = cp.Problem(cp.Minimize(objective), [constraint])
    try:
        tol = 1e-10 if norm == "lp" else 1e-9  # tighter fails Clarabel's own check on the SOCP
        problem.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    except cp.error.SolverError as err:
        raise ReferenceFailure(f"{norm} max-margin: Clarabel failed: {err}") from None
    if problem.status == cp.INFEASIBLE:
        raise NotSeparableError(f"{norm} max-margin: infeasible, the data are not separable through the origin")
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None:
        raise ReferenceFailure(f"{norm} max-margin: Clarabel returned status '{problem.status}'")
    return np.asarray(w.value, float), np.asarray(constraint.dual_value, float).reshape(-1)


def _check(X, y, norm, p, P):
    X, y = check_data(X, y)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError("max-margin-norm needs labels ±1")
    if norm not in NORMS:
        raise InputError(f"unknown norm '{norm}'; valid: {', '.join(NORMS)}")
    if norm == "lp":
        if p is None or not np.isfinite(float(p)) or float(p) <= 1.0:
            raise InputError(f"norm lp needs a finite p > 1 (use l1 or linf for the ends), got p = {p!r}")
        p = float(p)
    elif p is not None:
        raise InputError(f"p applies to norm lp only (norm is {norm})")
    if norm == "quadratic":
        if P is None:
            raise InputError("norm quadratic needs the matrix P (precondition)")
        P = np.asarray(P, dtype=float)
        if P.shape != (X.shape[1], X.shape[1]) or not np.all(np.isfinite(P)) or not np.allclose(P, P.T):
            raise InputError(f"P must be a finite symmetric ({X.shape[1]}, {X.shape[1]}) matrix, got shape {P.shape}")
        if np.linalg.eigvalsh(P).min() <= 0:
            raise InputError("P must be positive definite")
    elif P is not None:
        raise InputError(f"precondition applies to norm quadratic only (norm is {norm})")
    return X, y, p, P


def max_margin_norm(X: np.ndarray, y: np.ndarray, norm: str = "l2", p: float | None = None,
                    P: np.ndarray | None = None, *, face: bool = True) -> Reference:
    """argmin ‖w‖ s.t. y_i⟨w, x_i⟩ ≥ 1 in ``norm``, normalised to minimum functional margin exactly 1.

    Returns a Reference with objective ‖ŵ‖, arrays {"dual": α (n,), "support": margin-1 points and, for
    l1 / linf with ``face``, "w_min", "w_max" over the optimal face}, info {margin = γ* = 1/‖ŵ‖, norm, p,
    duality_gap, unique, solver}. NotSeparableError when no separator exists; ReferenceFailure when the
    duality gap exceeds 1e-8 (LP, QP) or 1e-6 (cone programs).
    """
    X, y, p, P = _check(X, y, norm, p, P)
    Z = y[:, None] * X
    unique: Any = True
    arrays: dict[str, np.ndarray] = {}
    if norm in ("l2", "quadratic"):
        C = np.linalg.cholesky(P) if norm == "quadratic" else np.eye(X.shape[1])
        C_inv_T = np.linalg.inv(C).T
        svm = hard_margin_svm(X @ C_inv_T, y)  # rows C⁻¹x_i; ‖w‖_P = ‖Cᵀw‖
        w, alpha, solver, tol = C_inv_T @ svm.solution, svm.arrays["dual"], "CLARABEL (QP)", LP_TOL
    elif norm in ("l1", "linf"):
        w, alpha = (_l1 if norm == "l1" else _linf)(Z)
        solver, tol = "HIGHS", LP_TOL
    else:
        w, alpha = _cone(Z, norm, p)
        solver, tol = "CLARABEL", CONE_TOL
        unique = True if norm == "lp" else "not checked (the Fourier l1 norm is not strictly convex)"
    w = w / float(np.min(Z @ w))  # exact feasibility, minimum margin 1
    p_star = float(norm_of(w, norm, p, P))
    alpha = np.maximum(alpha, 0.0)
    dual_scale = float(dual_norm(Z.T @ alpha, norm, p, P))
    dual_value = float(alpha.sum()) / dual_scale if dual_scale > 0 else 0.0
    gap = (p_star - dual_value) / p_star
    if not (abs(gap) <= tol):
        raise ReferenceFailure(f"{norm} max-margin not certified: relative duality gap {gap:.3g} exceeds {tol:g}")
    if norm in ("l1", "linf") and face:
        w_min, w_max = _face_ranges(Z, w, norm, p_star)
        arrays.update(w_min=w_min, w_max=w_max)
        unique = bool(np.max(w_max - w_min) <= UNIQUE_TOL * float(np.abs(w).max()))
    support = np.flatnonzero(Z @ w - 1.0 <= 1e-7)
    info = {"norm": norm, "p": p, "margin": 1.0 / p_star, "duality_gap": float(gap), "unique": unique,
            "n_support": int(support.size), "solver": solver}
    return Reference("max-margin-norm", w + 0.0, p_star, "optimal", arrays={"dual": alpha / max(dual_scale, 1e-300),
                                                                           "support": support, **arrays}, info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    return max_margin_norm(problem.X, problem.y, norm=opts.get("norm", "l2"), p=opts.get("p"),
                           P=opts.get("precondition"))


def _example():
    """Six separable points in ℝ³ (planted margin 0.2), in the ℓ∞ norm (an LP)."""
    from implicit_bias.problems import planted_margin_classification

    return planted_margin_classification(6, 3, margin=0.2, n_test=0, seed=0), {"norm": "linf"}


SPEC = register(ReferenceSpec(
    name="max-margin-norm",
    summary="argmin ‖w‖ s.t. y_i⟨w, x_i⟩ ≥ 1 for l2|l1|linf|lp|quadratic|fourier-l1 (QP, LP, cone programs)",
    compute=_compute,
    options=("norm", "p", "precondition"),
    example=_example,
))
