"""Curvature of a loss at given parameters, from Hessian-vector products only (no Hessian is formed).

For a scalar function L(θ) of a parameter pytree (P numbers in all):

* Hessian-vector product  Hv = d/dε ∇L(θ + εv)|₀  (``jax.jvp`` of ``jax.grad``), cost ≈ 2 gradients;
* sharpness λ_max(∇²L) by Lanczos (k steps, full re-orthogonalization, restarted on breakdown:
  the largest Ritz value of the k×k tridiagonal T_k = Vᵀ H V) or by power iteration (the
  Rayleigh quotient of the dominant eigenvector: the eigenvalue of largest magnitude);
* trace by Hutchinson: tr H = E[zᵀHz], z Rademacher (s samples, variance 2‖H‖_F² − 2Σ H_ii² per sample);
* gradient norm ‖∇L‖.

Everything is jit- and vmap-friendly (fixed iteration counts, fixed keys), so :func:`record` can
evaluate it at every record point of a vmapped training sweep.

References: Lanczos 1950; Golub & Van Loan, Matrix Computations, §10.1 (Lanczos with
re-orthogonalization); Hutchinson 1989; Cohen, Kaur, Li, Kolter, Talwalkar, "Gradient descent on
neural networks typically occurs at the edge of stability", ICLR 2021 (sharpness along training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from implicit_bias.errors import InputError

METHODS = ("lanczos", "power")
#: a Lanczos step whose residual is below this fraction of ‖Hv‖ restarts from a fresh random direction.
BREAKDOWN = 1e-8


def hvp(fun: Callable[[Any], jax.Array], params: Any, v: Any) -> Any:
    """∇²L(θ) v as a pytree like ``params`` (forward-over-reverse: jvp of grad)."""
    return jax.jvp(jax.grad(fun), (params,), (v,))[1]


def _flat_hvp(fun: Callable[[Any], jax.Array], params: Any) -> tuple[Callable[[jax.Array], jax.Array], jax.Array]:
    flat, unravel = ravel_pytree(params)
    grad = jax.grad(lambda p: fun(unravel(p)))
    return (lambda v: jax.jvp(grad, (flat,), (v,))[1]), flat


def _orthogonalize(w: jax.Array, V: jax.Array) -> jax.Array:
    """w minus its projection on the rows of V (twice: "twice is enough", Kahan–Parlett)."""
    for _ in range(2):
        w = w - V.T @ (V @ w)
    return w


def lanczos_tridiagonal(matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, iterations: int,
                        key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(α (k,), β (k−1,)): T_k = tridiag(β, α, β) = Vᵀ H V for an orthonormal V (k, P), k ≤ P.

    When the Krylov space is exhausted (residual below ``BREAKDOWN``·‖Hv‖, e.g. repeated
    eigenvalues) the next vector is a fresh random direction orthogonal to V and its coupling
    β is 0: T stays the compression of H to an orthonormal basis, so every Ritz value lies in
    [λ_min, λ_max] and the largest one only grows with k.
    """
    P = v0.shape[0]
    k = min(int(iterations), P)
    V = jnp.zeros((k, P), v0.dtype)
    v = v0 / jnp.linalg.norm(v0)

    def body(j, carry):
        V, alphas, betas, v, v_prev, beta_prev = carry
        V = V.at[j].set(v)
        hv = matvec(v)
        a = hv @ v
        w = _orthogonalize(hv - a * v - beta_prev * v_prev, V)
        b = jnp.linalg.norm(w)
        fresh = _orthogonalize(jax.random.normal(jax.random.fold_in(key, j), (P,), v0.dtype), V)
        broke = b <= BREAKDOWN * (jnp.linalg.norm(hv) + jnp.finfo(v0.dtype).tiny)
        nxt = jnp.where(broke, fresh / jnp.maximum(jnp.linalg.norm(fresh), jnp.finfo(v0.dtype).tiny),
                        w / jnp.where(broke, 1.0, b))
        b = jnp.where(broke, 0.0, b)
        return V, alphas.at[j].set(a), betas.at[j].set(b), nxt, v, b

    init = (V, jnp.zeros(k, v0.dtype), jnp.zeros(k, v0.dtype), v, jnp.zeros_like(v), jnp.zeros((), v0.dtype))
    _, alphas, betas, *_ = jax.lax.fori_loop(0, k, body, init)
    return alphas, betas[:-1]


def ritz_values(alphas: jax.Array, betas: jax.Array) -> jax.Array:
    """Eigenvalues (ascending) of the symmetric tridiagonal matrix with diagonal α and off-diagonal β."""
    T = jnp.diag(alphas) + jnp.diag(betas, 1) + jnp.diag(betas, -1)
    return jnp.linalg.eigvalsh(T)


def top_eigenvalue(fun: Callable[[Any], jax.Array], params: Any, *, method: str = "lanczos",
                   iterations: int = 20, key: jax.Array | None = None) -> jax.Array:
    """λ_max(∇²L(θ)): the sharpness, from ``iterations`` Hessian-vector products.

    ``"lanczos"`` returns the largest (algebraic) Ritz value: a lower bound of λ_max that is
    exact once k reaches the number of distinct eigenvalues the start vector sees, and in
    practice accurate to many digits after 20–30 steps. ``"power"`` returns the Rayleigh quotient
    after power iteration: the eigenvalue of largest magnitude (which is λ_max near a minimum,
    where H is positive semi-definite), converging like (λ₂/λ₁)^k.
    """
    if method not in METHODS:
        raise InputError(f"unknown eigenvalue method '{method}'; valid: {', '.join(METHODS)}")
    if int(iterations) < 1:
        raise InputError(f"iterations must be >= 1, got {iterations}")
    matvec, flat = _flat_hvp(fun, params)
    key = jax.random.PRNGKey(0) if key is None else key
    k0, k1 = jax.random.split(key)
    v0 = jax.random.normal(k0, flat.shape, flat.dtype)
    if method == "lanczos":
        return ritz_values(*lanczos_tridiagonal(matvec, v0, iterations, k1))[-1]

    def body(_, v):
        hv = matvec(v)
        return hv / jnp.maximum(jnp.linalg.norm(hv), jnp.finfo(flat.dtype).tiny)

    v = jax.lax.fori_loop(0, int(iterations), body, v0 / jnp.linalg.norm(v0))
    return matvec(v) @ v


def hessian_trace(fun: Callable[[Any], jax.Array], params: Any, *, n_samples: int = 16,
                  key: jax.Array | None = None) -> jax.Array:
    """Hutchinson's estimate (1/s) Σ_j z_jᵀ ∇²L z_j with Rademacher z_j (unbiased for tr ∇²L)."""
    if int(n_samples) < 1:
        raise InputError(f"n_samples must be >= 1, got {n_samples}")
    matvec, flat = _flat_hvp(fun, params)
    key = jax.random.PRNGKey(1) if key is None else key
    z = jax.random.rademacher(key, (int(n_samples), flat.shape[0]), flat.dtype)
    return jnp.mean(jax.vmap(lambda v: matvec(v) @ v)(z))


def gradient_norm(fun: Callable[[Any], jax.Array], params: Any) -> jax.Array:
    """‖∇L(θ)‖ (Euclidean norm over every leaf)."""
    return jnp.linalg.norm(ravel_pytree(jax.grad(fun)(params))[0])


def dense_hessian(fun: Callable[[Any], jax.Array], params: Any) -> jax.Array:
    """The full P×P Hessian (for checks on small models only; P² memory)."""
    flat, unravel = ravel_pytree(params)
    return jax.hessian(lambda p: fun(unravel(p)))(flat)


def training_loss(model: Any, loss: Any, X: jax.Array, y: jax.Array) -> Callable[[Any], jax.Array]:
    """θ ↦ L(θ) = loss(model.predict(θ, X), y), the full-batch objective whose curvature is measured."""
    return lambda params: loss.value(model.predict(params, X), y)


@dataclass(frozen=True)
class CurvatureRecord:
    """``record(params, hp, data)`` for :func:`implicit_bias.engine.train`: loss, ‖∇L‖, sharpness, tr ∇²L.

    Hashable (a frozen dataclass of hashable fields), so the engine keeps its compiled program.
    Every quantity is of the full-batch training loss on data["X"], data["y"]; ``end_to_end``
    also records the predictor w = model.end_to_end(θ) (as "w").
    """

    model: Any
    loss: Any
    sharpness: bool = True
    trace: bool = False
    method: str = "lanczos"
    iterations: int = 20
    trace_samples: int = 8
    end_to_end: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown eigenvalue method '{self.method}'; valid: {', '.join(METHODS)}")
        if self.iterations < 1 or self.trace_samples < 1:
            raise InputError("iterations and trace_samples must be >= 1")

    def __call__(self, params: Any, hp: Mapping[str, jax.Array], data: Mapping[str, jax.Array]) -> dict:
        fun = training_loss(self.model, self.loss, data["X"], data["y"])
        f = self.model.predict(params, data["X"])
        out = {"loss": self.loss.value(f, data["y"]), "log_loss": self.loss.log_value(f, data["y"]),
               "grad_norm": gradient_norm(fun, params)}
        if self.sharpness:
            out["sharpness"] = top_eigenvalue(fun, params, method=self.method, iterations=self.iterations)
        if self.trace:
            out["hessian_trace"] = hessian_trace(fun, params, n_samples=self.trace_samples)
        if self.end_to_end:
            out["w"] = self.model.end_to_end(params)
        return out


def record(model: Any, loss: Any, *, sharpness: bool = True, trace: bool = False, method: str = "lanczos",
           iterations: int = 20, trace_samples: int = 8, end_to_end: bool = False) -> CurvatureRecord:
    """A record function that measures loss, gradient norm, sharpness (and Hessian trace) at each record point.

    Use as ``train(..., record=record(model, loss))``: the engine evaluates it at its log-spaced
    steps (or times), giving records "loss", "log_loss", "grad_norm", "sharpness" (and
    "hessian_trace", "w") of shape (M, R).
    """
    return CurvatureRecord(model, loss, sharpness=sharpness, trace=trace, method=method,
                           iterations=iterations, trace_samples=trace_samples, end_to_end=end_to_end)


def curvature_at(model: Any, loss: Any, params: Any, X: Any, y: Any, **options: Any) -> dict:
    """The same measurements for a batch of M configurations' final parameters (leading axis M), as arrays."""
    rec = record(model, loss, **options)
    data = {"X": jnp.asarray(X), "y": jnp.asarray(y)}
    params = jax.tree_util.tree_map(jnp.asarray, params)
    return jax.jit(jax.vmap(lambda p: rec(p, {}, data)))(params)
