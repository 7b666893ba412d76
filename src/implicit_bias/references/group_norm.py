"""The minimum group-norm interpolator (group basis pursuit): min Σ_g ‖w_g‖₂ s.t. Xw = y.

    p* = min { Σ_g ‖w_g‖₂ : Xw = y },   X (n, d), y (n,), groups (d,) integer ids

an SOCP solved with cvxpy + Clarabel, then polished: on a guessed active set (groups with
‖X_gᵀη‖₂ ≈ 1, or with ‖w_g‖ clearly above the solver's zeros) the rest is set to zero and Newton
solves the smooth KKT system w_g/‖w_g‖ = X_gᵀη, X_A w_A = y. Certified by the dual
η (n,): ‖X_gᵀη‖₂ ≤ 1 for every g, ⟨η, y⟩ = p*, and X_gᵀη = w_g/‖w_g‖ on the active groups.
Singleton groups give min ‖w‖₁; one group gives min ‖w‖₂.

References: Yuan & Lin, "Model selection and estimation in regression with grouped variables",
JRSS-B 2006; Li, Nguyen, Hegde, Wong, "Implicit regularization for group sparsity", ICLR 2023
(diagonally grouped linear networks).
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register

#: relative KKT residuals (primal, dual feasibility, duality gap, stationarity) that certify.
KKT_TOL = 1e-6
#: ‖X_gᵀη‖ ≥ 1 − ZERO_TOL makes group g a candidate for the active set.
ZERO_TOL = 1e-6


def _check_groups(groups: Any, d: int) -> tuple[np.ndarray, list[np.ndarray]]:
    g = np.asarray(groups)
    if g.shape != (d,):
        raise InputError(f"groups must have one id per feature, shape ({d},), got {g.shape}")
    if g.dtype.kind == "f" and np.all(np.isfinite(g)) and np.all(g == np.round(g)):
        g = g.astype(np.int64)
    if g.dtype.kind not in "iu":
        raise InputError(f"groups must be integer ids, got dtype {g.dtype}")
    ids = np.unique(g)
    return g, [np.flatnonzero(g == i) for i in ids]


def _kkt(X, y, w, eta, index, active) -> dict[str, float]:
    norms = np.array([np.linalg.norm(w[i]) for i in index])
    corr = [X[:, i].T @ eta for i in index]
    p_star = float(norms.sum())
    stat = [np.linalg.norm(corr[k] - w[index[k]] / norms[k]) for k in np.flatnonzero(active)]
    return {"primal": float(np.linalg.norm(X @ w - y)) / max(1.0, float(np.linalg.norm(y))),
            "dual": float(max(0.0, max(np.linalg.norm(c) for c in corr) - 1.0)),
            "gap": abs(p_star - float(eta @ y)) / max(1.0, p_star),
            "stationarity": float(max(stat, default=0.0))}


def _polish(X, y, w, eta, index, active, steps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Zero the groups the dual certifies as inactive, then Newton on the smooth KKT system of the rest:
    w_g/‖w_g‖ = X_gᵀη (g active), X_A w_A = y."""
    out = np.zeros_like(w)
    groups = [index[k] for k in np.flatnonzero(active)]
    if not groups:
        return out, eta
    cols = np.concatenate(groups)
    Xa, wa, m = X[:, cols], w[cols].copy(), cols.size
    wa += np.linalg.lstsq(Xa, y - Xa @ wa, rcond=None)[0]
    slices = np.cumsum([0] + [len(g) for g in groups])

    def residual(wa, eta):
        unit = np.concatenate([wa[a:b] / np.linalg.norm(wa[a:b]) for a, b in zip(slices[:-1], slices[1:])])
        return np.r_[unit - Xa.T @ eta, Xa @ wa - y]

    F = residual(wa, eta)
    for _ in range(steps):
        J = np.zeros((m + X.shape[0], m + X.shape[0]))
        for a, b in zip(slices[:-1], slices[1:]):
            nrm = np.linalg.norm(wa[a:b])
            u = wa[a:b] / nrm
            J[a:b, a:b] = (np.eye(b - a) - np.outer(u, u)) / nrm
        J[:m, m:], J[m:, :m] = -Xa.T, Xa
        step = np.linalg.lstsq(J, -F, rcond=None)[0]
        wa2, eta2 = wa + step[:m], eta + step[m:]
        F2 = residual(wa2, eta2)
        if not np.all(np.isfinite(F2)) or np.linalg.norm(F2) >= np.linalg.norm(F):
            break
        wa, eta, F = wa2, eta2, F2
    out[cols] = wa
    return out, eta


def min_group_norm_interpolator(X: np.ndarray, y: np.ndarray, groups: Any) -> Reference:
    """Group basis pursuit argmin Σ_g ‖w_g‖₂ s.t. Xw = y, with its dual certificate.

    Args:
      X: (n, d) inputs; y: (n,) targets.
      groups: (d,) integer group id of each feature (any integers; a group is a set of equal ids).

    Returns a Reference with objective Σ_g ‖w_g‖₂, arrays {"dual": η (n,), "group_norms": ‖w_g‖
    in the order of the sorted ids, "group_ids": the sorted ids}, info {n_groups, n_active_groups,
    kkt_residual, solver}. ReferenceFailure when Xw = y is infeasible or the KKT residuals
    exceed 1e-6.

    References: Yuan & Lin 2006; Li, Nguyen, Hegde & Wong, ICLR 2023.
    """
    X, y = check_data(X, y)
    ids, index = _check_groups(groups, X.shape[1])
    w_var = cp.Variable(X.shape[1])
    constraint = X @ w_var == y
    objective = cp.sum(cp.hstack([cp.norm(w_var[i], 2) for i in index]))
    problem = cp.Problem(cp.Minimize(objective), [constraint])
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as err:
        raise ReferenceFailure(f"group-norm SOCP: Clarabel failed: {err}") from None
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise ReferenceFailure("group-norm SOCP: Xw = y is infeasible (no interpolator)")
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w_var.value is None:
        raise ReferenceFailure(f"group-norm SOCP: Clarabel returned status '{problem.status}'")
    w = np.asarray(w_var.value, dtype=float)
    eta = -np.asarray(constraint.dual_value, dtype=float).reshape(-1)  # cvxpy: L = f + νᵀ(Xw − y)
    corr_norms = np.array([np.linalg.norm(X[:, i].T @ eta) for i in index])
    raw_norms = np.array([np.linalg.norm(w[i]) for i in index])
    guesses = (corr_norms >= 1.0 - ZERO_TOL, raw_norms > 1e-5 * max(float(raw_norms.max()), np.finfo(float).tiny))
    candidates, tries = [], [(*_polish(X, y, w, eta, index, g), True) for g in guesses] + [(w, eta, False)]
    for cand, dual, is_pol in tries:
        norms = np.array([np.linalg.norm(cand[i]) for i in index])
        active = norms > 1e-6 * max(float(norms.max()), np.finfo(float).tiny)
        kkt = _kkt(X, y, cand, dual, index, active)
        candidates.append((max(kkt.values()), is_pol, cand, dual, norms, kkt))
    residual, is_polished, w, eta, norms, kkt = min(candidates, key=lambda c: c[0])
    if residual > KKT_TOL:
        raise ReferenceFailure(f"group-norm SOCP not certified: KKT residuals {kkt} exceed {KKT_TOL:g}")
    info = {"n_groups": len(index), "n_active_groups": int(np.sum(norms > 0)), "kkt_residual": residual,
            **{f"kkt_{k}": v for k, v in kkt.items()}, "solver": "CLARABEL", "polished": bool(is_polished),
            "clarabel_status": problem.status}
    return Reference("group-lasso", w, float(norms.sum()), "optimal",
                     arrays={"dual": eta, "group_norms": norms, "group_ids": np.unique(ids)}, info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    if "groups" not in opts:
        raise InputError("reference 'group-lasso' needs the group ids (--groups, an int array (d,))")
    return min_group_norm_interpolator(problem.X, problem.y, opts["groups"])


def _example():
    """Gaussian regression with n = 4, d = 6 in three groups of two."""
    from implicit_bias.problems import gaussian_regression

    return gaussian_regression(4, 6, n_test=0, seed=0), {"groups": np.array([0, 0, 1, 1, 2, 2])}


SPEC = register(ReferenceSpec(
    name="group-lasso",
    summary="group basis pursuit argmin Σ_g ‖w_g‖₂ s.t. Xw = y (Clarabel SOCP)",
    compute=_compute,
    options=("groups",),
    example=_example,
))
