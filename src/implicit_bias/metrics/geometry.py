"""Distances, angles and margins of predictors; all accept a leading batch axis.

Shapes: w (..., d), reference (d,), X (n, d), y (n,).
"""

from __future__ import annotations

import numpy as np


def relative_distance(w: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """‖w − w_ref‖ / max(‖w_ref‖, tiny), over the last axis."""
    w, reference = np.asarray(w, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    scale = max(float(np.linalg.norm(reference)), np.finfo(np.float64).tiny)
    return np.linalg.norm(w - reference, axis=-1) / scale


def angle_gap(w: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """1 − cos(w, w_ref), computed as ½‖w/‖w‖ − ŵ/‖ŵ‖‖² to keep precision near 0."""
    w, reference = np.asarray(w, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    u = w / np.linalg.norm(w, axis=-1, keepdims=True)
    v = reference / np.linalg.norm(reference)
    return 0.5 * np.sum((u - v) ** 2, axis=-1)


def normalized_margin(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """min_i y_i⟨w, x_i⟩ / ‖w‖: the geometric margin of the direction of w."""
    w = np.asarray(w, dtype=np.float64)
    return np.min((w @ np.asarray(X).T) * np.asarray(y), axis=-1) / np.linalg.norm(w, axis=-1)


def distance_to_rowspan_affine(w: np.ndarray, X: np.ndarray, w0: np.ndarray) -> np.ndarray:
    """‖(I − P) (w − w0)‖ / max(‖w − w0‖, tiny): how far w left the affine set w0 + rowspan(X).

    P projects onto rowspan(X) (orthonormal basis from the SVD of X).
    """
    X = np.asarray(X, dtype=np.float64)
    _, s, vt = np.linalg.svd(X, full_matrices=False)
    basis = vt[s > s.max() * max(X.shape) * np.finfo(np.float64).eps]
    delta = np.asarray(w, dtype=np.float64) - np.asarray(w0, dtype=np.float64)
    outside = delta - (delta @ basis.T) @ basis
    return np.linalg.norm(outside, axis=-1) / np.maximum(np.linalg.norm(delta, axis=-1), np.finfo(np.float64).tiny)
