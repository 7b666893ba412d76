"""The flattest interpolator of a diagonal network: min tr ∇²L or min λ_max(∇²L) over the zero-loss manifold.

For w = u⊙u − v⊙v and L = (1/2n)‖X(u⊙u − v⊙v) − y‖² (see :mod:`implicit_bias.metrics.diagonal_curvature`)
the manifold points expressing w have tr ∇²L ≥ (4/n) Σ_j c_j|w_j| (c_j = ‖X_{:,j}‖²) and
λ_max(∇²L) ≥ (4/n) λ_max(X diag|w| Xᵀ), with equality as u_j v_j → 0. So the flattest interpolators are

  * ``measure="trace"``:      argmin Σ_j c_j|w_j|  s.t. Xw = y   (a weighted basis pursuit LP, HiGHS);
  * ``measure="lambda-max"``: argmin λ_max(X diag|w| Xᵀ) s.t. Xw = y, the SDP
        min t  s.t.  X diag(a) Xᵀ ⪯ t I,  −a ≤ w ≤ a,  Xw = y            (cvxpy + Clarabel)
    certified by its dual: max ⟨ν, y⟩ s.t. |x_jᵀν| ≤ x_jᵀ Z x_j, Z ⪰ 0, tr Z = 1 (zero gap).

The objective reported is the Hessian measure itself, (4/n)·(LP or SDP value). Label-noise GD and
1-SAM drift to the trace minimizer, full-batch normalized SAM to the λ_max minimizer.

References: Li, Wang, Arora, "What happens after SGD reaches zero loss?", ICLR 2022; Wen, Ma, Li,
"How does sharpness-aware minimization minimize sharpness?", ICLR 2023; Vandenberghe & Boyd,
"Semidefinite programming", SIAM Review 1996 (λ_max minimization and its dual).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register
from implicit_bias.references.min_l1 import min_l1_interpolator

MEASURES = ("trace", "lambda-max")
#: relative duality gap, dual infeasibility and primal residual that certify the SDP solution.
SDP_TOL = 1e-6


def _lambda_max_sdp(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, dict[str, Any]]:
    """(w, t*, info) of min λ_max(X diag|w| Xᵀ) s.t. Xw = y, with the dual certificate's residuals."""
    import cvxpy as cp

    n, d = X.shape
    w, a, t = cp.Variable(d), cp.Variable(d), cp.Variable()
    G = X @ cp.diag(a) @ X.T
    lmi = 0.5 * (G + G.T) << t * np.eye(n)
    eq = X @ w == y
    problem = cp.Problem(cp.Minimize(t), [eq, a >= w, a >= -w, lmi])
    try:
        problem.solve(solver="CLARABEL")
    except cp.error.SolverError as err:
        raise ReferenceFailure(f"min-sharpness SDP: Clarabel failed: {err}") from None
    if problem.status not in ("optimal", "optimal_inaccurate") or w.value is None:
        raise ReferenceFailure(f"min-sharpness SDP: solver status {problem.status}")
    w_val, t_val = np.asarray(w.value, dtype=float), float(t.value)
    Z = np.asarray(lmi.dual_value, dtype=float)
    Z = 0.5 * (Z + Z.T)
    nu = np.asarray(eq.dual_value, dtype=float)
    nu = nu if nu @ y >= 0 else -nu  # cvxpy's sign convention for equality duals
    w_val, t_val = _polish_vertex(X, y, w_val, t_val)
    scale = max(1.0, abs(t_val))
    quad = np.einsum("ij,ik,kj->j", X, Z, X)  # x_jᵀ Z x_j
    info = {"gap": abs(t_val - float(nu @ y)) / scale,
            "dual_infeasibility": float(max(0.0, np.max(np.abs(X.T @ nu) - quad))) / scale,
            "psd_violation": float(max(0.0, -np.linalg.eigvalsh(Z)[0])),
            "trace_residual": abs(float(np.trace(Z)) - 1.0),
            "primal_residual": float(np.linalg.norm(X @ w_val - y)) / max(1.0, float(np.linalg.norm(y)))}
    return w_val, t_val, info


def _polish_vertex(X: np.ndarray, y: np.ndarray, w: np.ndarray, t: float) -> tuple[np.ndarray, float]:
    """When the support S of w has |S| columns of full rank ≤ n, the exact interpolator on S (if no worse)."""
    wmax = float(np.abs(w).max())
    S = np.flatnonzero(np.abs(w) > 1e-6 * max(wmax, 1e-300))
    if S.size == 0 or S.size > X.shape[0] or np.linalg.matrix_rank(X[:, S]) < S.size:
        return w, t
    w_s = np.linalg.lstsq(X[:, S], y, rcond=None)[0]
    polished = np.zeros_like(w)
    polished[S] = w_s
    if np.linalg.norm(X @ polished - y) > 1e-10 * max(1.0, float(np.linalg.norm(y))):
        return w, t
    t_pol = float(np.linalg.eigvalsh(X @ np.diag(np.abs(polished)) @ X.T)[-1])
    return (polished, t_pol) if t_pol <= t * (1 + SDP_TOL) + 1e-12 else (w, t)


def min_sharpness_interpolator(X: np.ndarray, y: np.ndarray, measure: str = "trace") -> Reference:
    """The interpolator whose flattest manifold point minimizes ``measure`` of ∇²L (see the module docstring).

    Args:
      X: (n, d) inputs; y: (n,) targets.
      measure: "trace" (weighted basis pursuit, weights c_j = ‖X_{:,j}‖²) or "lambda-max" (the SDP).

    Returns a Reference with solution w (d,), objective (4/n)·(Σ c_j|w_j| or λ_max(X diag|w| Xᵀ)), arrays
    {"weights"} or {"eigenvalues"} (of X diag|w| Xᵀ) and info {measure, certificate residuals, solver,
    top_eigengap (λ_max measure: (λ₁ − λ₂)/λ₁ at the solution)}. ReferenceFailure if not certified.

    References: Li, Wang & Arora 2022 (trace); Wen, Ma & Li 2023 (λ_max).
    """
    X, y = check_data(X, y)
    if measure not in MEASURES:
        raise InputError(f"unknown sharpness measure '{measure}'; valid: {', '.join(MEASURES)}")
    n, d = X.shape
    if measure == "trace":
        c = np.sum(X * X, axis=0)
        if np.any(c <= 0):
            raise InputError("every column of X must be non-zero (a zero column has weight 0)")
        ref = min_l1_interpolator(X, y, weights=c)
        return Reference("min-sharpness", ref.solution, 4.0 / n * ref.objective, ref.status,
                         arrays={"weights": c, "dual": ref.arrays["dual"], "w_min": ref.arrays["w_min"],
                                 "w_max": ref.arrays["w_max"]},
                         info={**ref.info, "measure": measure})
    w, t, residuals = _lambda_max_sdp(X, y)
    if max(residuals.values()) > SDP_TOL:
        raise ReferenceFailure(f"min-sharpness SDP not certified: residuals {residuals} exceed {SDP_TOL:g}")
    eig = np.linalg.eigvalsh(X @ np.diag(np.abs(w)) @ X.T)
    gap = float((eig[-1] - eig[-2]) / eig[-1]) if n > 1 and eig[-1] > 0 else 1.0
    info = {"measure": measure, "solver": "CLARABEL", "kkt_residual": max(residuals.values()), **residuals,
            "top_eigengap": gap, "support_size": int(np.sum(np.abs(w) > 1e-6 * max(np.abs(w).max(), 1e-300)))}
    return Reference("min-sharpness", w + 0.0, 4.0 / n * t, "optimal", arrays={"eigenvalues": eig}, info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    return min_sharpness_interpolator(problem.X, problem.y, measure=opts.get("measure", "trace"))


SPEC = register(ReferenceSpec(
    name="min-sharpness",
    summary="diagonal network's flattest interpolator: min tr ∇²L (weighted-ℓ1 LP) or min λ_max ∇²L (SDP)",
    compute=_compute,
    options=("measure",),
))
