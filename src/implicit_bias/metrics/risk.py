"""Closed-form estimation risks of early-stopped gradient descent, ridge and ridgeless least squares.

Model: y = Xβ₀ + ε, E ε = 0, Cov ε = σ² I_n, X (n, d) fixed; Σ̂ = XᵀX/n = V diag(s) Vᵀ (s (d,), zeros
included) and b = Vᵀβ₀. Every estimator here is linear in y, so its risk E_ε‖β̂ − β₀‖² = bias + variance
is exact given X (the noise is integrated, never sampled). On the mean square loss (1/2n)‖Xβ − y‖²:

* gradient flow from 0 at time t:  bias Σ b_i² e^{−2ts_i},            variance (σ²/n) Σ_{s_i>0} (1 − e^{−ts_i})²/s_i
* GD, step h, k steps from 0:       bias Σ b_i² (1 − hs_i)^{2k},         variance (σ²/n) Σ_{s_i>0} (1 − (1 − hs_i)^k)²/s_i
* ridge (XᵀX + nλI)⁻¹Xᵀy:           bias Σ b_i² λ²/(s_i + λ)²,           variance (σ²/n) Σ s_i/(s_i + λ)²

At λ = 1/t each gradient-flow term is at most the ridge term times 1 (bias) or c*² (variance), where
c* = sup_{x>0} (1 − e^{−x})(1 + x)/x (x = ts): :func:`early_stopping_constant`.

Marchenko–Pastur limits (x ~ N(0, I_d), d/n → γ, isotropic prior E β₀β₀ᵀ = (r²/d) I): the risks become
r² ∫ g dF_γ + σ²γ ∫ h dF_γ with F_γ the MP law of Σ̂ (atom 1 − 1/γ at 0 when γ > 1), integrated by
scipy quadrature with the square-root endpoint weight.

Ridgeless (minimum-norm) least squares, isotropic x: Hastie et al.'s limits σ²γ/(1 − γ) (γ = p/n < 1) and
r²(1 − 1/γ) + σ²/(γ − 1) (γ > 1); exact finite-n means over Gaussian X: σ²p/(n − p − 1) (p < n − 1, the
inverse-Wishart mean) and r²(1 − n/p) + σ²n/(p − n − 1) (p > n + 1).

References: Ali, Kolter, Tibshirani, AISTATS 2019 (Lemma 5, Theorem 1, §5); Hastie, Montanari, Rosset,
Tibshirani, "Surprises in high-dimensional ridgeless least squares interpolation", AoS 2022 (Thm 1, Prop 2).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate
from scipy.optimize import brentq

from implicit_bias.errors import InputError

#: the rounded constant Ali, Kolter & Tibshirani quote for c*² (their Theorem 1).
PAPER_CONSTANT = 1.6862


@functools.lru_cache(maxsize=1)
def early_stopping_constant() -> tuple[float, float]:
    """(x*, c*): c* = sup_{x>0} (1 − e^{−x})(1 + x)/x, attained at the root x* of
    d/dx log[...] = 1/(eˣ − 1) + 1/(1 + x) − 1/x (x* ≈ 1.7933, c* ≈ 1.29843, c*² ≈ 1.685909)."""
    x = brentq(lambda z: 1.0 / np.expm1(z) + 1.0 / (1.0 + z) - 1.0 / z, 0.5, 5.0, xtol=1e-15, rtol=1e-15)
    return float(x), float(-np.expm1(-x) * (1.0 + x) / x)


def _spectrum(eigs: np.ndarray, coef2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.asarray(eigs, dtype=float)
    b2 = np.asarray(coef2, dtype=float)
    if s.shape != b2.shape or s.ndim != 1:
        raise InputError(f"eigenvalues and squared coefficients must be vectors of one shape, got {s.shape}, {b2.shape}")
    if np.any(s < 0) or not np.all(np.isfinite(s)):
        raise InputError("eigenvalues of XᵀX/n must be finite and >= 0")
    pos = s > s.max(initial=0.0) * s.size * np.finfo(float).eps
    return s, b2, pos


def design_spectrum(X: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s (d,), b² (d,)): eigenvalues of XᵀX/n and (Vᵀβ₀)² in the same order. For d > n the d − n zero
    eigenvalues carry the null-space mass ‖β₀‖² − Σ_{s>0} b² on the first of them (risks only see its sum)."""
    X = np.asarray(X, dtype=float)
    beta = np.asarray(beta, dtype=float)
    n, d = X.shape
    if d <= n:
        s, V = np.linalg.eigh(X.T @ X / n)
        return np.maximum(s, 0.0), (V.T @ beta) ** 2
    _, sv, Vt = np.linalg.svd(X, full_matrices=False)
    b2 = np.zeros(d)
    b2[:n] = (Vt @ beta) ** 2
    b2[n] = max(float(beta @ beta) - float(b2[:n].sum()), 0.0)
    s = np.zeros(d)
    s[:n] = sv ** 2 / n
    return s, b2


def gf_risk(eigs, coef2, sigma2: float, n: int, t) -> tuple[np.ndarray, np.ndarray]:
    """(bias, variance) of gradient flow from 0 at times t (array): see the module docstring."""
    s, b2, pos = _spectrum(eigs, coef2)
    t = np.atleast_1d(np.asarray(t, dtype=float))[:, None]
    bias = np.sum(b2 * np.exp(-2.0 * t * s), axis=1)
    variance = sigma2 / n * np.sum(np.expm1(-t * s[pos]) ** 2 / s[pos], axis=1)
    return bias, variance


def gd_risk(eigs, coef2, sigma2: float, n: int, step_size: float, k) -> tuple[np.ndarray, np.ndarray]:
    """(bias, variance) of GD with step h after k steps (array) from 0."""
    s, b2, pos = _spectrum(eigs, coef2)
    k = np.atleast_1d(np.asarray(k, dtype=float))[:, None]
    contraction = (1.0 - step_size * s) ** k
    bias = np.sum(b2 * contraction ** 2, axis=1)
    variance = sigma2 / n * np.sum((1.0 - contraction[:, pos]) ** 2 / s[pos], axis=1)
    return bias, variance


def ridge_risk(eigs, coef2, sigma2: float, n: int, lam) -> tuple[np.ndarray, np.ndarray]:
    """(bias, variance) of ridge (XᵀX + nλI)⁻¹Xᵀy at λ (array, λ > 0)."""
    s, b2, _ = _spectrum(eigs, coef2)
    lam = np.atleast_1d(np.asarray(lam, dtype=float))[:, None]
    bias = np.sum(b2 * (lam / (s + lam)) ** 2, axis=1)
    variance = sigma2 / n * np.sum(s / (s + lam) ** 2, axis=1)
    return bias, variance


def mp_edges(gamma: float) -> tuple[float, float]:
    """Support [(1 − √γ)², (1 + √γ)²] of the Marchenko–Pastur law of XᵀX/n, aspect γ = d/n."""
    if not (math.isfinite(gamma) and gamma > 0):
        raise InputError(f"aspect ratio gamma must be positive, got {gamma}")
    return (1 - math.sqrt(gamma)) ** 2, (1 + math.sqrt(gamma)) ** 2


def mp_integral(gamma: float, g) -> float:
    """∫ g dF_γ over the continuous part (density √((b − s)(s − a))/(2πγ s)); the atom at 0 excluded."""
    a, b = mp_edges(gamma)
    value, _ = integrate.quad(lambda s: g(s) / (2 * math.pi * gamma * s), a, b, weight="alg", wvar=(0.5, 0.5),
                              epsabs=1e-13, epsrel=1e-11, limit=200)
    return float(value)


def _atom(gamma: float) -> float:
    return max(0.0, 1.0 - 1.0 / gamma)


def mp_gf_risk(gamma: float, r2: float, sigma2: float, t: float) -> tuple[float, float]:
    """(bias, variance) limits of gradient flow at time t: r² ∫ e^{−2ts} dF_γ, σ²γ ∫ (1 − e^{−ts})²/s dF_γ."""
    bias = r2 * (mp_integral(gamma, lambda s: math.exp(-2 * t * s)) + _atom(gamma))
    variance = sigma2 * gamma * mp_integral(gamma, lambda s: math.expm1(-t * s) ** 2 / s)
    return bias, variance


def mp_ridge_risk(gamma: float, r2: float, sigma2: float, lam: float) -> tuple[float, float]:
    """(bias, variance) limits of ridge at λ: r² ∫ λ²/(s + λ)² dF_γ, σ²γ ∫ s/(s + λ)² dF_γ."""
    bias = r2 * (mp_integral(gamma, lambda s: (lam / (s + lam)) ** 2) + _atom(gamma))
    variance = sigma2 * gamma * mp_integral(gamma, lambda s: s / (s + lam) ** 2)
    return bias, variance


def ridgeless_risk_limit(gamma, r2: float, sigma2: float) -> np.ndarray:
    """Hastie et al.'s limiting risk of min-norm least squares (isotropic x): inf at γ = 1."""
    g = np.asarray(gamma, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = sigma2 * g / (1.0 - g)
        over = r2 * (1.0 - 1.0 / g) + sigma2 / (g - 1.0)
    return np.where(g < 1, under, np.where(g > 1, over, np.inf))


def ridgeless_risk_finite(n: int, p, r2: float, sigma2: float) -> np.ndarray:
    """Exact mean over Gaussian X (n, p) of the min-norm risk: inf for n − 1 ≤ p ≤ n + 1."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = sigma2 * p / (n - p - 1.0)
        over = r2 * (1.0 - n / p) + sigma2 * n / (p - n - 1.0)
    return np.where(p < n - 1, under, np.where(p > n + 1, over, np.inf))


def conditional_ridgeless_risk(X: np.ndarray, beta: np.ndarray, sigma2: float,
                               cov: np.ndarray | None = None) -> tuple[float, float]:
    """(bias, variance) of β̂ = X⁺y given X, integrated over the noise, in the norm of Cov x = diag(cov):
    bias ‖(I − X⁺X)β‖²_Σ, variance σ² tr(X⁺ᵀ Σ X⁺) (Σ = I when cov is None)."""
    X = np.asarray(X, dtype=float)
    U, sv, Vt = np.linalg.svd(X, full_matrices=False)
    keep = sv > sv.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    U, sv, Vt = U[:, keep], sv[keep], Vt[keep]
    resid = beta - Vt.T @ (Vt @ beta)
    pinv_t = Vt.T / sv  # columns of X⁺ up to the rotation U (tr is rotation invariant)
    weight = np.ones(X.shape[1]) if cov is None else np.asarray(cov, dtype=float)
    return float(np.sum(weight * resid ** 2)), float(sigma2 * np.sum(weight[:, None] * pinv_t ** 2))
