"""The potential of a commuting parameterization, computed by flows: ψ(θ0; μ), ∇Q(μ) = G(ψ), Q(μ) − Q(0).

ψ(θ0; μ) (p,) is the flow of the single field ∂G(θ)ᵀμ (gradient flow on the linear loss −⟨μ, G⟩)
from θ0 for unit time. For a commuting G (Li, Wang, Lee & Arora 2022, Theorem 4.9)

    ∇Q(μ) = G(ψ(θ0; μ)),   ∇²Q(μ) = ∂G ∂Gᵀ at ψ,   Q(μ) − Q(0) = ∫₀¹ ⟨μ, G(ψ(θ0; sμ))⟩ ds,

and since ψ(θ0; sμ) is the same flow stopped at time s, Q(μ) − Q(0) is one extra scalar integrated
along the ODE (no differentiation through the solver). Gradient flow on θ is then the mirror flow
d∇R(w)/dt = −∇L(w) with R = Q*, written in its canonical Bregman form from w0 = G(θ0):

    R(w) = D_{Q*}(w, w0) = ⟨μ, w⟩ − (Q(μ) − Q(0))   at w = ∇Q(μ)   (R(w0) = 0, ∇R(w0) = 0).

R depends on θ0, not only on w0, and is unique only up to affine terms (fixed here by the Bregman
form) and — for the limit — increasing transforms.

References: Li, Wang, Lee & Arora, NeurIPS 2022, §4; Kidger 2021 (diffrax).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

#: ψ is solved with diffrax's Dopri8 step at these tolerances (relative; the absolute one is scaled by ‖θ0‖).
PSI_RTOL = 1e-13
PSI_MAX_STEPS = 4096


_SOLVER = diffrax.Dopri8()


def _integrate(field: Callable, y0, atol: jax.Array):
    """(y(1), ok) for dy/ds = field(y) on [0, 1]: diffrax's Dopri8 step under a plain error-per-step
    controller in one ``lax.while_loop`` (it compiles in half the time of ``diffeqsolve``)."""
    term = diffrax.ODETerm(lambda s, y, args: field(y))
    size = sum(x.size for x in jax.tree_util.tree_leaves(y0))
    dtype = jax.tree_util.tree_leaves(y0)[0].dtype

    def body(carry):
        t, y, h, k, ok = carry
        h = jnp.minimum(h, 1.0 - t)
        y1, err, _, _, _ = _SOLVER.step(term, t, t + h, y, None, _SOLVER.init(term, t, t + h, y, None), False)
        e2 = sum(jnp.sum((e / (atol + PSI_RTOL * jnp.maximum(jnp.abs(a), jnp.abs(b)))) ** 2)
                 for e, a, b in zip(jax.tree_util.tree_leaves(err), jax.tree_util.tree_leaves(y), jax.tree_util.tree_leaves(y1)))
        e = jnp.sqrt(e2 / size)
        good = jnp.isfinite(e)
        accept = good & (e <= 1.0)
        y = jax.tree_util.tree_map(lambda a, b: jnp.where(accept, b, a), y, y1)
        t = jnp.where(accept, t + h, t)
        factor = jnp.clip(0.9 * jnp.maximum(e, 1e-12) ** (-1.0 / 8.0), 0.2, 5.0)
        h = jnp.where(good, h * factor, h * 0.2)
        return t, y, h, k + 1, ok & (h > 1e-13)

    def cond(carry):
        t, _, _, k, ok = carry
        return (t < 1.0) & (k < PSI_MAX_STEPS) & ok

    zero = jnp.zeros((), dtype)
    t, y, _, _, ok = jax.lax.while_loop(cond, body, (zero, y0, zero + 0.05, 0, jnp.array(True)))
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(y)]))
    return y, ok & (t >= 1.0) & finite


@partial(jax.jit, static_argnums=0)
def _solve(G: Callable, theta0: jax.Array, mu: jax.Array, atol: jax.Array):
    """(θ(1), Q(μ) − Q(0), ok) for dθ/ds = ∂G(θ)ᵀμ, dq/ds = ⟨μ, G(θ)⟩ from (θ0, 0), s ∈ [0, 1]."""

    def field(state):
        w, vjp = jax.vjp(G, state[0])
        return vjp(mu)[0], jnp.dot(mu, w)

    (theta1, q), ok = _integrate(field, (theta0, jnp.zeros((), theta0.dtype)), atol)
    return theta1, q, ok


@partial(jax.jit, static_argnums=0)
def _solve_tangent(G: Callable, theta0: jax.Array, X: jax.Array, nu: jax.Array, atol: jax.Array):
    """(X G(ψ), d/dν X G(ψ(θ0; Xᵀν)) (n, n), ok) from the variational equation
    dT_k/ds = D(∂Gᵀμ)(θ) T_k + ∂G(θ)ᵀx_k, T_k(0) = 0, integrated beside θ (μ = Xᵀν)."""
    mu = X.T @ nu

    def pull(theta, m):
        return jax.vjp(G, theta)[1](m)[0]

    def field(state):
        theta, T = state
        v, dv = jax.vmap(lambda t: jax.jvp(lambda th: pull(th, mu), (theta,), (t,)), in_axes=1, out_axes=(None, 1))(T)
        return v, dv + jax.vmap(lambda x: pull(theta, x), out_axes=1)(X)

    (theta1, T1), ok = _integrate(field, (theta0, jnp.zeros((theta0.size, X.shape[0]), theta0.dtype)), atol)
    w, jvp_rows = G(theta1), jax.vmap(lambda t: jax.jvp(G, (theta1,), (t,))[1], in_axes=1, out_axes=1)(T1)
    return X @ w, X @ jvp_rows, ok


def _atol(theta0: np.ndarray) -> float:
    return PSI_RTOL * max(float(np.max(np.abs(theta0))), 1e-300)


def psi(G: Callable, theta0: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """(ψ(θ0; μ) (p,), Q(μ) − Q(0), solved) for one μ (d,)."""
    theta, q, ok = _solve(G, jnp.asarray(theta0), jnp.asarray(mu, dtype=jnp.float64), jnp.asarray(_atol(theta0)))
    return np.asarray(theta), float(q), bool(ok)


def data_jacobian(G: Callable, theta0: np.ndarray, X: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """d/dν of X G(ψ(θ0; Xᵀν)) (n, n) by the variational equation (used when G is not commuting)."""
    _, J, ok = _solve_tangent(G, jnp.asarray(theta0), jnp.asarray(X), jnp.asarray(nu), jnp.asarray(_atol(theta0)))
    return np.asarray(J) if bool(ok) else np.full((X.shape[0], X.shape[0]), np.nan)


@dataclass(frozen=True)
class PotentialTable:
    """Q and R tabulated along rays μ = t·r: rows (ray, t, Q(μ) − Q(0), R(∇Q(μ)), ‖∇Q(μ) − w0‖)."""

    rays: np.ndarray  # (k, d) unit directions
    t: np.ndarray  # (k, m) the ray parameters
    q: np.ndarray  # (k, m)
    r: np.ndarray  # (k, m)
    moved: np.ndarray  # (k, m)

    def rows(self) -> list[dict]:
        return [{"ray": int(i), "t": float(self.t[i, j]), "Q": float(self.q[i, j]), "R": float(self.r[i, j]),
                 "distance": float(self.moved[i, j])} for i in range(self.q.shape[0]) for j in range(self.q.shape[1])]


def natural_step(G: Callable, theta0: np.ndarray, direction: np.ndarray) -> float:
    """t such that the flow of ∂Gᵀ(t·r) moves θ by about a quarter of its own size per unit time."""
    _, vjp = jax.vjp(G, jnp.asarray(theta0))
    v = np.asarray(vjp(jnp.asarray(direction))[0])
    scale = np.abs(theta0) + 1e-3 * np.max(np.abs(theta0))
    speed = float(np.max(np.abs(v) / np.where(scale > 0, scale, 1.0)))
    return 0.25 / speed if speed > 0 else 0.0


def tabulate(G: Callable, theta0: np.ndarray, rays: np.ndarray, multiples=(-2.0, -1.0, 1.0, 2.0, 4.0)) -> PotentialTable:
    """Q(μ) − Q(0) and the Bregman R at w = ∇Q(μ) along each ray, at multiples of its natural step."""
    w0 = np.asarray(G(jnp.asarray(theta0)))
    ts = np.asarray(multiples, dtype=float)
    q = np.full((len(rays), ts.size), np.nan)
    r, moved = q.copy(), q.copy()
    t = np.zeros_like(q)
    for i, ray in enumerate(rays):
        h = natural_step(G, theta0, ray)
        t[i] = ts * h
        for j, m in enumerate(ts):
            theta, qq, ok = psi(G, theta0, m * h * ray)
            if ok:
                w = np.asarray(G(jnp.asarray(theta)))
                q[i, j], r[i, j], moved[i, j] = qq, float(m * h * ray @ w) - qq, float(np.linalg.norm(w - w0))
    return PotentialTable(np.asarray(rays), t, q, r, moved)
