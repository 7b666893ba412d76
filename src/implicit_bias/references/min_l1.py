"""Basis pursuit, the α → 0 limit of diagonal networks: min ‖w‖₁ s.t. Xw = y (optionally w ≥ 0).

    p* = min { ‖w‖₁ : Xw = y [, w ≥ 0] },   X (n, d), y (n,)

or its weighted form min Σ_j c_j|w_j| (weights c > 0, (d,)), solved as basis pursuit in w̃ = c⊙w on
the rescaled columns X diag(1/c) (its dual constraint reads |x_jᵀλ| ≤ c_j).

solved as the split LP w = p − q, p, q ≥ 0, with scipy's HiGHS. Basis pursuit is often not
unique (an LP returns a vertex; gradient flow may pick another point of the optimal face), so
the reference also returns the coordinate ranges [w_min, w_max] over the optimal face:

  * any dual optimum λ (|Xᵀλ| ≤ 1, ⟨λ, y⟩ = p*) pins the face down: every minimizer lives on
    E = {i : |x_iᵀλ| = 1} with sign(w_i) = x_iᵀλ, so the face is {X_E w_E = y, s_E ⊙ w_E ≥ 0};
  * unique when X_E has full column rank, or when a strict dual certificate exists
    (X_S injective and some μ with X_Sᵀμ = sign(w_S), |x_iᵀμ| < 1 off the support S);
  * otherwise min and max of w_i over the face, by LPs, for the coordinates of E that the null
    space of X_E moves (the rest are fixed).

References: Chen, Donoho, Saunders, "Atomic decomposition by basis pursuit", SIAM J. Sci. Comput. 1998;
Fuchs, "On sparse representations in arbitrary redundant bases", IEEE Trans. IT 2004 (certificate);
Woodworth et al., "Kernel and rich regimes in overparametrized models", COLT 2020 (α → 0 limit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import linprog

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register

#: duality gap, dual infeasibility and primal residual (relative) that certify the LP solution.
CERTIFY_TOL = 1e-8
#: |x_iᵀλ| ≥ 1 − EQUI_TOL puts coordinate i in the equicorrelation set E.
EQUI_TOL = 1e-9
#: the optimal face is taken as {‖w‖₁ ≤ p*(1 + FACE_SLACK) + tiny}.
FACE_SLACK = 1e-9
#: coordinate ranges wider than this (relative to max(1, ‖w‖∞)) mean "not unique".
UNIQUE_TOL = 1e-7


def _solve(c, A_eq, b_eq, bounds, A_ub=None, b_ub=None, what="min-l1 LP"):
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status == 2:
        raise ReferenceFailure(f"{what}: infeasible (no w satisfies the constraints)")
    if res.status != 0:
        raise ReferenceFailure(f"{what}: HiGHS failed with status {res.status}: {res.message}")
    return res


def _rank(A: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(A)) if A.size else 0


def _strict_certificate(X: np.ndarray, S: np.ndarray, signs: np.ndarray, nonnegative: bool) -> float:
    """max t s.t. X_Sᵀμ = sign(w_S), |x_iᵀμ| ≤ 1 − t off S (x_iᵀμ ≤ 1 − t if w ≥ 0); returns t*."""
    n, d = X.shape
    off = np.setdiff1d(np.arange(d), S)
    if off.size == 0:
        return 1.0
    rows = [X[:, off].T] if nonnegative else [X[:, off].T, -X[:, off].T]
    A_ub = np.hstack([np.vstack(rows), np.ones((len(rows) * off.size, 1))])
    A_eq = np.hstack([X[:, S].T, np.zeros((S.size, 1))]) if S.size else None
    res = linprog(np.r_[np.zeros(n), -1.0], A_ub=A_ub, b_ub=np.ones(A_ub.shape[0]), A_eq=A_eq,
                  b_eq=signs if S.size else None, bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
    return float(-res.fun) if res.status == 0 else -np.inf


def _face_ranges(X, y, w, E, signs, p_star, moving):
    """min and max of w_i over {X_E w_E = y, signs ⊙ w_E ≥ 0, signs·w_E ≤ p*(1+slack)} for i in ``moving``."""
    w_min, w_max = w.copy(), w.copy()
    bounds = [(0.0, None) if s > 0 else (None, 0.0) for s in signs]
    budget = p_star * (1.0 + FACE_SLACK) + 1e-12
    for j in moving:
        c = np.zeros(E.size)
        c[j] = 1.0
        for sense, out in ((1.0, w_min), (-1.0, w_max)):
            res = _solve(sense * c, X[:, E], y, bounds, A_ub=signs[None, :], b_ub=[budget],
                         what="min-l1 optimal-face LP")
            out[E[j]] = res.x[j]
    return w_min, w_max


def _check_weights(weights: Any, d: int) -> np.ndarray:
    """Weights as a finite positive float64 (d,) array, or InputError."""
    try:
        c = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"weights must be a numeric array of {d} positive numbers") from None
    if c.shape != (d,) or not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise InputError(f"weights must be {d} finite positive numbers (one per column of X), got shape {c.shape}")
    return c


def min_l1_interpolator(X: np.ndarray, y: np.ndarray, nonnegative: bool = False,
                        weights: np.ndarray | None = None) -> Reference:
    """Basis pursuit argmin ‖w‖₁ s.t. Xw = y (and w ≥ 0 if ``nonnegative``), with a uniqueness check.

    Args:
      X: (n, d) inputs; y: (n,) targets.
      nonnegative: also require w ≥ 0 (the limit of the u⊙u network).
      weights: c (d,) > 0 for the weighted objective Σ_j c_j|w_j| (None: all ones); then the dual
        satisfies |x_jᵀλ| ≤ c_j and p* = Σ_j c_j|w_j|.

    Returns a Reference whose solution is the HiGHS vertex, objective p* = ‖w‖₁, arrays {"w_min",
    "w_max", "dual"} (coordinate ranges over the optimal face, equal when unique; λ (n,) with
    |Xᵀλ| ≤ 1 and ⟨λ, y⟩ = p*), info {unique, objective, support_size, certificate, kkt_residual,
    solver}. ReferenceFailure when Xw = y (with w ≥ 0) is infeasible or the LP is not certified.

    References: Chen, Donoho & Saunders 1998; Fuchs 2004.
    """
    X, y = check_data(X, y)
    if not isinstance(nonnegative, (bool, np.bool_)):
        raise InputError(f"nonnegative must be True or False, got {nonnegative!r}")
    n, d = X.shape
    if weights is not None:  # basis pursuit in w̃ = c⊙w on the columns x_j / c_j
        c = _check_weights(weights, d)
        ref = min_l1_interpolator(X / c[None, :], y, nonnegative=nonnegative)
        arrays = {"w_min": ref.arrays["w_min"] / c, "w_max": ref.arrays["w_max"] / c, "dual": ref.arrays["dual"],
                  "weights": c}
        return Reference("min-l1", ref.solution / c, ref.objective, ref.status, arrays=arrays,
                         info={**ref.info, "weighted": True})
    if nonnegative:
        res = _solve(np.ones(d), X, y, [(0.0, None)] * d)
        w = res.x.copy()
    else:
        res = _solve(np.ones(2 * d), np.hstack([X, -X]), y, [(0.0, None)] * (2 * d))
        w = res.x[:d] - res.x[d:]
    lam = np.asarray(res.eqlin.marginals, dtype=float)
    corr = X.T @ lam
    p_star = float(np.abs(w).sum())
    scale = max(1.0, p_star)
    kkt = {"primal": float(np.linalg.norm(X @ w - y)) / max(1.0, float(np.linalg.norm(y))),
           "dual": float(max(0.0, (corr.max() if nonnegative else np.abs(corr).max()) - 1.0)),
           "gap": abs(p_star - float(lam @ y)) / scale}
    if max(kkt.values()) > CERTIFY_TOL:
        raise ReferenceFailure(f"min-l1 LP not certified: residuals {kkt} exceed {CERTIFY_TOL:g}")

    wmax = max(float(np.abs(w).max()), np.finfo(float).tiny)
    S = np.flatnonzero(np.abs(w) > 1e-12 * wmax)
    equi = corr >= 1 - EQUI_TOL if nonnegative else np.abs(corr) >= 1 - EQUI_TOL
    equi[S] = True
    E = np.flatnonzero(equi)
    signs = np.where(np.isin(E, S), np.sign(w[E]), np.sign(corr[E]))
    signs[signs == 0] = 1.0
    w_min = w_max = w
    if _rank(X[:, E]) == E.size:
        certificate = "full-rank equicorrelation set"
    elif _rank(X[:, S]) == S.size and _strict_certificate(X, S, np.sign(w[S]), nonnegative) > EQUI_TOL:
        certificate = "strict dual certificate"
    else:
        N = null_space(X[:, E])
        moving = np.flatnonzero(np.linalg.norm(N, axis=1) > 1e-9)
        w_min, w_max = _face_ranges(X, y, w, E, signs, p_star, moving)
        certificate = f"optimal-face LPs on {moving.size} coordinates"
    unique = bool(np.max(w_max - w_min) <= UNIQUE_TOL * max(1.0, wmax))
    info = {"unique": unique, "objective": p_star, "support_size": int(S.size),
            "equicorrelation_size": int(E.size), "certificate": certificate,
            "kkt_residual": max(kkt.values()), "nonnegative": bool(nonnegative), "solver": "HIGHS"}
    return Reference("min-l1", w + 0.0, p_star, "optimal",  # + 0.0 turns −0.0 into 0.0
                     arrays={"w_min": w_min + 0.0, "w_max": w_max + 0.0, "dual": lam}, info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    return min_l1_interpolator(problem.X, problem.y, nonnegative=opts.get("nonnegative", False),
                               weights=opts.get("weights"))


SPEC = register(ReferenceSpec(
    name="min-l1",
    summary="basis pursuit argmin Σ c_j|w_j| s.t. Xw = y (weights c, default 1; w ≥ 0 optional), with the optimal face's ranges",
    compute=_compute,
    options=("nonnegative", "weights"),
))
