"""Exact Hessian trace and top eigenvalue of the diagonal network's square loss, in closed form.

For w = u⊙u − v⊙v and L(u, v) = (1/2n)‖X(u⊙u − v⊙v) − y‖², X (n, d), residual r = Xw − y (n,),
the Jacobian of the predictions is J = [2X diag(u), −2X diag(v)] (n, 2d) and

    ∇²L = (1/n) JᵀJ + (1/n) Σ_i r_i diag(2x_i, −2x_i).

The second term is traceless, so at every point (on the zero-loss manifold or not)

    tr ∇²L = (4/n) Σ_j c_j (u_j² + v_j²),   c_j = ‖X_{:,j}‖²,

and on the zero-loss manifold (r = 0) the Hessian is (1/n)JᵀJ, whose non-zero spectrum is that of
(1/n)JJᵀ = (4/n) X diag(u² + v²) Xᵀ (n, n):

    λ_max(∇²L) = (4/n) λ_max(X diag(u² + v²) Xᵀ).

Since u_j² + v_j² ≥ |u_j² − v_j²| = |w_j| (equality iff u_j v_j = 0), the smallest trace and λ_max of
any point of the manifold expressing w are (4/n) Σ_j c_j|w_j| and (4/n) λ_max(X diag|w| Xᵀ): the
weighted-ℓ1 and the λ_max programs of :mod:`implicit_bias.references.min_sharpness`.

References: Blanc, Gupta, Valiant, Valiant, COLT 2020; Li, Wang, Arora, "What happens after SGD
reaches zero loss?", ICLR 2022 (trace); Wen, Ma, Li, "How does sharpness-aware minimization minimize
sharpness?", ICLR 2023 (λ_max).
"""

from __future__ import annotations

import numpy as np

from implicit_bias.errors import InputError


def _arrays(X, u, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    if X.ndim != 2 or u.shape[-1:] != (X.shape[1],) or v.shape != u.shape:
        raise InputError(f"u and v must have shape (..., {X.shape[1] if X.ndim == 2 else 'd'}) like X's columns, "
                         f"got X {X.shape}, u {u.shape}, v {v.shape}")
    return X, u, v


def hessian_trace(X, u, v) -> np.ndarray:
    """tr ∇²L(u, v) = (4/n) Σ_j c_j (u_j² + v_j²), exact at every point; u, v (..., d) -> (...)."""
    X, u, v = _arrays(X, u, v)
    c = np.sum(X * X, axis=0)
    return 4.0 / X.shape[0] * np.sum(c * (u * u + v * v), axis=-1)


def manifold_sharpness(X, u, v) -> np.ndarray:
    """λ_max(∇²L(u, v)) = (4/n) λ_max(X diag(u² + v²) Xᵀ), exact where Xw = y; u, v (..., d) -> (...)."""
    X, u, v = _arrays(X, u, v)
    a = u * u + v * v
    G = np.einsum("ij,...j,kj->...ik", X, a, X)
    return 4.0 / X.shape[0] * np.linalg.eigvalsh(G)[..., -1]


def trace_floor(X, w) -> np.ndarray:
    """min of tr ∇²L over the points (u, v) with u² − v² = w: (4/n) Σ_j c_j |w_j|; w (..., d) -> (...)."""
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    return hessian_trace(X, np.sqrt(np.abs(w)), np.zeros_like(w))


def sharpness_floor(X, w) -> np.ndarray:
    """min of λ_max(∇²L) over the manifold points with u² − v² = w: (4/n) λ_max(X diag|w| Xᵀ)."""
    w = np.asarray(w, dtype=float)
    return manifold_sharpness(X, np.sqrt(np.abs(w)), np.zeros_like(w))
