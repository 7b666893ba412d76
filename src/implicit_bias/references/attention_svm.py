"""Attention SVMs: the max-margin token separators that softmax attention converges to.

Tokens X (n, T, d), labels y ∈ {±1}ⁿ, fixed value head v: token t of sequence i has the score
γ_it = y_i⟨x_it, v⟩ and opt_i = argmax_t γ_it. With D_it = x_{i,opt_i} − x_it (t ≠ opt_i) and the
query z_i = x_i1:

    p:   p_mm = argmin ‖p‖₂   s.t. ⟨D_it, p⟩ ≥ 1            (token-selection SVM, Tarzanagh et al. 2023a)
    W:   W_mm = argmin ‖W‖_F  s.t. D_itᵀ W z_i ≥ 1           (Frobenius Att-SVM, Tarzanagh et al. 2023b)
    KQ:  W_* = argmin ‖W‖_*  s.t. D_itᵀ W z_i ≥ 1           (nuclear-norm Att-SVM, for W = K Qᵀ)

p and W are hard-margin SVMs on the features D_it (resp. vec(D_it z_iᵀ)) with all labels +1, solved and
KKT-certified by :func:`~implicit_bias.references.max_margin.hard_margin_svm` (Clarabel QP). The
nuclear-norm program is an SDP (cvxpy + Clarabel), certified by its dual max Σλ s.t.
‖Σ λ_it D_it z_iᵀ‖₂ ≤ 1, λ ≥ 0 (duality gap and dual feasibility).

``info`` also reports the conditions of the global convergence theorem for p (Tarzanagh et al.
2023a): the optimal token is unique in every sequence (score gap > 0) and all non-optimal tokens
of a sequence share one score (``equal_scores``), in which case GD on p converges in direction to
p_mm from any initialization; otherwise only the local version holds.

References: Tarzanagh, Li, Zhang, Oymak, "Max-margin token selection in attention mechanism",
NeurIPS 2023; Tarzanagh, Li, Thrampoulidis, Oymak, "Transformers as support vector machines", 2023.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, given, register
from implicit_bias.references.max_margin import hard_margin_svm

PARAMS = ("p", "W", "KQ")
#: duality gap and dual infeasibility (relative) that certify the nuclear-norm SVM.
CERTIFY_TOL = 1e-6
#: non-optimal scores within this (relative to the score range) count as equal.
EQUAL_TOL = 1e-9


def check_tokens(X: Any, y: Any, value: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n, T, d), y (n,) ±1 and v (d,) as float arrays, or InputError."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 3 or min(X.shape) == 0 or X.shape[1] < 2:
        raise InputError(f"tokens X must have shape (n, T, d) with T >= 2, got {X.shape}")
    if y.shape != (X.shape[0],) or not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError(f"y must hold {X.shape[0]} labels ±1")
    if value is None:
        raise InputError("attention-svm needs the value head v (option 'value', shape (d,))")
    v = np.asarray(value, dtype=float)
    if v.shape != (X.shape[2],):
        raise InputError(f"the value head v must have shape ({X.shape[2]},), got {v.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(v))):
        raise InputError("tokens and v must be finite")
    return X, y, v


def token_scores(X: np.ndarray, y: np.ndarray, value: np.ndarray) -> np.ndarray:
    """γ (n, T): γ_it = y_i ⟨x_it, v⟩."""
    return y[:, None] * (X @ value)


def optimality(X: np.ndarray, y: np.ndarray, value: np.ndarray) -> dict[str, Any]:
    """opt (n,), the smallest score gap γ_opt − max_{t≠opt} γ_t, and the spread of non-optimal scores."""
    g = token_scores(X, y, value)
    opt = np.argmax(g, axis=1)
    rest = np.where(np.arange(g.shape[1])[None, :] == opt[:, None], np.nan, g)
    gap = float(np.min(g[np.arange(len(opt)), opt] - np.nanmax(rest, axis=1)))
    spread = float(np.max(np.nanmax(rest, axis=1) - np.nanmin(rest, axis=1)))
    scale = max(float(np.ptp(g)), 1e-300)
    return {"opt": opt, "score_gap": gap, "score_spread": spread, "equal_scores": bool(spread <= EQUAL_TOL * scale)}


def _differences(X: np.ndarray, opt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D (K, d) rows x_opt − x_t over all t ≠ opt, and the sequence index of each row."""
    n, T, _ = X.shape
    rows, seq = [], []
    for i in range(n):
        for t in range(T):
            if t != opt[i]:
                rows.append(X[i, opt[i]] - X[i, t])
                seq.append(i)
    return np.asarray(rows), np.asarray(seq)


def attention_svm(X: Any, y: Any, value: Any, param: str = "p") -> Reference:
    """The Att-SVM of ``param`` (see the module docstring); solution p (d,) or W (d, d).

    info: margin (1/objective), score_gap, equal_scores, n_constraints, n_support, kkt_residual, solver
    (and rank for "KQ"). ReferenceFailure when a solver fails or the certificate does not hold.
    """
    if param not in PARAMS:
        raise InputError(f"unknown attention parameterization '{param}'; valid: {', '.join(PARAMS)}")
    X, y, v = check_tokens(X, y, value)
    cond = optimality(X, y, v)
    if cond["score_gap"] <= 0:
        raise InputError("some sequence has two tokens tied for the highest score: the optimal token is not unique")
    D, seq = _differences(X, cond["opt"])
    d = X.shape[2]
    info = {"score_gap": cond["score_gap"], "equal_scores": cond["equal_scores"], "n_constraints": int(len(D))}
    if param == "p":
        ref = hard_margin_svm(D, np.ones(len(D)))
        sol, obj, dual = ref.solution, ref.objective, ref.arrays["dual"]
        info.update(kkt_residual=ref.info["kkt_residual"], solver=ref.info.get("solver", "CLARABEL"))
    else:
        Z = X[seq, 0, :]                                                       # queries z_i per row
        A = np.einsum("kd,ke->kde", D, Z)                                     # D_it z_iᵀ (K, d, d)
        if param == "W":
            ref = hard_margin_svm(A.reshape(len(D), d * d), np.ones(len(D)))
            sol, obj, dual = ref.solution.reshape(d, d), ref.objective, ref.arrays["dual"]
            info.update(kkt_residual=ref.info["kkt_residual"], solver=ref.info.get("solver", "CLARABEL"))
        else:
            sol, obj, dual, cert = _nuclear_svm(A)
            info.update(cert)
    margins = (D @ sol) if param == "p" else np.einsum("kd,de,ke->k", D, sol, X[seq, 0, :])
    support = np.flatnonzero(margins <= 1 + 1e-6)
    info.update(margin=1.0 / obj, n_support=int(support.size))
    return Reference("attention-svm", sol, float(obj), "optimal",
                     arrays={"opt": cond["opt"], "dual": dual, "support": support}, info=info)


def _nuclear_svm(A: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, dict]:
    """argmin ‖W‖_* s.t. ⟨A_k, W⟩ ≥ 1 (cvxpy SDP), with λ from the constraint's multipliers."""
    import cvxpy as cp

    K, d, _ = A.shape
    W = cp.Variable((d, d))
    con = A.reshape(K, d * d) @ cp.vec(W, order="C") >= 1
    prob = cp.Problem(cp.Minimize(cp.normNuc(W)), [con])
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as err:
        raise ReferenceFailure(f"nuclear-norm Att-SVM: Clarabel failed: {err}") from None
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or W.value is None:
        raise ReferenceFailure(f"nuclear-norm Att-SVM: Clarabel returned status '{prob.status}'")
    sol = np.asarray(W.value, dtype=float)
    lam = np.maximum(np.asarray(con.dual_value, dtype=float).reshape(-1), 0.0)
    s = np.linalg.svd(sol, compute_uv=False)
    obj = float(s.sum())
    margins = A.reshape(K, -1) @ sol.reshape(-1)
    cert = {"primal": float(max(0.0, 1.0 - margins.min())),
            "dual": float(max(0.0, np.linalg.norm(np.tensordot(lam, A, 1), 2) - 1.0)),
            "gap": abs(obj - float(lam.sum())) / max(obj, 1e-300)}
    if max(cert.values()) > CERTIFY_TOL:
        raise ReferenceFailure(f"nuclear-norm Att-SVM not certified: {cert} exceed {CERTIFY_TOL:g}")
    rank = int(np.sum(s > 1e-6 * s[0]))
    return sol, obj, lam, {"kkt_residual": max(cert.values()), "rank": rank, "solver": "CLARABEL"}


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    value = opts.get("value", problem.meta.get("value") if getattr(problem, "meta", None) else None)
    return attention_svm(problem.X, problem.y, value, param=opts.get("param", "p"))


def _example():
    """Three sequences of three tokens in ℝ⁶, v = e₁: token opt_i scores y_i x₁ = 2, the others 0, and only
    token opt_i has x₂ = 1, so p = e₂ separates (the SVM is feasible)."""
    from implicit_bias.problems import Problem

    rng = np.random.default_rng(0)
    n, T, d = 3, 3, 6
    y = np.array([1.0, -1.0, 1.0])
    opt = np.array([0, 2, 1])
    X = rng.standard_normal((n, T, d))
    X[:, :, :2] = 0.0
    X[np.arange(n), opt, 0] = 2.0 * y
    X[np.arange(n), opt, 1] = 1.0
    return Problem(X, y, name="token selection, n=3, T=3, d=6", meta={"value": np.eye(d)[0]}), {"param": "p"}


SPEC = register(ReferenceSpec(
    name="attention-svm",
    summary="attention SVM: min ‖p‖ (p), ‖W‖_F (W) or ‖W‖_* (KQ) s.t. (x_opt − x_t)ᵀq_i ≥ 1 (QP / SDP)",
    compute=_compute,
    options=("param", "value"),
    example=_example,
))
