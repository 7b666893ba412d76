"""The Q_α interpolator: where gradient flow on a diagonal network started at scale α converges.

Depth 2 (Woodworth et al. 2020, Theorem 1): w = u⊙u − v⊙v, u(0) = v(0) = α·1 (so w(0) = 0),
square loss, X (n, d), y (n,). The flow gives w(∞) = 2α² sinh(Xᵀν) for some ν (n,), i.e.

    w = argmin Q_α(w) s.t. Xw = y,   Q_α(w) = α² Σ_i q(w_i/α²),   q(z) = 2 − √(4+z²) + z·arcsinh(z/2),

since ∇Q_α(w) = arcsinh(w/(2α²)) ∈ rowspan(X) is the KKT condition. α → 0 gives min ‖w‖₁,
α → ∞ gives min ‖w‖₂ (Q_α ≈ ‖w‖²/(4α²)).

Depth D ≥ 3 (Woodworth et al. 2020, Theorem 3): w = u^D − v^D, u(0) = v(0) = α·1, gives

    w = α^D [(1 − α^{D−2} ζ)^{−D/(D−2)} − (1 + α^{D−2} ζ)^{−D/(D−2)}],   ζ = Xᵀν,  |α^{D−2} ζ_i| < 1,

(from d(u^{2−D})/dt = D(D−2)·∇L, see :mod:`diagonal_flow`); the regularizer is its Legendre dual.

Init shape s ∈ (−1, 1) (depth 2 only; Azulay et al. 2021): the two-layer signed network
w = u₊⊙v₊ − u₋⊙v₋ with unbalanced layers u±(0) = α√((1−s)/(1+s)), v±(0) = α√((1+s)/(1−s))
(u0·v0 = α², as at s = 0). With p = (u+v)/2, m = (u−v)/2 each product is p² − m² and the
flow is ṗ = −p g, ṁ = m g (g = Xᵀ(Xw − y)) on the + branch, the reverse on the − branch, so
w = (u0² + v0²) sinh(Xᵀν): the Q_α interpolator at α_s² = α²(1 + s²)/(1 − s²). The imbalance
(in Azulay et al.'s terms δ = u0² − v0² = −4α²s/(1−s²)) makes the network lazier: α_s ≥ α.
The single product w = u⊙v (no − branch, w(0) = u0v0 ≠ 0) is the u⊙u − v⊙v network with inits
(u0+v0)/2 and |u0−v0|/2: ``diagonal_flow_limit(X, y, (u0+v0)/2, abs(u0−v0)/2)``.

References: Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro, "Kernel and rich
regimes in overparametrized models", COLT 2020; Azulay, Moroshko, Nacson, Woodworth, Srebro,
Globerson, Soudry, "On the implicit bias of initialization shape", ICML 2021.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from implicit_bias.errors import InputError
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register
from implicit_bias.references.diagonal_flow import diagonal_flow_limit


def q_alpha_regularizer(w: np.ndarray, alpha: float) -> float:
    """Q_α(w) = α² Σ_i q(w_i/α²) with q(z) = z·arcsinh(z/2) − z²/(2 + √(4+z²)) (= 2 − √(4+z²) + z·arcsinh(z/2)).

    References: Woodworth et al., COLT 2020, eq. (6).
    """
    a2 = float(alpha) ** 2
    z = np.asarray(w, dtype=float) / a2
    return float(a2 * np.sum(z * np.arcsinh(z / 2) - z ** 2 / (2 + np.sqrt(4 + z ** 2))))


def shape_scale(alpha: float, shape: float) -> float:
    """α_s = α √((1 + s²)/(1 − s²)): the balanced scale with the same limit as shape s at depth 2."""
    return float(alpha) * math.sqrt((1 + shape ** 2) / (1 - shape ** 2))


def _check_options(alpha: Any, depth: Any, shape: Any) -> tuple[float, int, float]:
    try:
        alpha, shape = float(alpha), float(shape)
    except (TypeError, ValueError):
        raise InputError(f"alpha and shape must be numbers, got alpha={alpha!r}, shape={shape!r}") from None
    if not (math.isfinite(alpha) and alpha > 0):
        raise InputError(f"alpha (init scale) must be a positive number, got {alpha}")
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer, float)) or depth != int(depth) or depth < 2:
        raise InputError(f"depth must be an integer ≥ 2, got {depth!r}")
    if not (math.isfinite(shape) and abs(shape) < 1):
        raise InputError(f"shape must lie in (−1, 1), got {shape}")
    if shape != 0 and int(depth) != 2:
        raise InputError(f"init shape is only available at depth 2 (got depth {int(depth)}, shape {shape})")
    return alpha, int(depth), shape


def q_alpha_interpolator(X: np.ndarray, y: np.ndarray, alpha: float, depth: int = 2, shape: float = 0.0,
                         *, rtol: float = 1e-12) -> Reference:
    """The gradient-flow limit of the depth-D diagonal network from scale α (and init shape s at depth 2).

    Args:
      X: (n, d) inputs; y: (n,) targets (Xw = y must be solvable).
      alpha: init scale α > 0 (u(0) = v(0) = α·1).
      depth: D ≥ 2 (w = u^D − v^D).
      shape: s ∈ (−1, 1), depth 2 only (layers u±(0) = α√((1−s)/(1+s)), v±(0) = α√((1+s)/(1−s))).
      rtol: required ‖Xw − y‖/‖y‖ (ReferenceFailure if damped Newton does not reach it).

    Returns a Reference with the limit w, objective the implicit regularizer at w (Q_α(w) at depth
    2, Q_{α_s} with shape, the Legendre dual of the depth-D potential otherwise), arrays {"dual": ν
    (n,), "zeta": Xᵀν (d,), the mirror image of w}, info {alpha, depth, shape, effective_alpha,
    newton_iterations, residual, solver}.

    References: Woodworth et al., COLT 2020, Theorems 1 and 3; Azulay et al., ICML 2021.
    """
    X, y = check_data(X, y)
    alpha, depth, shape = _check_options(alpha, depth, shape)
    scale = shape_scale(alpha, shape)
    w, out = diagonal_flow_limit(X, y, scale, scale, depth, rtol=rtol)
    objective = q_alpha_regularizer(w, scale) if depth == 2 else out["potential"]
    info = {"alpha": alpha, "depth": depth, "shape": shape, "effective_alpha": scale,
            "newton_iterations": out["newton_iterations"], "residual": out["residual"],
            "solver": "damped Newton on the dual"}
    return Reference("q-alpha", w, objective, "optimal", arrays={"dual": out["dual"], "zeta": out["zeta"]},
                     info=info)


def diagonal_network_limit(model: Any, X: np.ndarray, y: np.ndarray, init_scale: float | None = None,
                           init_shape: float | None = None, *, rtol: float = 1e-12) -> np.ndarray:
    """The exact limit w (d,) of gradient flow on the square loss for a diagonal network ``model``.

    ``model`` is an :class:`implicit_bias.models.diagonal.DiagonalModel` (its ``param``, ``depth``,
    ``init_scale``, ``init_shape`` and ``layers0`` are read; α and s default to its fields).
    Tied forms: ``q_alpha_interpolator(X, y, α, depth=D, shape=s)``. ``"uv"``: u⊙v = p² − m² with
    p = (u+v)/2, m = (u−v)/2 and (ṗ, ṁ) = (−p g, m g), the tied flow from (p0, |m0|) up to a time
    factor, so ``diagonal_flow_limit(X, y, p0, |m0|)`` (w ≥ 0 when s = 0: then m ≡ 0).
    """
    alpha = model.init_scale if init_scale is None else init_scale
    shape = model.init_shape if init_shape is None else init_shape
    u0, v0 = model.layers0(alpha, shape)  # checks α > 0 and |s| < 1
    if model.param == "uv":
        w, _ = diagonal_flow_limit(X, y, (u0 + v0) / 2, abs(u0 - v0) / 2, 2, rtol=rtol)
        return np.asarray(w)
    return np.asarray(q_alpha_interpolator(X, y, alpha, depth=model.depth, shape=shape, rtol=rtol).solution)


def fit_q_alpha_scale(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[float, float]:
    """(α_eff, ‖w − w_Q(α_eff)‖/‖w‖): the scale whose Q interpolator (depth 2) is nearest to w, searched
    on log α ∈ [log α − 12, log α + 2] (bounded Brent)."""
    def gap(log_a: float) -> float:
        return float(np.linalg.norm(q_alpha_interpolator(X, y, float(np.exp(log_a)), rtol=1e-10).solution - w))

    res = minimize_scalar(gap, bounds=(np.log(alpha) - 12, np.log(alpha) + 2), method="bounded",
                          options={"xatol": 1e-5})
    return float(np.exp(res.x)), float(res.fun / np.linalg.norm(w))


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    if "init_scale" not in opts:
        raise InputError("reference 'q-alpha' needs the init scale α (--init-scale)")
    for key in ("init_scale", "init_shape"):
        if key in opts and not isinstance(opts[key], (int, float, np.integer, np.floating)):
            raise InputError(f"reference 'q-alpha': --{key.replace('_', '-')} must be a number, got {opts[key]!r}")
    return q_alpha_interpolator(problem.X, problem.y, opts["init_scale"], depth=opts.get("depth", 2),
                                shape=opts.get("init_shape", 0.0))


def _example():
    """Gaussian regression with n = 4, d = 6, α = 0.5."""
    from implicit_bias.problems import gaussian_regression

    return gaussian_regression(4, 6, n_test=0, seed=0), {"init_scale": 0.5}


SPEC = register(ReferenceSpec(
    name="q-alpha",
    summary="gradient-flow limit of the diagonal network u^D − v^D from scale α: argmin Q_α(w) s.t. Xw = y",
    compute=_compute,
    options=("init_scale", "depth", "init_shape"),
    example=_example,
))
