"""The predicted limit in n dimensions: Newton on the dual variable ν ∈ ℝⁿ.

Gradient flow keeps μ(t) = −∫∇L in range(Xᵀ), so the square-loss limit is ψ(θ0; Xᵀν) for the ν (n,)
that solves X G(ψ(θ0; Xᵀν)) = y. For a commuting G this is the minimizer of the convex dual

    Φ(ν) = Q(Xᵀν) − Q(0) − ⟨y, ν⟩,   ∇Φ = X G(ψ) − y (the residual),   ∇²Φ = X ∂G ∂Gᵀ Xᵀ at ψ (the NTK),

i.e. w∞ = argmin D_R(w, w0) s.t. Xw = y. When G is not commuting but the n data fields ∂Gᵀx_k are
involutive, the flow stays on the n-dimensional leaf {ψ(θ0; Xᵀν)} and the same equation (Newton with
the Jacobian of ν ↦ X G(ψ) by forward mode through the solver) returns its limit.

Small init scales overflow full steps (e^{4μ}): every step is limited by a trust region on the
relative motion of θ, max_i |(∂GᵀXᵀΔν)_i| / (|θ_i| + 10⁻³‖θ‖∞) ≤ τ, τ doubled after an accepted
clipped step and cut after a rejected one; a step is accepted on an Armijo decrease of Φ (commuting)
or a decrease of the residual. When y cannot be reached (a restricted range: u⊙u gives w ≥ 0), Φ is
unbounded below: ν runs off along a ray r on which Φ keeps decreasing at a saturated negative slope;
that slope is reported as the evidence for "not interpolable".

References: Li, Wang, Lee & Arora, NeurIPS 2022; Woodworth et al., COLT 2020 (the dual of the
diagonal network); Boyd & Vandenberghe 2004, §9.5 (damped Newton).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax.numpy as jnp
import numpy as np

from implicit_bias.identify.potential import data_jacobian, psi
from implicit_bias.identify.structure import field_rows

_ARMIJO = 1e-4


@dataclass
class DualSolution:
    """The dual solve: status "optimal", "not interpolable" or "failed", and the point it reached."""

    status: str
    nu: np.ndarray  # (n,)
    mu: np.ndarray  # (d,) = Xᵀν
    theta: np.ndarray  # (p,) = ψ(θ0; μ)
    w: np.ndarray  # (d,) = G(θ)
    q: float  # Q(μ) − Q(0)
    objective: float  # R(w) = ⟨μ, w⟩ − (Q(μ) − Q(0)) (commuting G)
    residual: float  # ‖Xw − y‖ / scale
    iterations: int
    method: str
    info: dict = field(default_factory=dict)


class _Point:
    def __init__(self, G, theta0, X, y, nu):
        self.nu = nu
        self.theta, self.q, self.ok = psi(G, theta0, X.T @ nu)
        if self.ok:
            self.w = np.asarray(G(jnp.asarray(self.theta)))
            self.ok = bool(np.all(np.isfinite(self.w)))
        if self.ok:
            self.g = X @ self.w - y
            self.phi = self.q - float(y @ nu)


def _motion(G, theta: np.ndarray, Jf: np.ndarray, step: np.ndarray) -> float:
    v = Jf.T @ step
    scale = np.abs(theta) + 1e-3 * np.max(np.abs(theta)) + np.finfo(float).tiny
    return float(np.max(np.abs(v) / scale))


def _direction(J: np.ndarray, g: np.ndarray) -> np.ndarray:
    try:
        step = -np.linalg.solve(J, g)
        if np.all(np.isfinite(step)):
            return step
    except np.linalg.LinAlgError:
        pass
    return -np.linalg.lstsq(J, g, rcond=1e-14)[0]


def _ray_slopes(G, theta0, X, y, nu: np.ndarray) -> list[float]:
    """⟨r, ∇Φ⟩ at ‖ν‖·r/4, ‖ν‖·r/2, ‖ν‖·r, r = ν/‖ν‖ (NaN where ψ cannot be solved); for a convex Φ
    these slopes are non-decreasing along the ray."""
    norm = float(np.linalg.norm(nu))
    r = nu / norm
    out = []
    for m in (0.25, 0.5, 1.0):
        pt = _Point(G, theta0, X, y, m * norm * r)
        out.append(float(r @ pt.g) if pt.ok else float("nan"))
    return out


def solve_dual(G: Callable, theta0: np.ndarray, X: np.ndarray, y: np.ndarray, *, commuting: bool,
               rtol: float = 1e-12, max_iter: int = 200) -> DualSolution:
    """ν with X G(ψ(θ0; Xᵀν)) = y to relative residual ``rtol`` (damped Newton in a trust region).

    ``commuting``: use Φ and the NTK (no differentiation through the solver); otherwise Newton on the
    residual with the forward-mode Jacobian of ν ↦ X G(ψ(θ0; Xᵀν)).
    """
    n, d = X.shape
    w0 = np.asarray(G(jnp.asarray(theta0)))
    scale = max(float(np.linalg.norm(y)), float(np.linalg.norm(X, 2)) * float(np.linalg.norm(w0)), np.finfo(float).tiny)
    target = rtol * scale
    pt = _Point(G, theta0, X, y, np.zeros(n))
    first_phi = pt.phi
    tau, it, stall, accepted, clipped_run, run_start = 1.0, 0, 0, 0, 0, float("inf")
    method = "damped Newton on the dual (NTK Hessian)" if commuting else "Newton on X G(psi) = y (forward-mode Jacobian)"
    while float(np.linalg.norm(pt.g)) > target and it < max_iter and stall < 8:
        it += 1
        Jf = field_rows(G, jnp.asarray(pt.theta), X)
        J = Jf @ Jf.T if commuting else data_jacobian(G, theta0, X, pt.nu)
        step = _direction(J, pt.g)
        m = _motion(G, pt.theta, Jf, step)
        s = min(1.0, tau / m) if m > 0 else 1.0
        if not np.all(np.isfinite(step)) or not np.any(step):
            break
        trial = _Point(G, theta0, X, y, pt.nu + s * step)
        gnorm = float(np.linalg.norm(pt.g))
        ok = trial.ok and (
            (commuting and trial.phi <= pt.phi + _ARMIJO * s * float(pt.g @ step) + 1e3 * np.finfo(float).eps * (abs(pt.phi) + abs(trial.q)))
            or float(np.linalg.norm(trial.g)) <= (1 - _ARMIJO * s) * gnorm)
        if ok:
            progress = float(np.linalg.norm(trial.g)) < 0.5 * gnorm or (commuting and trial.phi < pt.phi - 1e-9 * abs(pt.phi))
            stall = 0 if progress else stall + 1
            pt, accepted = trial, accepted + 1
            if s < 1.0:
                tau *= 2.0
                clipped_run += 1
                run_start = min(run_start, gnorm)
            else:
                clipped_run, run_start = 0, float("inf")
            if clipped_run >= 12 and float(np.linalg.norm(pt.g)) > 0.5 * run_start:
                break  # ν runs off along a ray without reducing the residual: test for unboundedness below
        else:
            tau = s * m / 4.0
            stall += 1
    res = float(np.linalg.norm(pt.g)) / scale
    mu = X.T @ pt.nu
    objective = float(mu @ pt.w) - pt.q
    info = {"trust_radius": tau, "accepted_steps": accepted, "dual_objective": pt.phi, "dual_objective_0": first_phi}
    if res <= rtol:
        status = "optimal"
    else:
        status = "failed"
        if np.linalg.norm(pt.nu) > 0 and pt.phi < first_phi:
            slopes = _ray_slopes(G, theta0, X, y, pt.nu)
            info["ray_slopes"] = slopes
            if all(np.isfinite(slopes)) and max(slopes) < -1e-6 * scale and \
                    abs(slopes[2] - slopes[1]) <= 1e-3 * abs(slopes[1]):
                status = "not interpolable"
    return DualSolution(status, pt.nu, mu, pt.theta, pt.w, pt.q, objective, res, it, method, info)
