"""Fully connected deep linear networks: f(x) = a ᵀ W_{L−1} ⋯ W_1 x, end-to-end β = W_1ᵀ ⋯ W_{L−1}ᵀ a.

Layers W_1 (k, d), W_2 … W_{L−1} (k, k) and the output a (k,), depth L ≥ 2, width k. On separable data
with the exp or logistic loss, gradient descent drives every layer to rank one, aligns adjacent layers
(|⟨v_{l+1}, u_l⟩| → 1 for the top singular vectors) and the direction of β to the l2 max-margin
separator (Ji & Telgarsky 2019). Init: entries init_scale · N(0, 1/fan_in) (``hp["init_scale"]``).

References: Ji & Telgarsky, "Gradient descent aligns the layers of deep linear networks", ICLR 2019.
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
class DeepLinear(Model):
    """params {"layers": [W_1 (k, d), W_2 (k, k), …], "out": a (k,)} (L − 1 matrices)."""

    n_features: int
    depth: int = 2
    width: int = 8
    init_scale: float = 1.0
    name: ClassVar[str] = "fc-linear"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="scale of every layer's entries at init, init_scale·N(0, 1/fan_in)",
               low=0.0, low_open=True),
    )

    def __post_init__(self) -> None:
        for field_name, low in (("n_features", 1), ("depth", 2), ("width", 1)):
            v = getattr(self, field_name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise InputError(f"{field_name} must be an integer >= {low}, got {v!r}")
        if not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise InputError(f"init scale must be a positive number, got {self.init_scale!r}")

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        scale = self.hparam(hp, "init_scale")
        keys = jax.random.split(key, self.depth)
        k, d = self.width, self.n_features
        layers = [scale * jax.random.normal(keys[0], (k, d)) / jnp.sqrt(d)]
        layers += [scale * jax.random.normal(keys[l], (k, k)) / jnp.sqrt(k) for l in range(1, self.depth - 1)]
        return {"layers": layers, "out": scale * jax.random.normal(keys[-1], (k,)) / jnp.sqrt(k)}

    def end_to_end(self, params: dict) -> jax.Array:
        """β (d,) = W_1ᵀ ⋯ W_{L−1}ᵀ a."""
        v = params["out"]
        for W in reversed(params["layers"]):
            v = W.T @ v
        return v

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        return X @ self.end_to_end(params)


def make_fc_linear(n_features: int, depth: int | None = None, width: int | None = None,
                   init_scale: float | None = None) -> DeepLinear:
    return DeepLinear(n_features, depth=2 if depth is None else depth, width=8 if width is None else width,
                      init_scale=1.0 if init_scale is None else init_scale)


register_model("fc-linear", make_fc_linear, summary="fully connected deep linear network a^T W_{L-1} ... W_1 x")
