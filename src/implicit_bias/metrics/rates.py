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


def first_crossing(t: np.ndarray, v: np.ndarray, level: float) -> float:
    """First time the recorded curve v(t), (K,) at times t (K,), reaches ``level``, interpolated linearly
    between the bracketing records; t[0] if it starts there, inf if it never does."""
    above = np.flatnonzero(np.asarray(v) >= level)
    if above.size == 0:
        return float("inf")
    k = above[0]
    if k == 0:
        return float(t[0])
    return float(t[k - 1] + (level - v[k - 1]) * (t[k] - t[k - 1]) / (v[k] - v[k - 1]))


def fraction_nonincreasing(values: np.ndarray, rtol: float = 1e-12) -> float:
    """Fraction of consecutive pairs with v[k+1] ≤ v[k](1 + rtol)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return 1.0
    return float(np.mean(v[1:] <= v[:-1] * (1 + rtol) + 1e-300))
