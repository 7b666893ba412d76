"""Fitted rates and monotonicity of recorded curves."""

from __future__ import annotations

import numpy as np


def fit_loglog_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log|y| against log x (both positive): y ∝ x^slope."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def fraction_nonincreasing(values: np.ndarray, rtol: float = 1e-12) -> float:
    """Fraction of consecutive pairs with v[k+1] ≤ v[k](1 + rtol)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return 1.0
    return float(np.mean(v[1:] <= v[:-1] * (1 + rtol) + 1e-300))
