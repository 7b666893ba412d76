"""Exp/logistic losses: the answer is a direction, not an argmin. Which branch applies, and its check.

* ``horizon`` (potentials with an unbounded dual domain): the direction is the max-margin solution of
  R's horizon function. The hypentropy Q_α (and the entropy) grows like Σ|w_i| log|w_i|, whose horizon
  is ℓ1: every α gives the ℓ1 max-margin direction (Pesme, Dragomir & Flammarion 2024); the entropy
  adds w ≥ 0. A linear G (quadratic potential, metric M = ∂G∂Gᵀ) gives the M⁻¹-norm max margin.
* ``homogeneity + KKT`` (bounded dual domains, u^D − v^D with D ≥ 3, or any G homogeneous of degree D
  in θ): the flow converges in direction to a KKT point of min ½‖θ‖² s.t. y_i f_i(θ) ≥ 1 (Lyu & Li
  2020); measured by :func:`implicit_bias.metrics.kkt.kkt_residual`.
* otherwise no branch applies and only the candidate fits are reported.

References: Pesme, Dragomir & Flammarion, "Implicit bias of mirror flow on separable data", NeurIPS
2024; Lyu & Li, ICLR 2020; Soudry et al., JMLR 2018.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from implicit_bias.errors import ReferenceFailure
from implicit_bias.references.base import Reference


def l1_max_margin(X: np.ndarray, y: np.ndarray, nonnegative: bool = False) -> Reference:
    """argmin ‖w‖₁ s.t. y_i⟨x_i, w⟩ ≥ 1 (and w ≥ 0), an LP (HiGHS) on w = w⁺ − w⁻ (a vertex if not unique)."""
    n, d = X.shape
    Z = y[:, None] * X
    if nonnegative:
        res = linprog(np.ones(d), A_ub=-Z, b_ub=-np.ones(n), bounds=[(0, None)] * d, method="highs")
        w = res.x if res.status == 0 else None
    else:
        res = linprog(np.ones(2 * d), A_ub=-np.hstack([Z, -Z]), b_ub=-np.ones(n), bounds=[(0, None)] * (2 * d),
                      method="highs")
        w = res.x[:d] - res.x[d:] if res.status == 0 else None
    if w is None:
        raise ReferenceFailure(f"l1 max-margin LP failed: {res.message}")
    return Reference("l1-max-margin", w, float(np.abs(w).sum()), "optimal",
                     info={"solver": "HIGHS", "min_margin": float(np.min(Z @ w)), "nonnegative": bool(nonnegative)})


def predicted_direction(family_name: str | None, X: np.ndarray, y: np.ndarray, w0: np.ndarray,
                        ntk: np.ndarray | None, homogeneous: float | None) -> tuple[str, Reference | None]:
    """(branch, reference direction or None) for the exp/logistic losses."""
    if family_name in ("Q_alpha", "entropy"):
        nonneg = family_name == "entropy" and bool(np.all(w0 >= 0))
        return ("horizon: hypentropy/entropy -> l1 max-margin" + (" with w >= 0" if nonneg else ""),
                l1_max_margin(X, y, nonnegative=nonneg))
    if family_name == "quadratic" and ntk is not None:
        from implicit_bias.references.max_margin import hard_margin_svm

        L = np.linalg.cholesky(ntk)
        ref = hard_margin_svm(X @ L, y)  # w = L z, ‖z‖ = ‖w‖_{M⁻¹}
        return "horizon: quadratic potential -> M^-1-norm max-margin", Reference(
            "metric-max-margin", L @ ref.solution, ref.objective, ref.status, info=ref.info)
    if homogeneous is not None:
        return f"homogeneity (degree {homogeneous:g}) + KKT of max-margin in theta", None
    return "none: not homogeneous and no family with a known horizon", None


def alignment(w: np.ndarray, ref: np.ndarray) -> float:
    """1 − cos(w, ref)."""
    return float(1.0 - (w @ ref) / (np.linalg.norm(w) * np.linalg.norm(ref)))
