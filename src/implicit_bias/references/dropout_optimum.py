"""The global minimizer of dropout's expected objective on a width-r factorization, in closed form.

With retain probability θ, λ = (1 − θ)/θ, and M (d1, d2) fully observed,

    min_{U, V (width r)} ‖M − UVᵀ‖_F² + λ Σ_i ‖u_i‖²‖v_i‖²  =  min_W ‖M − W‖_F² + (λ/r)‖W‖_*²

(Mianjy, Arora & Vidal 2018: for rank W ≤ r the induced regularizer min_{UVᵀ=W} λΣ‖u_i‖²‖v_i‖² is
(λ/r)‖W‖_*², attained when the factorization is equalized, ‖u_i‖‖v_i‖ = ‖W‖_*/r for every i). The
right side is strictly convex; its minimizer shares M's singular vectors, with singular values

    s_i = (σ_i − τ)₊,   τ = (λ/r) Σ_j s_j = λ S_κ/(r + λκ),   S_κ = σ_1 + … + σ_κ,

κ the largest k with σ_k > λS_k/(r + λk) (found exactly by trying every k). Certified by the optimality
condition M − W = τ G with G ∈ ∂‖W‖_* (G = U_κV_κᵀ + Σ_{i>κ} (σ_i/τ) u_i v_iᵀ, σ_i ≤ τ for i > κ).

References: Mianjy, Arora, Vidal, "On the implicit bias of dropout", ICML 2018, Theorem 3.6;
Cavazza et al., "Dropout as a low-rank regularizer for matrix factorization", AISTATS 2018.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, given, register

#: relative residual of the optimality condition that certifies the closed form.
CERTIFY_TOL = 1e-10


def _check(M: Any, retain: Any, width: Any) -> tuple[np.ndarray, float, int]:
    try:
        M = np.asarray(M, dtype=float)
    except (TypeError, ValueError):
        raise InputError("M must be a numeric matrix") from None
    if M.ndim != 2 or M.size == 0 or not np.all(np.isfinite(M)):
        raise InputError(f"M must be a finite non-empty matrix, got shape {M.shape}")
    try:
        theta = float(retain)
    except (TypeError, ValueError):
        raise InputError(f"retain must be a number in (0, 1], got {retain!r}") from None
    if not (0 < theta <= 1):
        raise InputError(f"retain must lie in (0, 1], got {retain}")
    if isinstance(width, bool) or int(width) != width or width < 1:
        raise InputError(f"width must be a positive integer, got {width!r}")
    return M, theta, int(width)


def dropout_optimum(M: np.ndarray, retain: float, width: int) -> Reference:
    """argmin_W ‖M − W‖_F² + (λ/r)‖W‖_*², λ = (1 − θ)/θ: the end-to-end optimum of dropout on width r.

    Returns a Reference with solution W (d1, d2), objective the minimal value, arrays {"singular_values"
    s (the optimum's), "data_singular_values" σ}, info {tau, rank κ, lam, equalized_product ‖W‖_*/r,
    kkt_residual, subgradient_norm (max σ_i/τ over i > κ, ≤ 1)}. InputError for bad input;
    ReferenceFailure if κ > r (the width cannot express the optimum; the closed form needs rank ≤ r).
    """
    M, theta, r = _check(M, retain, width)
    lam = (1.0 - theta) / theta
    U, sigma, Vt = np.linalg.svd(M, full_matrices=False)
    if lam == 0:
        kappa, tau = int(np.sum(sigma > 0)), 0.0
    else:
        kappa, tau = 0, 0.0
        for k in range(1, sigma.size + 1):
            t = lam * sigma[:k].sum() / (r + lam * k)
            if sigma[k - 1] > t:  # κ = the largest such k (Mianjy et al. 2018)
                kappa, tau = k, t
    s = np.maximum(sigma - tau, 0.0)
    s[kappa:] = 0.0
    if kappa > r:
        raise ReferenceFailure(f"the dropout optimum has rank {kappa} > width {r}: the closed form needs rank ≤ r")
    W = (U * s) @ Vt
    nuclear = float(s.sum())
    if lam > 0 and kappa > 0:
        ratios = np.r_[np.ones(kappa), sigma[kappa:] / tau]
        G = (U * ratios) @ Vt
        kkt = float(np.linalg.norm(M - W - tau * G)) / max(1.0, float(np.linalg.norm(M)))
        sub = float(ratios[kappa:].max()) if kappa < sigma.size else 0.0
        consistency = abs(tau - lam / r * nuclear) / max(tau, 1e-300)
    else:
        kkt, sub, consistency = float(np.linalg.norm(M - W)) / max(1.0, float(np.linalg.norm(M))), 0.0, 0.0
    residual = max(kkt, consistency, max(0.0, sub - 1.0))
    if residual > CERTIFY_TOL:
        raise ReferenceFailure(f"dropout optimum not certified: residual {residual:.3g}")
    objective = float(np.linalg.norm(M - W) ** 2 + lam / r * nuclear ** 2)
    info = {"tau": float(tau), "rank": int(kappa), "lam": lam, "retain": theta, "width": r,
            "equalized_product": nuclear / r, "kkt_residual": residual, "subgradient_norm": sub,
            "solver": "closed form (SVD)"}
    return Reference("dropout-optimum", W, objective, "optimal",
                     arrays={"singular_values": s, "data_singular_values": sigma}, info=info)


def _full_matrix(problem: Any) -> np.ndarray:
    """The fully observed matrix of a completion problem (every entry once), or InputError."""
    meta = getattr(problem, "meta", {}) or {}
    X = np.asarray(problem.X)
    if meta.get("kind") != "completion" or "shape" not in meta or X.ndim != 2 or X.shape[1] != 2:
        raise InputError("reference 'dropout-optimum' needs a fully observed matrix (a completion problem "
                         "with rows, cols, values, shape covering every entry)")
    if not np.all(np.isfinite(np.asarray(problem.y, dtype=float))):
        raise InputError("reference 'dropout-optimum' needs finite matrix entries (found NaN or inf)")
    d1, d2 = (int(s) for s in meta["shape"])
    M = np.full((d1, d2), np.nan)
    M[X[:, 0].astype(int), X[:, 1].astype(int)] = problem.y
    if X.shape[0] != d1 * d2 or np.isnan(M).any():
        raise InputError(f"reference 'dropout-optimum' needs every entry of the {d1}x{d2} matrix observed once")
    return M


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    if "width" not in opts:
        raise InputError("reference 'dropout-optimum' needs --width (the factorization's hidden units)")
    return dropout_optimum(_full_matrix(problem), opts.get("retain", 0.5), opts["width"])


def _example():
    """A fully observed 3×3 matrix with singular values (2, 1, 0.5), width 3, retain 0.5."""
    from implicit_bias.problems.matrix import full_matrix_problem

    return full_matrix_problem((2.0, 1.0, 0.5), 3, 3, seed=0)[0], {"width": 3, "retain": 0.5}


SPEC = register(ReferenceSpec(
    name="dropout-optimum",
    summary="closed-form optimum of dropout on a width-r factorization: M's singular values shrunk by τ, equalized",
    compute=_compute,
    options=("retain", "width"),
    example=_example,
))
