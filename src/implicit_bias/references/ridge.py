"""Ridge regression: the explicit estimator early-stopped gradient descent is compared with.

    w_λ = argmin_w (1/2n)‖Xw − y‖² + (λ/2)‖w − w0‖²  =  w0 + (XᵀX + nλ I)⁻¹ Xᵀ (y − X w0),

X (n, d), y (n,), λ ≥ 0, w0 (d,) (default 0). Normalisation: the data term is the mean square loss of
this package (``losses.square``), so the gradient of the objective is Xᵀ(Xw − y)/n + λ(w − w0) and λ
is the same λ as in Ali, Kolter & Tibshirani's (1/n)‖y − Xβ‖² + λ‖β‖² (both give (XᵀX + nλI)⁻¹Xᵀy);
gradient flow on the mean square loss stopped at time t is compared with λ = 1/t.

Solved through one thin SVD X = U S Vᵀ: w − w0 = V diag(s/(s² + nλ)) Uᵀ (y − X w0), stable for wide and
tall X (no normal equations are formed). λ = 0 is the limit λ → 0⁺: the least-squares point nearest w0,
w0 + X⁺(y − X w0). Certified by the gradient residual ‖Xᵀ(Xw − y)/n + λ(w − w0)‖, relative to
‖Xᵀ(y − Xw0)‖/n, and (λ = 0) by the distance of w − w0 to rowspan(X).

References: Hoerl & Kennard, "Ridge regression", Technometrics 1970; Ali, Kolter, Tibshirani, "A
continuous-time view of early stopping for least squares", AISTATS 2019 (eq. 4, λ = 1/t).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register

#: relative gradient residual below which the solution counts as certified.
GRADIENT_RTOL = 1e-9


def _check_lam(lam: Any) -> float:
    try:
        value = float(lam)
    except (TypeError, ValueError):
        raise InputError(f"ridge: lam must be a number, got {lam!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"ridge: lam must be a finite number >= 0, got {lam}")
    return value


def ridge_solution(X: np.ndarray, y: np.ndarray, lam: float, w0: np.ndarray | None = None) -> Reference:
    """argmin (1/2n)‖Xw − y‖² + (λ/2)‖w − w0‖² (λ ≥ 0; λ = 0: least squares nearest w0).

    Args:
      X: (n, d) inputs.
      y: (n,) targets.
      lam: λ ≥ 0.
      w0: (d,) centre of the penalty (default 0).

    Returns a Reference with objective the value of the penalized objective, status "optimal",
    info {lam, gradient_residual (relative), rank, solver, shrinkage_min/max (the factors s²/(s² + nλ))}.
    Raises ReferenceFailure when the gradient residual exceeds 1e-9.
    """
    X, y = check_data(X, y)
    lam = _check_lam(lam)
    n, d = X.shape
    if w0 is None:
        w0 = np.zeros(d)
    else:
        w0 = np.asarray(w0, dtype=float)
        if w0.shape != (d,) or not np.all(np.isfinite(w0)):
            raise InputError(f"ridge: w0 (init) must be a finite vector of shape ({d},), got shape {w0.shape}")
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    cut = (s[0] if s.size else 0.0) * max(n, d) * np.finfo(float).eps
    keep = s > cut
    U, s, Vt = U[:, keep], s[keep], Vt[keep]

    def solve(r: np.ndarray) -> np.ndarray:
        return Vt.T @ (s * (U.T @ r) / (s ** 2 + n * lam))

    w = w0 + solve(y - X @ w0)
    grad = lambda v: X.T @ (X @ v - y) / n + lam * (v - w0)  # noqa: E731
    if lam > 0:  # one refinement step on the normal equations, through the same factorization
        w = w - n * Vt.T @ ((Vt @ grad(w)) / (s ** 2 + n * lam)) - (grad(w) - Vt.T @ (Vt @ grad(w))) / lam
    scale = max(float(np.linalg.norm(X.T @ (y - X @ w0))) / n, np.finfo(float).tiny)
    residual = float(np.linalg.norm(grad(w))) / scale
    off_row = float(np.linalg.norm((w - w0) - Vt.T @ (Vt @ (w - w0)))) / max(float(np.linalg.norm(w - w0)), 1e-300)
    if residual > GRADIENT_RTOL or (lam == 0 and off_row > GRADIENT_RTOL):
        raise ReferenceFailure(f"ridge not certified: relative gradient residual {residual:.2e}, "
                               f"component off rowspan(X) {off_row:.2e}")
    objective = 0.5 * float(np.mean((X @ w - y) ** 2)) + 0.5 * lam * float(np.sum((w - w0) ** 2))
    shrink = s ** 2 / (s ** 2 + n * lam) if s.size else np.zeros(0)
    info = {"lam": lam, "gradient_residual": residual, "rank": int(s.size), "solver": "numpy-svd",
            "shrinkage_min": float(shrink.min()) if s.size else 0.0,
            "shrinkage_max": float(shrink.max()) if s.size else 0.0}
    return Reference("ridge", w, objective, "optimal", info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    if "lam" not in opts:
        raise InputError("reference 'ridge' needs --lam λ (λ ≥ 0)")
    return ridge_solution(problem.X, problem.y, opts["lam"], w0=opts.get("init"))


def _example():
    """Gaussian regression with n = 6, d = 4, λ = 0.1."""
    from implicit_bias.problems import gaussian_regression

    return gaussian_regression(6, 4, n_test=0, seed=0), {"lam": 0.1}


SPEC = register(ReferenceSpec(
    name="ridge",
    summary="ridge regression argmin (1/2n)‖Xw − y‖² + (λ/2)‖w − w0‖² (SVD; λ = 0: least squares nearest w0)",
    compute=_compute,
    options=("lam", "init"),
    example=_example,
))
