"""Symmetric factorization W = UUᵀ ⪰ 0 for symmetric matrix sensing.

params {"U": (d, k)}; ``end_to_end`` is W = UUᵀ (d, d); predictions f_i = ⟨A_i, W⟩ for X = A (m, d, d)
(see :mod:`implicit_bias.problems.matrix`). Init: U = α G/‖G‖_F with G (d, k) Gaussian and α =
``init_scale`` (``hp["init_scale"]`` overrides it), so ‖W(0)‖_* = tr W(0) = α². Width k defaults to d
(no rank constraint). From α → 0 gradient flow follows greedy low-rank learning
(:mod:`implicit_bias.references.glrl`).

References: Gunasekar, Woodworth, Bhojanapalli, Neyshabur, Srebro, "Implicit regularization in matrix
factorization", NeurIPS 2017; Li, Luo, Lyu, "Towards resolving the implicit bias of gradient descent for
matrix factorization: greedy low-rank learning", ICLR 2021.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model


@dataclass(frozen=True)
class SymmetricModel(Model):
    """W = UUᵀ with U (d, k) for symmetric sensing."""

    dim: int
    width: int | None = None
    init_scale: float = 1e-3
    name: ClassVar[str] = "symmetric"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="initial scale α = ‖U(0)‖_F (tr W(0) = α²)", low=0.0, low_open=True),
    )

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, (int, np.integer)) or self.dim < 1:
            raise InputError(f"dim must be a positive integer, got {self.dim!r}")
        if self.width is not None and (int(self.width) != self.width or self.width < 1):
            raise InputError(f"width must be a positive integer, got {self.width}")
        if not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise InputError(f"init scale must be positive, got {self.init_scale}")

    @property
    def k(self) -> int:
        return int(self.width) if self.width is not None else int(self.dim)

    @property
    def n_features(self) -> int:
        return int(self.dim) ** 2

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        alpha = self.hparam(hp, "init_scale")
        G = jax.random.normal(key, (self.dim, self.k))
        return {"U": alpha * G / jnp.linalg.norm(G)}

    def end_to_end(self, params: dict) -> jax.Array:
        return params["U"] @ params["U"].T

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        if X.ndim != 3 or X.shape[1:] != (self.dim, self.dim):
            raise InputError(f"symmetric sensing expects X = A of shape (m, {self.dim}, {self.dim}), got {X.shape}")
        return jnp.einsum("mij,ij->m", X, self.end_to_end(params))


def _factory(n_features: int, width: int | None = None, init_scale: float | None = None, shape=None,
             kind: str | None = None) -> SymmetricModel:
    """CLI factory: the dimension comes from the sensing problem's (square) shape."""
    if shape is None or len(tuple(shape)) != 2 or shape[0] != shape[1]:
        raise InputError(f"the symmetric model needs a square sensing problem (A of shape (m, d, d)), got {shape}")
    if kind not in (None, "sensing"):
        raise InputError(f"the symmetric model does sensing, not {kind}")
    opts = {k: v for k, v in dict(width=width, init_scale=init_scale).items() if v is not None}
    return SymmetricModel(int(shape[0]), **opts)


def _example():
    """U (3, 3) on six symmetric Gaussian measurements of a rank-one 3×3 matrix."""
    from implicit_bias.problems.matrix import matrix_sensing

    return SymmetricModel(3, init_scale=0.1), matrix_sensing((3, 3), 1, 6, symmetric=True, n_test=2, seed=0)


register_model("symmetric", _factory, summary="symmetric factorization W = UUᵀ (symmetric matrix sensing)",
               example=_example)
