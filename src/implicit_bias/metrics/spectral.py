"""Spectral measurements of matrices: singular values, Schatten (quasi-)norms, effective rank.

All functions take numpy arrays W (..., d1, d2) with any leading batch axes (e.g. the
(M, R, d1, d2) trajectories the engine records) and return (...,)-shaped results.

* singular values σ_1 ≥ σ_2 ≥ ⋯ ≥ 0                                  (..., min(d1, d2))
* Schatten-p: ‖W‖_{S_p} = (Σ_i σ_i^p)^{1/p}; p = 1 nuclear, p = 2 Frobenius, p = ∞ spectral;
  a quasi-norm for 0 < p < 1
* effective rank (Roy & Vetterli 2007): erank(W) = exp(H(p)), p_i = σ_i / Σ_j σ_j,
  H(p) = −Σ p_i log p_i (0 log 0 = 0); between 1 and rank(W), equal to r for r equal σ's.

References: Roy & Vetterli 2007, "The effective rank: a measure of effective dimensionality"
(EUSIPCO); Razin & Cohen 2020 (Schatten quasi-norms); Arora, Cohen, Hu, Luo 2019.
"""

from __future__ import annotations

import numpy as np

from implicit_bias.errors import InputError


def singular_values(W: np.ndarray) -> np.ndarray:
    """σ(W) in decreasing order, shape (..., min(d1, d2))."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim < 2:
        raise InputError(f"singular values need a matrix (..., d1, d2), got shape {W.shape}")
    return np.linalg.svd(W, compute_uv=False)


def schatten_norm(W: np.ndarray, p: float) -> np.ndarray:
    """‖W‖_{S_p} = (Σ σ_i^p)^{1/p} for p > 0 (quasi-norm when p < 1); p = inf gives σ_1."""
    if not p > 0:
        raise InputError(f"Schatten p must be positive, got {p}")
    s = singular_values(W)
    if np.isinf(p):
        return s[..., 0]
    top = s[..., :1]
    safe = np.where(top > 0, top, 1.0)
    # scaled by σ_1 so that large matrices and small p neither overflow nor underflow
    return np.where(top[..., 0] > 0, safe[..., 0] * np.sum((s / safe) ** p, axis=-1) ** (1.0 / p), 0.0)


def nuclear_norm(W: np.ndarray) -> np.ndarray:
    """‖W‖_* = Σ σ_i."""
    return singular_values(W).sum(axis=-1)


def effective_rank(W: np.ndarray | None = None, *, sigma: np.ndarray | None = None) -> np.ndarray:
    """Roy & Vetterli's entropy effective rank exp(−Σ p_i log p_i), p = σ/‖σ‖₁ (0 for W = 0).

    Give either the matrix W (..., d1, d2) or its singular values ``sigma`` (..., r).
    """
    s = singular_values(W) if sigma is None else np.abs(np.asarray(sigma, dtype=np.float64))
    total = s.sum(axis=-1, keepdims=True)
    p = s / np.where(total > 0, total, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)
    return np.where(total[..., 0] > 0, np.exp(h), 0.0)


def relative_frobenius_error(W: np.ndarray, W_ref: np.ndarray) -> np.ndarray:
    """‖W − W_ref‖_F / ‖W_ref‖_F over the last two axes."""
    W, W_ref = np.asarray(W, dtype=np.float64), np.asarray(W_ref, dtype=np.float64)
    return np.linalg.norm(W - W_ref, axis=(-2, -1)) / np.linalg.norm(W_ref, axis=(-2, -1))
