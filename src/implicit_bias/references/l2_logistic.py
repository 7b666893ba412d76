"""The L2-penalised logistic minimizer: where Adam with coupled weight decay λ (λw in the gradient) ends.

    w_λ = argmin_w L(w) + (λ/2)‖w‖²,   L the mean logistic loss, X (n, d), y ∈ {±1}ⁿ, λ > 0

λ-strongly convex, so unique; solved by Newton's method with backtracking (quadratic convergence) and
certified by the gradient norm ‖∇L(w) + λw‖∞; cross-checked against scipy's L-BFGS in the tests.

References: Boyd & Vandenberghe, Convex Optimization (2004), §9.5 (Newton's method).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register
from implicit_bias.references.box_logistic import check_labels, logistic_hessian, logistic_loss_grad

#: gradient norm that certifies the solution.
KKT_TOL = 1e-11


def l2_logistic_minimizer(X: np.ndarray, y: np.ndarray, lam: float) -> Reference:
    """argmin L(w) + λ‖w‖²/2, with info {lam, loss, objective, kkt_residual, iterations}."""
    X, y = check_data(X, y)
    check_labels(y)
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating)) or not (np.isfinite(lam) and lam > 0):
        raise InputError(f"lam must be a positive number, got {lam!r}")
    d = X.shape[1]

    def f(w):
        loss, grad = logistic_loss_grad(w, X, y)
        return loss + 0.5 * lam * w @ w, grad + lam * w

    w = np.zeros(d)
    value, grad = f(w)
    for iteration in range(1, 201):
        step = np.linalg.solve(logistic_hessian(w, X, y) + lam * np.eye(d), grad)
        t = 1.0
        while f(w - t * step)[0] > value - 0.25 * t * grad @ step and t > 1e-12:
            t *= 0.5
        w = w - t * step
        value, grad = f(w)
        if np.max(np.abs(grad)) <= KKT_TOL:
            break
    residual = float(np.max(np.abs(grad)))
    if residual > KKT_TOL:
        raise ReferenceFailure(f"l2-logistic not certified: gradient norm {residual:.3g} > {KKT_TOL:g}")
    loss = logistic_loss_grad(w, X, y)[0]
    info = {"lam": float(lam), "loss": loss, "objective": value, "kkt_residual": residual,
            "iterations": iteration, "unique": True, "solver": "Newton"}
    return Reference("l2-logistic", w, value, "optimal", info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    if "lam" not in opts:
        raise InputError("l2-logistic needs --lam λ")
    return l2_logistic_minimizer(problem.X, problem.y, opts["lam"])


def _example():
    """Six separable points in ℝ³ (planted margin 0.2)."""
    from implicit_bias.problems import planted_margin_classification

    return planted_margin_classification(6, 3, margin=0.2, n_test=0, seed=0), {"lam": 0.1}


SPEC = register(ReferenceSpec(
    name="l2-logistic",
    summary="argmin of the mean logistic loss + (λ/2)‖w‖² (Newton, gradient-norm certificate)",
    compute=_compute,
    options=("lam",),
    example=_example,
))
