"""Margins and approximate KKT points of homogeneous networks on separable data.

For a network f(θ; x) positively homogeneous of degree D in θ (f(cθ) = c^D f(θ), c > 0) and
labels y_i = ±1, with q_i(θ) = y_i f(θ; x_i) and ρ = ‖θ‖:

* normalized margin  γ̄(θ) = min_i q_i / ρ^D;
* smoothed margin    γ̃(θ) = log(1/L_sum)/ρ^D (exp loss), log(1/(e^{L_sum} − 1))/ρ^D (logistic),
  L_sum = Σ_i ℓ(q_i); γ̃ ≤ γ̄ ≤ γ̃ + log(n)/ρ^D, and γ̃ is non-decreasing along gradient flow once
  L_sum < 1 (Lyu & Li 2020, Theorem 4.1);
* the max-margin problem  min ½‖θ‖² s.t. q_i(θ) ≥ 1, whose KKT conditions at θ̂ = θ/(min q)^{1/D}
  are θ̂ = Σ λ_i ∇q_i(θ̂), λ ≥ 0, λ_i (q_i(θ̂) − 1) = 0. :func:`kkt_residual` measures how far θ̂ is
  from satisfying them (the (ε, δ)-KKT point of Lyu & Li, Definition C.4, made scale-free).

References: Lyu & Li, "Gradient descent maximizes the margin of homogeneous neural networks", ICLR
2020; Ji & Telgarsky, "Directional convergence and alignment in deep learning", NeurIPS 2020.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls


def homogeneous_normalized_margin(q: np.ndarray, norm: np.ndarray, degree: int) -> np.ndarray:
    """γ̄ = min_i q_i / ρ^D for q (..., n) and ρ (...)."""
    return np.min(np.asarray(q, dtype=np.float64), axis=-1) / np.asarray(norm, dtype=np.float64) ** degree


def smoothed_margin(log_loss_mean: np.ndarray, n_samples: int, norm: np.ndarray, degree: int,
                    loss: str = "exp") -> np.ndarray:
    """γ̃ from log of the mean loss (as recorded): L_sum = n · exp(log_loss_mean), stable for tiny losses.

    exp: −log L_sum / ρ^D. logistic: −log(e^{L_sum} − 1) / ρ^D, with log(e^x − 1) = log x + log(expm1(x)/x)
    (≈ log x + x/2 for x → 0). NaN where L_sum ≥ 1 (exp) or ≥ log 2 (logistic): not all points classified.
    """
    log_sum = np.asarray(log_loss_mean, dtype=np.float64) + np.log(n_samples)
    rho_d = np.asarray(norm, dtype=np.float64) ** degree
    if loss == "exp":
        value = -log_sum
    elif loss == "logistic":
        x = np.exp(np.minimum(log_sum, 50.0))
        small = log_sum < -30
        ratio = np.where(small, 1.0 + x / 2, np.expm1(np.where(small, 1.0, x)) / np.where(small, 1.0, x))
        value = -(log_sum + np.log(ratio))
    else:
        raise ValueError(f"smoothed margin is defined for exp and logistic losses, got {loss!r}")
    threshold = 0.0 if loss == "exp" else np.log(np.log(2.0))
    return np.where(log_sum < threshold, value / rho_d, np.nan)


@dataclass(frozen=True)
class KKTResidual:
    """Scale-free residuals of the max-margin KKT conditions at θ̂ = θ/(min q)^{1/D}.

    Attributes:
      stationarity: ‖θ̂ − Σ λ_i ∇q_i(θ̂)‖ / ‖θ̂‖.
      complementarity: D Σ λ_i (q_i(θ̂) − 1) / ‖θ̂‖² (Σ λ_i q_i ≈ ‖θ̂‖²/D by Euler's identity).
      multipliers: λ (n,) ≥ 0.
    """

    stationarity: float
    complementarity: float
    multipliers: np.ndarray

    @property
    def total(self) -> float:
        """max(stationarity, complementarity)."""
        return max(self.stationarity, self.complementarity)


def kkt_residual(theta: np.ndarray, q: np.ndarray, grads: np.ndarray, degree: int) -> KKTResidual:
    """KKT residual of θ (P,) for the max-margin problem, given q_i(θ) (n,) and ∇q_i(θ) (n, P).

    Rescales to θ̂ = θ/c, c = (min q)^{1/D} (so min q(θ̂) = 1; ∇q(θ̂) = ∇q(θ)/c^{D−1}), then picks
    λ ≥ 0 by non-negative least squares on the stacked system [∇q(θ̂)ᵀ; D(q(θ̂) − 1)ᵀ/‖θ̂‖] λ ≈ [θ̂; 0],
    which trades stationarity against complementary slackness on one scale.
    """
    theta, q, grads = (np.asarray(a, dtype=np.float64) for a in (theta, q, grads))
    q_min = float(q.min())
    if q_min <= 0:
        raise ValueError("kkt_residual needs every point classified (min q > 0)")
    c = q_min ** (1.0 / degree)
    theta_hat, q_hat, G = theta / c, q / q_min, grads / c ** (degree - 1)
    scale = float(np.linalg.norm(theta_hat))
    A = np.vstack([G.T, degree * (q_hat - 1.0)[None, :] / scale])
    b = np.concatenate([theta_hat, [0.0]])
    lam, _ = nnls(A, b, maxiter=50 * A.shape[1])
    stationarity = float(np.linalg.norm(theta_hat - G.T @ lam)) / scale
    complementarity = float(degree * np.sum(lam * (q_hat - 1.0))) / scale ** 2
    return KKTResidual(stationarity, complementarity, lam)


def gradient_alignment(theta: np.ndarray, neg_grad: np.ndarray) -> np.ndarray:
    """1 − cos(θ, −∇L) over the last axis: → 0 along gradient flow (Ji & Telgarsky 2020)."""
    theta, g = np.asarray(theta, dtype=np.float64), np.asarray(neg_grad, dtype=np.float64)
    cos = np.sum(theta * g, axis=-1) / (np.linalg.norm(theta, axis=-1) * np.linalg.norm(g, axis=-1))
    return 1.0 - cos


def layer_balance(layer_sq_norms: np.ndarray) -> np.ndarray:
    """max_l |‖W_l‖²/Σ_k ‖W_k‖² − 1/D| over the last axis (D layers): → 0 as the layers align in norm."""
    s = np.asarray(layer_sq_norms, dtype=np.float64)
    D = s.shape[-1]
    return np.max(np.abs(s / s.sum(axis=-1, keepdims=True) - 1.0 / D), axis=-1)
