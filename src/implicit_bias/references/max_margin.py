"""The hard-margin SVM through the origin: the direction GD on separable data converges to.

    ŵ = argmin ½‖w‖²  s.t.  y_i ⟨w, x_i⟩ ≥ 1  (i = 1..n),   X (n, d), y ∈ {±1}ⁿ

solved as a QP with cvxpy + Clarabel (never a soft margin), then polished on its active set
and certified by the KKT conditions: w = Σ α_i y_i x_i, α ≥ 0, margins ≥ 1, α_i (y_i⟨w, x_i⟩ − 1) = 0.
Separability is checked first with an LP (HiGHS): find w with y_i⟨w, x_i⟩ ≥ 1.

References: Soudry, Hoffer, Nacson, Gunasekar, Srebro, "The implicit bias of gradient descent on
separable data", JMLR 2018.
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np
from scipy.optimize import linprog, nnls

from implicit_bias.errors import InputError, NotSeparableError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register

#: KKT residuals (relative) below which the solution counts as certified.
KKT_TOL = 1e-7
#: a point is a support vector when its functional margin y_i⟨ŵ, x_i⟩ is within this of 1.
SUPPORT_TOL = 1e-8


def _check_separable(Z: np.ndarray) -> None:
    """LP feasibility of Z w ≥ 1 (Z = y ⊙ X row-wise); NotSeparableError when infeasible."""
    n, d = Z.shape
    res = linprog(np.zeros(d), A_ub=-Z, b_ub=-np.ones(n), bounds=[(None, None)] * d, method="highs")
    if res.status == 2:
        raise NotSeparableError("the data are not linearly separable through the origin: no w has "
                                "y_i⟨w, x_i⟩ > 0 for every i (hard-margin SVM is infeasible)")
    if res.status != 0:
        raise ReferenceFailure(f"separability LP failed: {res.message}")


def _kkt(Z: np.ndarray, w: np.ndarray, alpha: np.ndarray) -> dict[str, float]:
    """Relative KKT residuals of (w, α) for min ½‖w‖² s.t. Z w ≥ 1."""
    norm = max(float(np.linalg.norm(w)), np.finfo(float).tiny)
    margins = Z @ w
    return {"stationarity": float(np.linalg.norm(w - Z.T @ alpha)) / norm,
            "primal": float(max(0.0, 1.0 - margins.min())),
            "dual": float(max(0.0, -alpha.min())) * float(np.linalg.norm(Z, axis=1).max()) / norm,
            "complementarity": float(np.max(np.abs(alpha * (margins - 1.0)))) / norm ** 2}


def _polish(Z: np.ndarray, w: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact solution on the active set A = {margin ≈ 1}: w = Z_A⁺ 1, α_A ≥ 0 by NNLS on Z_Aᵀ α = w."""
    active = np.flatnonzero(Z @ w - 1.0 <= 1e-6 * max(1.0, float(np.abs(Z @ w).max())))
    if active.size == 0:
        return w, alpha
    Za = Z[active]
    w_new = np.linalg.lstsq(Za, np.ones(active.size), rcond=None)[0]
    w_new = w_new + np.linalg.lstsq(Za, np.ones(active.size) - Za @ w_new, rcond=None)[0]
    a_active = np.linalg.lstsq(Za.T, w_new, rcond=None)[0]  # min-norm multipliers (symmetric)
    if a_active.min() < 0.0:
        a_active, _ = nnls(Za.T, w_new)
    alpha_new = np.zeros_like(alpha)
    alpha_new[active] = a_active
    return w_new, alpha_new


def hard_margin_svm(X: np.ndarray, y: np.ndarray) -> Reference:
    """The max-margin separator through the origin: argmin ½‖w‖² s.t. y_i⟨w, x_i⟩ ≥ 1.

    Args:
      X: (n, d) inputs.
      y: (n,) labels, each exactly +1 or −1 (InputError otherwise).

    Returns a Reference with objective ‖ŵ‖₂, arrays {"dual": α (n,), "support": indices of the
    support vectors, the points on the margin y_i⟨ŵ, x_i⟩ = 1 (α is the minimum-norm multiplier
    vector, or an NNLS one; it is not unique when support vectors are linearly dependent)},
    info {margin = 1/‖ŵ‖ (geometric margin of ŵ/‖ŵ‖), n_support, kkt_residual (max of the
    relative stationarity, primal, dual and complementarity residuals), solver, polished}.
    Raises NotSeparableError on non-separable data and ReferenceFailure when the KKT conditions
    do not hold to 1e-7.

    References: Soudry et al., JMLR 2018, Theorem 3.
    """
    X, y = check_data(X, y)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError(f"max-margin needs labels ±1; found {np.unique(y[~np.isin(y, (-1.0, 1.0))])[:5].tolist()}")
    Z = y[:, None] * X
    _check_separable(Z)
    w_var = cp.Variable(X.shape[1])
    constraint = Z @ w_var >= 1
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w_var)), [constraint])
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as err:
        raise ReferenceFailure(f"max-margin QP: Clarabel failed: {err}") from None
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w_var.value is None:
        raise ReferenceFailure(f"max-margin QP: Clarabel returned status '{problem.status}'")
    w = np.asarray(w_var.value, dtype=float)
    alpha = np.maximum(np.asarray(constraint.dual_value, dtype=float).reshape(-1), 0.0)
    kkt = _kkt(Z, w, alpha)
    w_pol, alpha_pol = _polish(Z, w, alpha)
    kkt_pol = _kkt(Z, w_pol, alpha_pol)
    polished = max(kkt_pol.values()) <= max(kkt.values())
    if polished:
        w, alpha, kkt = w_pol, alpha_pol, kkt_pol
    residual = max(kkt.values())
    if residual > KKT_TOL:
        raise ReferenceFailure(f"max-margin QP not certified: KKT residuals {kkt} exceed {KKT_TOL:g}")
    support = np.flatnonzero(Z @ w - 1.0 <= SUPPORT_TOL)
    norm = float(np.linalg.norm(w))
    info = {"margin": 1.0 / norm, "n_support": int(support.size), "kkt_residual": residual,
            **{f"kkt_{k}": v for k, v in kkt.items()}, "solver": "CLARABEL", "polished": bool(polished),
            "clarabel_status": problem.status}
    return Reference("max-margin", w, norm, "optimal", arrays={"dual": alpha, "support": support}, info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    given(options, SPEC.options, SPEC.name)
    return hard_margin_svm(problem.X, problem.y)


def _example():
    """Six separable points in ℝ³ (planted margin 0.2)."""
    from implicit_bias.problems import planted_margin_classification

    return planted_margin_classification(6, 3, margin=0.2, n_test=0, seed=0), {}


SPEC = register(ReferenceSpec(
    name="max-margin",
    summary="hard-margin SVM through the origin: argmin ‖w‖ s.t. y_i⟨w, x_i⟩ ≥ 1 (Clarabel QP)",
    compute=_compute,
    options=(),
    example=_example,
))
