"""Error-free transformations: products and dot products to twice float64's precision.

Used where a quantity near a cancellation must keep full relative precision (the depth-D
diagonal network ends near the edge of its domain, 1 − α^{D−2}ζ ≈ 0).

References: Ogita, Rump, Oishi, "Accurate sum and dot product", SIAM J. Sci. Comput. 26 (2005)
(TwoSum, TwoProduct via Veltkamp–Dekker splitting, Dot2).
"""

from __future__ import annotations

import numpy as np

_SPLITTER = 134217729.0  # 2^27 + 1


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = _SPLITTER * x
    hi = c - (c - x)
    return hi, x - hi


def two_product(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, e) with p = fl(x·y) and p + e = x·y exactly (barring over/underflow)."""
    p = x * y
    xh, xl = _split(x)
    yh, yl = _split(y)
    return p, ((xh * yh - p) + xh * yl + xl * yh) + xl * yl


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s, e) with s = fl(a + b) and s + e = a + b exactly."""
    s = a + b
    z = s - a
    return s, (a - (s - z)) + (b - z)


def dot2(B: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bᵀv for B (r, d), v (r,) as hi + lo (d,), as accurate as if computed in double-double."""
    s = np.zeros(B.shape[1])
    c = np.zeros(B.shape[1])
    for j in range(B.shape[0]):
        p, e = two_product(B[j], np.full(B.shape[1], v[j]))
        s, err = two_sum(s, p)
        c += err + e
    hi = s + c
    return hi, c - (hi - s)
