"""Normalized margins in any norm: how well the direction of w separates the data in that geometry.

    γ_‖·‖(w) = min_i y_i ⟨w, x_i⟩ / ‖w‖,       w (..., d), X (n, d), y (n,) ∈ {±1}

Norms: ``l2``, ``l1``, ``linf``, ``lp`` (with p ≥ 1), ``quadratic`` (‖w‖_P = √(wᵀPw), P ≻ 0) and
``fourier-l1`` (‖Fw‖₁ = Σ_k |Σ_j w_j e^{−2πi jk/d}|, the unnormalised DFT). The optimum of γ over
directions is the max-margin value of that norm, 1/min{‖w‖ : y_i⟨w, x_i⟩ ≥ 1} (see
:mod:`implicit_bias.references.norm_margin`); :func:`dual_norm` gives the norm a dual certificate needs.
Every function is traceable (inside a record function, vmappable, batch axis first) and runs in numpy
when no argument is a jax array (no compilation for measurements made after a run).

References: Gunasekar, Lee, Soudry, Srebro, "Characterizing implicit bias in terms of optimization
geometry", ICML 2018 (the margin of steepest descent in its own norm).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError

NORMS = ("l2", "l1", "linf", "lp", "quadratic", "fourier-l1")


def check_norm(norm: str, p: float | None = None, P: Any = None) -> None:
    """InputError unless ``norm`` is known and carries what it needs (p ≥ 1 for lp, P for quadratic)."""
    if norm not in NORMS:
        raise InputError(f"unknown norm '{norm}'; valid: {', '.join(NORMS)}")
    if norm == "lp" and (p is None or not float(p) >= 1.0):
        raise InputError(f"norm 'lp' needs p >= 1, got p = {p!r}")
    if norm == "quadratic" and P is None:
        raise InputError("norm 'quadratic' needs the positive definite matrix P")


def _xp(*arrays: Any) -> Any:
    """jax.numpy when any argument is a jax array (or tracer), numpy otherwise."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def norm_of(w: Any, norm: str, p: float | None = None, P: Any = None) -> Any:
    """‖w‖ over the last axis (shape w.shape[:-1])."""
    check_norm(norm, p, P)
    xp = _xp(w, P)
    w = xp.asarray(w)
    if norm == "l2":
        return xp.sqrt(xp.sum(w * w, axis=-1))
    if norm == "l1":
        return xp.sum(xp.abs(w), axis=-1)
    if norm == "linf":
        return xp.max(xp.abs(w), axis=-1)
    if norm == "lp":
        a = xp.abs(w)
        top = xp.max(a, axis=-1, keepdims=True)
        safe = xp.where(top > 0, top, 1.0)
        return safe[..., 0] * xp.sum((a / safe) ** p, axis=-1) ** (1.0 / p)
    if norm == "quadratic":
        return xp.sqrt(xp.einsum("...i,ij,...j->...", w, xp.asarray(P), w))
    return xp.sum(xp.abs(xp.fft.fft(w, axis=-1)), axis=-1)


def dual_norm(v: Any, norm: str, p: float | None = None, P: Any = None) -> Any:
    """‖v‖_* = max{⟨v, w⟩ : ‖w‖ ≤ 1} over the last axis.

    l2 → l2, l1 → l∞, l∞ → l1, lp → lq (1/p + 1/q = 1), quadratic → √(vᵀP⁻¹v), fourier-l1 → ‖Fv‖_∞ / d
    (⟨v, w⟩ = Re⟨Fv, Fw⟩ / d for the unnormalised DFT).
    """
    check_norm(norm, p, P)
    xp = _xp(v, P)
    v = xp.asarray(v)
    if norm == "l2":
        return norm_of(v, "l2")
    if norm == "l1":
        return norm_of(v, "linf")
    if norm == "linf":
        return norm_of(v, "l1")
    if norm == "lp":
        return norm_of(v, "linf") if p == 1 else norm_of(v, "lp", p / (p - 1.0))
    if norm == "quadratic":
        P = xp.asarray(P)
        Pinv_v = xp.linalg.solve(xp.broadcast_to(P, v.shape[:-1] + P.shape), v[..., None])[..., 0]
        return xp.sqrt(xp.sum(v * Pinv_v, axis=-1))
    return xp.max(xp.abs(xp.fft.fft(v, axis=-1)), axis=-1) / v.shape[-1]


def margin(w: Any, X: Any, y: Any, norm: str = "l2", p: float | None = None, P: Any = None) -> Any:
    """min_i y_i⟨w, x_i⟩ / ‖w‖ for w (..., d); shape w.shape[:-1] (negative when w misclassifies)."""
    xp = _xp(w, X, y)
    w = xp.asarray(w)
    functional = xp.min(xp.einsum("...d,nd->...n", w, xp.asarray(X)) * xp.asarray(y), axis=-1)
    if xp is np:
        with np.errstate(invalid="ignore", divide="ignore"):  # w = 0 has no direction: nan
            return functional / norm_of(w, norm, p, P)
    return functional / norm_of(w, norm, p, P)
