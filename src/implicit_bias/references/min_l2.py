"""The minimum-l2-distance interpolator: where gradient descent on least squares converges.

    w = w0 + X⁺ (y − X w0),   X (n, d), y (n,), w0 (d,)

is the point of {w : Xw = y} nearest to w0 (gradient flow and GD from w0 never leave
w0 + rowspan(X) and converge there). When Xw = y has no solution it is the least-squares
point nearest to w0, and the reference says so (``info["consistent"] = False``).

References: Gunasekar, Lee, Soudry, Srebro, "Characterizing implicit bias in terms of optimization
geometry", ICML 2018; Zhang et al., "Understanding deep learning requires rethinking generalization", 2017.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register

#: relative residual below which Xw = y counts as solved (float64 round-off is ~1e-15).
CONSISTENT_RTOL = 1e-9


def _pinv_apply(X: np.ndarray):
    """z ↦ X⁺ z through one SVD, with numpy's default rank cut-off max(n, d)·eps·σ_max; and the rank."""
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    cut = (s[0] if s.size else 0.0) * max(X.shape) * np.finfo(float).eps
    r = int(np.sum(s > cut))
    U, s, Vt = U[:, :r], s[:r], Vt[:r]

    def apply(z: np.ndarray) -> np.ndarray:
        return Vt.T @ ((U.T @ z) / s)

    return apply, r, (float(s[0]) if r else 0.0)


def min_l2_interpolator(X: np.ndarray, y: np.ndarray, w0: np.ndarray | None = None) -> Reference:
    """The point of {w : Xw = y} nearest to w0 (default 0): w = w0 + X⁺(y − X w0).

    Args:
      X: (n, d) inputs, any shape and rank.
      y: (n,) targets.
      w0: (d,) initialization, or None for 0.

    Returns a Reference with objective ‖w − w0‖₂ (‖w‖₂ from 0), status "optimal" when Xw = y
    is solvable and "least-squares" when it is not (then w is the least-squares point nearest
    w0), and info {residual, relative_residual, consistent, rank, solver}. One step of
    iterative refinement brings the residual to round-off.

    References: Gunasekar et al., ICML 2018, §2 (least squares).
    """
    X, y = check_data(X, y)
    d = X.shape[1]
    if w0 is None:
        w0 = np.zeros(d)
    else:
        w0 = np.asarray(w0, dtype=float)
        if w0.shape != (d,):
            raise InputError(f"w0 (init) must have shape ({d},) to match X {X.shape}, got {w0.shape}")
        if not np.all(np.isfinite(w0)):
            raise InputError("w0 (init) must be finite")
    pinv, rank, sigma_max = _pinv_apply(X)
    w = w0 + pinv(y - X @ w0)
    w = w + pinv(y - X @ w)  # iterative refinement: stays in w0 + rowspan(X)
    residual = float(np.linalg.norm(X @ w - y))
    scale = max(float(np.linalg.norm(y)), sigma_max * float(np.linalg.norm(w)), np.finfo(float).tiny)
    consistent = residual <= CONSISTENT_RTOL * scale
    info: dict[str, Any] = {"residual": residual, "relative_residual": residual / scale,
                            "consistent": bool(consistent), "rank": rank, "solver": "numpy-svd"}
    if not consistent:
        info["note"] = "Xw = y has no solution: w is the least-squares point nearest to w0"
    return Reference("min-l2", w, float(np.linalg.norm(w - w0)),
                     "optimal" if consistent else "least-squares", info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    return min_l2_interpolator(problem.X, problem.y, w0=opts.get("init"))


SPEC = register(ReferenceSpec(
    name="min-l2",
    summary="nearest interpolator to w0 (default 0) in l2: w0 + X⁺(y − X w0)",
    compute=_compute,
    options=("init",),
))
