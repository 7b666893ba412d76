"""The logistic-loss minimizer over the box ‖w‖∞ ≤ B: where AdamW with decoupled weight decay 1/B ends.

    w_B = argmin_{‖w‖∞ ≤ B} L(w),   L(w) = (1/n) Σ_i log(1 + exp(−y_i⟨w, x_i⟩)),   X (n, d), y ∈ {±1}ⁿ

solved with scipy's L-BFGS-B at tight tolerance and certified by the projected-gradient residual
‖w − Π_box(w − ∇L(w))‖∞ (zero exactly at the KKT points; L is convex, so KKT = optimal). The minimizer
is unique when L is strictly convex on the box (X of full column rank); ``info["unique"]`` reports the
smallest eigenvalue of the Hessian on the free coordinates.

References: Byrd, Lu, Nocedal, Zhu, SIAM J. Sci. Comput. 1995 (L-BFGS-B); Xie & Li, "Implicit bias of
AdamW: ℓ∞ norm constrained optimization", ICML 2024.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register

#: projected-gradient residual that certifies the solution.
KKT_TOL = 1e-9


def logistic_loss_grad(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(L(w), ∇L(w)) of the mean logistic loss, stable for any margin."""
    m = y * (X @ w)
    loss = float(np.mean(np.logaddexp(0.0, -m)))
    grad = -(X.T @ (y * expit(-m))) / X.shape[0]
    return loss, grad


def logistic_hessian(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∇²L(w) = (1/n) Xᵀ diag(σ(m)σ(−m)) X."""
    m = y * (X @ w)
    s = expit(m) * expit(-m)
    return (X.T * s) @ X / X.shape[0]


def check_labels(y: np.ndarray) -> None:
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError("logistic references need labels ±1")


def box_logistic_minimizer(X: np.ndarray, y: np.ndarray, bound: float) -> Reference:
    """argmin L(w) s.t. ‖w‖∞ ≤ bound, with info {loss, kkt_residual, n_at_bound, unique, min_curvature}."""
    X, y = check_data(X, y)
    check_labels(y)
    if isinstance(bound, bool) or not isinstance(bound, (int, float, np.floating)) or not (np.isfinite(bound) and bound > 0):
        raise InputError(f"bound must be a positive number, got {bound!r}")
    d = X.shape[1]
    res = minimize(logistic_loss_grad, np.zeros(d), args=(X, y), jac=True, method="L-BFGS-B",
                   bounds=[(-bound, bound)] * d, options={"ftol": 0.0, "gtol": 1e-14, "maxiter": 100_000, "maxcor": 50})
    w = res.x
    loss, grad = logistic_loss_grad(w, X, y)
    residual = float(np.max(np.abs(w - np.clip(w - grad, -bound, bound))))
    if not residual <= KKT_TOL:
        raise ReferenceFailure(f"box-logistic not certified: projected-gradient residual {residual:.3g} > {KKT_TOL:g} "
                               f"({res.message})")
    at_bound = np.abs(np.abs(w) - bound) <= 1e-9 * bound
    free = ~at_bound
    H = logistic_hessian(w, X, y)[np.ix_(free, free)]
    curvature = float(np.linalg.eigvalsh(H).min()) if free.any() else np.inf
    info = {"bound": float(bound), "loss": loss, "kkt_residual": residual, "n_at_bound": int(at_bound.sum()),
            "min_curvature": curvature, "unique": bool(curvature > 1e-10), "solver": "L-BFGS-B"}
    return Reference("box-logistic", w, loss, "optimal", arrays={"gradient": grad}, info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    if "bound" not in opts:
        raise InputError("box-logistic needs --bound B")
    return box_logistic_minimizer(problem.X, problem.y, opts["bound"])


def _example():
    """Six separable points in ℝ³ (planted margin 0.2)."""
    from implicit_bias.problems import planted_margin_classification

    return planted_margin_classification(6, 3, margin=0.2, n_test=0, seed=0), {"bound": 1.0}


SPEC = register(ReferenceSpec(
    name="box-logistic",
    summary="argmin of the mean logistic loss over ‖w‖∞ ≤ B (L-BFGS-B, projected-gradient KKT certificate)",
    compute=_compute,
    options=("bound",),
    example=_example,
))
