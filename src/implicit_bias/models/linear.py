"""The linear model f(x) = ⟨w, x⟩, w ∈ ℝ^d: the reference point of every implicit-bias result.

Init: w0 (given, default 0) plus ``init_scale`` · N(0, I_d) when the sweep sets ``init_scale`` (unswept,
w0 exactly: the declared default σ = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model


@dataclass(frozen=True, eq=False)
class LinearModel(Model):
    """f(x) = ⟨w, x⟩ with params w (d,)."""

    n_features: int
    w0: np.ndarray | None = field(default=None, repr=False)
    name: ClassVar[str] = "linear"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, 0.0, "std σ of a Gaussian perturbation of w0 (added only when swept)", low=0.0),
    )

    def __post_init__(self) -> None:
        if self.w0 is not None and np.shape(self.w0) != (self.n_features,):
            raise InputError(f"initial w0 must have shape ({self.n_features},), got {np.shape(self.w0)}")

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        w = jnp.zeros(self.n_features) if self.w0 is None else jnp.asarray(self.w0)
        if "init_scale" in hp:
            w = w + hp["init_scale"] * jax.random.normal(key, (self.n_features,))
        return w

    @property
    def homogeneity_degree(self) -> int:
        """f(cw) = c f(w): degree 1."""
        return 1

    def predict(self, params: jax.Array, X: jax.Array) -> jax.Array:
        return X @ params

    def end_to_end(self, params: jax.Array) -> jax.Array:
        return params


register_model("linear", lambda n_features, init=None: LinearModel(n_features, w0=init), summary="f(x) = <w, x>")
