"""Lie brackets of the fields ∇G_i: is G commuting, involutive, or only involutive on the data's fields?

For gradient fields the bracket is [∇G_i, ∇G_j] = ∇²G_j ∇G_i − ∇²G_i ∇G_j. Sampled test: for random
a, b ∈ ℝ^d the bracket of the combinations g_a = ⟨a, G⟩, g_b = ⟨b, G⟩ is Σ a_i b_j [∇G_i, ∇G_j]; it
costs two gradients and two Hessian-vector products (``jax.jvp`` of ``jax.grad``). For d ≤ 10 all
pairs are computed from the Jacobian and the Hessians. Each bracket b is reported

* ``relative``:   ‖b‖ / (‖∇g_a‖‖∇g_b‖)   (it carries units 1/[θ]);
* ``normalized``: ‖b‖ / (‖∇²g_b∇g_a‖ + ‖∇²g_a∇g_b‖) ∈ [0, 1]  (scale-free; decisions use this one);

and its component off span{∇G_k} (involutive) and, for combinations of the data fields ∇f_k = ∂Gᵀx_k,
off span{∇f_k} (data-involutive), on the same normalized scale. A sampled test is evidence on the
sampled points, never a proof.

References: Li, Wang, Lee & Arora, NeurIPS 2022 (commuting parameterizations, Theorem 4.9);
Azulay et al., ICML 2021 (time-warped mirror flows); Frobenius' theorem (involutive distributions).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

#: a normalized bracket (or its off-span part) below this counts as zero.
STRUCTURE_TOL = 1e-8
#: pairs of random combinations sampled per point.
PAIRS = 4


@partial(jax.jit, static_argnums=0)
def combination_bracket(G: Callable, theta: jax.Array, a: jax.Array, b: jax.Array):
    """(∇g_a, ∇g_b, [∇g_a, ∇g_b], ‖∇²g_b∇g_a‖ + ‖∇²g_a∇g_b‖) with g_a = ⟨a, G⟩, g_b = ⟨b, G⟩ (all (p,))."""
    grad_a = jax.grad(lambda t: jnp.dot(a, G(t)))
    grad_b = jax.grad(lambda t: jnp.dot(b, G(t)))
    xa, xb = grad_a(theta), grad_b(theta)
    hb_xa = jax.jvp(grad_b, (theta,), (xa,))[1]
    ha_xb = jax.jvp(grad_a, (theta,), (xb,))[1]
    return xa, xb, hb_xa - ha_xb, jnp.linalg.norm(hb_xa) + jnp.linalg.norm(ha_xb)


@partial(jax.jit, static_argnums=0)
def _hess_jac(G: Callable, theta: jax.Array) -> jax.Array:
    """[i, j] = ∇²G_j ∇G_i, shape (d, d, p)."""
    return jnp.einsum("jpq,iq->ijp", jax.hessian(G)(theta), jax.jacfwd(G)(theta))


def exact_brackets(G: Callable, theta: jax.Array) -> np.ndarray:
    """All pairs B[i, j] = ∇²G_j ∇G_i − ∇²G_i ∇G_j, shape (d, d, p) (for small d)."""
    HJ = np.asarray(_hess_jac(G, jnp.asarray(theta)))
    return HJ - np.swapaxes(HJ, 0, 1)


def exact_pair_table(G: Callable, theta: jax.Array) -> np.ndarray:
    """(d, d) normalized brackets ‖B_ij‖/(‖∇²G_j∇G_i‖ + ‖∇²G_i∇G_j‖) of every pair (0 where both vanish)."""
    HJ = np.asarray(_hess_jac(G, jnp.asarray(theta)))
    B = HJ - np.swapaxes(HJ, 0, 1)
    den = np.linalg.norm(HJ, axis=2) + np.linalg.norm(HJ, axis=2).T
    return np.where(den > 0, np.linalg.norm(B, axis=2) / np.where(den > 0, den, 1.0), 0.0)


def _off_span(rows: np.ndarray, v: np.ndarray) -> float:
    """‖v − P v‖ with P the projection onto the row span of ``rows`` (k, p)."""
    if rows.size == 0 or not np.any(rows):
        return float(np.linalg.norm(v))
    U, s, _ = np.linalg.svd(rows.T, full_matrices=False)
    U = U[:, s > s[0] * max(rows.shape) * np.finfo(float).eps]
    return float(np.linalg.norm(v - U @ (U.T @ v)))


@dataclass(frozen=True)
class PointStructure:
    """Bracket measurements at one θ (maxima over the sampled pairs; normalized unless said)."""

    where: str
    commuting: float
    relative: float
    involutive: float
    data_involutive: float


@partial(jax.jit, static_argnums=0)
def _rows_jit(G: Callable, theta: jax.Array, M: jax.Array) -> jax.Array:
    _, vjp = jax.vjp(G, theta)
    return jax.vmap(lambda m: vjp(m)[0])(M)


def field_rows(G: Callable, theta: jax.Array, M: np.ndarray) -> np.ndarray:
    """M ∂G(θ), shape (k, p), for M (k, d): the fields ∂Gᵀm_k as rows."""
    return np.asarray(_rows_jit(G, theta, jnp.asarray(M, dtype=theta.dtype)))


def measure_point(G: Callable, theta: np.ndarray, X: np.ndarray, *, where: str, key: np.random.Generator,
                  pairs: int = PAIRS, need_spans: bool = True) -> PointStructure:
    """Sampled brackets at θ: random combinations of ∇G (commuting, involutive) and of the data fields.

    ``need_spans=False`` skips the projections (commuting G: every bracket is already ~0).
    """
    theta = jnp.asarray(theta)
    n, d = X.shape
    A = key.standard_normal((pairs, 2, d))
    C = key.standard_normal((pairs, 2, n))
    jG = field_rows(G, theta, np.eye(d)) if need_spans else None
    jf = field_rows(G, theta, X) if need_spans else None
    comm = rel = inv = dinv = 0.0
    for (a, b), (c, e) in zip(A, C):
        xa, xb, br, den = (np.asarray(t) for t in combination_bracket(G, theta, jnp.asarray(a), jnp.asarray(b)))
        nb, den = float(np.linalg.norm(br)), float(den)
        comm = max(comm, nb / den if den > 0 else 0.0)
        scale = float(np.linalg.norm(xa) * np.linalg.norm(xb))
        rel = max(rel, nb / scale if scale > 0 else 0.0)
        if need_spans and den > 0:
            inv = max(inv, _off_span(jG, br) / den)
        fa, fb, brf, denf = (np.asarray(t) for t in combination_bracket(G, theta, jnp.asarray(X.T @ c), jnp.asarray(X.T @ e)))
        denf = float(denf)
        if denf > 0:
            dinv = max(dinv, (_off_span(jf, brf) if need_spans else float(np.linalg.norm(brf))) / denf)
    return PointStructure(where, comm, rel, inv, dinv)


@dataclass(frozen=True)
class Structure:
    """The sampled structure of G: per-point measurements and what they add up to (tolerance STRUCTURE_TOL)."""

    points: tuple[PointStructure, ...]
    exact_max: float | None  # all pairs (d ≤ 10): the largest normalized bracket over the points checked
    tolerance: float = STRUCTURE_TOL

    def worst(self, attr: str) -> float:
        return max((getattr(p, attr) for p in self.points), default=0.0)

    @property
    def commuting(self) -> bool:
        worst = max(self.worst("commuting"), self.exact_max or 0.0)
        return worst <= self.tolerance

    @property
    def involutive(self) -> bool:
        return self.worst("involutive") <= self.tolerance

    @property
    def data_involutive(self) -> bool:
        return self.worst("data_involutive") <= self.tolerance

    def table(self) -> dict[str, np.ndarray]:
        """Per-point arrays for saving: where (str), commuting, relative, involutive, data_involutive."""
        return {"bracket_where": np.array([p.where for p in self.points]),
                **{f"bracket_{k}": np.array([getattr(p, k) for p in self.points])
                   for k in ("commuting", "relative", "involutive", "data_involutive")}}


def measure(G: Callable, points: list[tuple[str, np.ndarray]], X: np.ndarray, *, seed: int = 0) -> Structure:
    """Brackets at every point; exact all-pairs at the points too when d ≤ 10; spans only when not commuting."""
    d = X.shape[1]
    exact = None
    if d <= 10:
        exact = max(float(np.max(exact_pair_table(G, jnp.asarray(t)))) for _, t in points)
    first = [measure_point(G, t, X, where=w, key=np.random.default_rng([seed, i]), need_spans=False)
             for i, (w, t) in enumerate(points)]
    if max(max(p.commuting for p in first), exact or 0.0) <= STRUCTURE_TOL:
        return Structure(tuple(first), exact)
    full = [measure_point(G, t, X, where=w, key=np.random.default_rng([seed, i]), need_spans=True)
            for i, (w, t) in enumerate(points)]
    return Structure(tuple(full), exact)
