"""Deep matrix factorization: W = W_D ⋯ W_2 W_1, a depth-D linear network read as one matrix.

Orientation (no hidden transposes): params = (W_1, ..., W_D) in layer order, with
W_1 ∈ ℝ^{k×d2}, W_j ∈ ℝ^{k×k} (1 < j < D), W_D ∈ ℝ^{d1×k}, so that
``end_to_end(params) = W_D @ ⋯ @ W_1`` has the problem's shape (d1, d2); at depth 1 the
single factor is W_1 ∈ ℝ^{d1×d2}. Width k defaults to min(d1, d2), the smallest width
that puts no constraint on the rank.

Predictions: sensing f_i = ⟨A_i, W⟩ (X = A (m, d1, d2)); completion f_i = W[r_i, c_i]
(X = (m, 2) integer indices). See :mod:`implicit_bias.problems.matrix`.

Initializations, all with end-to-end Frobenius norm α = ``init_scale`` (``hp["init_scale"]``
overrides it, so init scales are swept in one program):

* "gaussian":   i.i.d. N(0, σ²) factors with σ^{2D} = α² / (d1 d2 k^{D−1}), so E‖W(0)‖²_F = α²
  (exact in expectation only: report ``init_frobenius``). Arora et al. 2019's code uses
  per-factor std a^{1/D} n^{−1/2} on n×n, i.e. ‖W(0)‖_F ≈ a√n: their a = α/√n.
* "balanced":   W(0) = α G/‖G‖_F (G Gaussian) = U S Vᵀ, W_1 = S^{1/D}Vᵀ, W_j = S^{1/D}, W_D = U S^{1/D}:
  exactly balanced, W_{j+1}ᵀW_{j+1} = W_j W_jᵀ (Arora, Cohen, Hazan 2018).
* "identity":   W_j = c·I (rectangular), c^D = α/√r, r = min(d1, d2, k): W(0) = (α/√r) I.
* "orthogonal": W_j = c·Q_j, Q_j (semi-)orthogonal, c^D = α/√r (‖W(0)‖_F = α when all dims equal).

Conserved under gradient flow: W_{j+1}ᵀW_{j+1} − W_j W_jᵀ (k×k) for j = 1..D−1 (:func:`balance_gaps`).

References: Arora, Cohen, Hu, Luo 2019 (Implicit regularization in deep matrix factorization);
Gunasekar et al. 2017; Du, Hu, Lee 2018 (layers are automatically balanced).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import ClassVar, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model

INITS = ("gaussian", "balanced", "identity", "orthogonal")
KINDS = ("sensing", "completion")


@dataclass(frozen=True)
class FactorizedModel(Model):
    """W = W_D ⋯ W_1 with params (W_1, ..., W_D); see the module docstring for shapes and inits.

    The initialization kind is the field ``init_kind`` (``init`` is the Model method); the
    command line's ``--init-kind`` sets it.
    """

    shape: tuple[int, int]
    depth: int = 2
    width: int | None = None
    init_kind: str = "gaussian"
    init_scale: float = 1e-3
    kind: str = "sensing"
    name: ClassVar[str] = "factorized"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="end-to-end initial Frobenius norm α = ‖W(0)‖_F", low=0.0),
    )

    def __post_init__(self) -> None:
        try:
            shape = tuple(int(s) for s in self.shape)
        except (TypeError, ValueError):
            raise InputError(f"shape must be two positive integers, got {self.shape!r}") from None
        if len(shape) != 2 or min(shape) <= 0:
            raise InputError(f"shape must be two positive integers, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        if isinstance(self.depth, bool) or int(self.depth) != self.depth or self.depth < 1:
            raise InputError(f"depth must be an integer >= 1, got {self.depth}")
        object.__setattr__(self, "depth", int(self.depth))
        if self.width is not None and (int(self.width) != self.width or self.width < 1):
            raise InputError(f"width must be a positive integer, got {self.width}")
        if self.init_kind not in INITS:
            raise InputError(f"unknown factorized init '{self.init_kind}'; valid: {', '.join(INITS)}")
        if self.kind not in KINDS:
            raise InputError(f"unknown matrix problem kind '{self.kind}'; valid: {', '.join(KINDS)}")
        if not (np.isfinite(self.init_scale) and self.init_scale >= 0):
            raise InputError(f"init scale must be a finite number >= 0, got {self.init_scale}")

    @property
    def k(self) -> int:
        """Hidden width (min(d1, d2) unless given)."""
        return int(self.width) if self.width is not None else min(self.shape)

    @property
    def n_features(self) -> int:
        """Number of entries d1·d2 of the end-to-end matrix."""
        return self.shape[0] * self.shape[1]

    def factor_shapes(self) -> list[tuple[int, int]]:
        """Shapes of W_1, ..., W_D: (k, d2), (k, k), ..., (d1, k); (d1, d2) at depth 1."""
        d1, d2 = self.shape
        dims = [d2] + [self.k] * (self.depth - 1) + [d1]
        return [(dims[j + 1], dims[j]) for j in range(self.depth)]

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> tuple[jax.Array, ...]:
        """Initial factors (W_1, ..., W_D) of the chosen kind with ‖W(0)‖_F = α (in expectation for gaussian)."""
        alpha = jnp.asarray(self.hparam(hp, "init_scale"), dtype=float)
        shapes, D = self.factor_shapes(), self.depth
        keys = jax.random.split(key, D)
        d1, d2 = self.shape
        r = min(d1, d2, self.k)
        if self.init_kind == "gaussian":
            sigma = (alpha ** 2 / (d1 * d2 * float(self.k) ** (D - 1))) ** (1.0 / (2 * D))
            return tuple(sigma * jax.random.normal(kj, s) for kj, s in zip(keys, shapes))
        if self.init_kind == "identity":
            c = (alpha / np.sqrt(r)) ** (1.0 / D)
            return tuple(c * jnp.eye(*s) for s in shapes)
        if self.init_kind == "orthogonal":
            c = (alpha / np.sqrt(r)) ** (1.0 / D)
            return tuple(c * _semi_orthogonal(kj, s) for kj, s in zip(keys, shapes))
        return _balanced(alpha, keys[0], self.shape, self.k, D)

    def end_to_end(self, params: Sequence[jax.Array]) -> jax.Array:
        """W = W_D @ ⋯ @ W_1, shape (d1, d2)."""
        return reduce(lambda acc, Wj: Wj @ acc, params[1:], params[0])

    def predict(self, params: Sequence[jax.Array], X: jax.Array) -> jax.Array:
        W = self.end_to_end(params)
        if self.kind == "sensing":
            if X.ndim != 3:
                raise InputError(f"sensing expects X = A of shape (m, d1, d2), got {X.shape}")
            return jnp.einsum("mij,ij->m", X, W)
        if X.ndim != 2 or X.shape[1] != 2:
            raise InputError(f"completion expects X = (m, 2) indices, got {X.shape}")
        return W[X[:, 0], X[:, 1]]

    def init_summary(self, key: jax.Array) -> dict[str, float]:
        return {"init_frobenius": float(self.init_frobenius({}, key))}

    def init_frobenius(self, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        """‖W(0)‖_F: the end-to-end Frobenius norm the initialization actually produced."""
        return jnp.linalg.norm(self.end_to_end(self.init(hp, key)))


def _semi_orthogonal(key: jax.Array, shape: tuple[int, int]) -> jax.Array:
    """A Haar (semi-)orthogonal matrix: orthonormal columns if tall, orthonormal rows if wide."""
    n, p = shape
    tall = n >= p
    q, r = jnp.linalg.qr(jax.random.normal(key, (n, p) if tall else (p, n)))
    q = q * jnp.sign(jnp.diag(r))[None, :]
    return q if tall else q.T


def _balanced(alpha: jax.Array, key: jax.Array, shape: tuple[int, int], k: int, D: int) -> tuple[jax.Array, ...]:
    """Exactly balanced factors of W(0) = α G/‖G‖_F (rank truncated to the width k)."""
    d1, d2 = shape
    G = jax.random.normal(key, (d1, d2))
    W0 = alpha * G / jnp.linalg.norm(G)
    if D == 1:
        return (W0,)
    U, S, Vt = jnp.linalg.svd(W0, full_matrices=False)
    q = min(S.shape[0], k)
    root = S[:q] ** (1.0 / D)
    first = jnp.zeros((k, d2)).at[:q].set(root[:, None] * Vt[:q])
    middle = jnp.zeros((k, k)).at[jnp.arange(q), jnp.arange(q)].set(root)
    last = jnp.zeros((d1, k)).at[:, :q].set(U[:, :q] * root[None, :])
    return (first,) + (middle,) * (D - 2) + (last,)


def balance_gaps(params: Sequence) -> list:
    """C_j = W_{j+1}ᵀ W_{j+1} − W_j W_jᵀ (k×k), j = 1..D−1: constant under gradient flow.

    Works on numpy or jax arrays, with any leading batch axes.
    """
    T = lambda a: np.swapaxes(a, -1, -2) if isinstance(a, np.ndarray) else jnp.swapaxes(a, -1, -2)  # noqa: E731
    return [T(params[j + 1]) @ params[j + 1] - params[j] @ T(params[j]) for j in range(len(params) - 1)]


def _factory(n_features: int, depth: int | None = None, init_scale: float | None = None, width: int | None = None,
             init: str | None = None, shape=None, kind: str | None = None) -> FactorizedModel:
    """CLI factory: ``n_features`` is ignored, the shape (and kind) come from the matrix problem."""
    if shape is None:
        raise InputError("the factorized model needs a matrix problem (an .npz with A, y or rows, cols, values, shape)")
    if init is not None and not isinstance(init, str):
        raise InputError(f"factorized init must be one of {', '.join(INITS)} (not an array)")
    opts = {k: v for k, v in dict(depth=depth, init_scale=init_scale, width=width, init_kind=init, kind=kind).items()
            if v is not None}
    return FactorizedModel(shape=tuple(shape), **opts)


def _example():
    """Depth 2 on five observed entries of a rank-one 3×3 matrix."""
    from implicit_bias.problems.matrix import matrix_completion

    return FactorizedModel((3, 3), init_scale=0.1, kind="completion"), matrix_completion((3, 3), 1, 5, seed=0)


register_model("factorized", _factory, summary="W = W_D ⋯ W_1 (deep matrix factorization; sensing or completion)",
               example=_example)
