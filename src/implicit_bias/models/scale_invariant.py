"""A scale-invariant model: f(x) = s·⟨w/‖w‖, x⟩, params w (d,), output scale s > 0 fixed.

Any loss of it is scale-invariant, L(cw) = L(w) for c > 0, hence (differentiating in c and in w)

    ⟨∇L(w), w⟩ = 0,    ∇L(cw) = ∇L(w)/c:

the gradient is tangent to the sphere and shrinks as the norm grows. A step then moves the direction
by an angle ≈ η‖∇L(ŵ)‖/‖w‖² (an effective step η/‖w‖²), and the squared norm only grows,
‖w − η∇L‖² = ‖w‖² + η²‖∇L‖²: the setting of weight decay's "spherical motion" (Wan et al. 2021)
and of its equivalence with an exponential step schedule (Li & Arora 2020). The stand-in for a
layer followed by batch normalization.

Init: w = α·z/‖z‖, z ~ N(0, I_d) from the configuration's key, α = ``hp["init_scale"]`` or the field.

References: Li & Arora, "An exponential learning rate schedule for deep learning", ICLR 2020;
Wan, Zhu, Zhang, Sun, "Spherical motion dynamics", NeurIPS 2021; van Laarhoven, "L2 regularization
versus batch and weight normalization", 2017.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model


def _positive(value, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{what} must be positive, got {value}")
    return v


@dataclass(frozen=True)
class ScaleInvariantLinear(Model):
    """f(x) = s·⟨w, x⟩/‖w‖ with params w (d,) (w ≠ 0).

    Attributes:
      n_features: d.
      init_scale: ‖w0‖ (``hp["init_scale"]`` overrides it).
      output_scale: s, the norm of the end-to-end predictor s·w/‖w‖.
    """

    n_features: int
    init_scale: float = 1.0
    output_scale: float = 1.0
    name: ClassVar[str] = "scale-invariant"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="initial norm ‖w0‖ (w0 = α·z/‖z‖)", low=0.0, low_open=True),
    )

    def __post_init__(self) -> None:
        if isinstance(self.n_features, bool) or not isinstance(self.n_features, (int, np.integer)) or self.n_features < 1:
            raise InputError(f"n_features must be a positive integer, got {self.n_features!r}")
        object.__setattr__(self, "init_scale", _positive(self.init_scale, "init scale"))
        object.__setattr__(self, "output_scale", _positive(self.output_scale, "output scale"))

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        z = jax.random.normal(key, (self.n_features,))
        return self.hparam(hp, "init_scale") * z / jnp.linalg.norm(z)

    def end_to_end(self, params: jax.Array) -> jax.Array:
        """s·w/‖w‖ (d,): the linear predictor the direction expresses."""
        return self.output_scale * params / jnp.linalg.norm(params)

    def predict(self, params: jax.Array, X: jax.Array) -> jax.Array:
        return X @ self.end_to_end(params)


register_model("scale-invariant",
               lambda n_features, init_scale=None, output_scale=None: ScaleInvariantLinear(
                   n_features, init_scale=1.0 if init_scale is None else init_scale,
                   output_scale=1.0 if output_scale is None else output_scale),
               summary="f(x) = s <w/|w|, x>: predictions of the direction only (scale-invariant loss)")
