"""A single neuron f(x) = ψ(⟨w, x⟩), w ∈ ℝ^d, with ψ from :mod:`implicit_bias.models.activations`.

Init: w0 = ``init_scale`` · N(0, I_d) (``hp["init_scale"]`` overrides the field); the default 0
is the Vardi–Shamir setting. On the square loss the gradient is
∇L(w) = (1/n) Xᵀ(ψ'(Xw) ⊙ (ψ(Xw) − y)) ∈ rowspan(X), so every gradient method keeps
w − w0 ∈ rowspan(X). When ψ is strictly monotone and the loss reaches 0, Xw = ψ⁻¹(y), hence
the limit is w0 + X⁺(ψ⁻¹(y) − X w0): the min-l2 interpolator X⁺ψ⁻¹(y) from w0 = 0
(:func:`implicit_bias.references.neuron.neuron_flow_limit`). ReLU has ψ'(0) = 0 (the neuron never leaves w0 = 0) and
targets y_i = 0 only ask ⟨w, x_i⟩ ≤ 0, so its limit depends on the init.

References: Vardi & Shamir, "Implicit regularization in ReLU networks with the square loss", COLT 2021.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.activations import activation, check_activation, check_leaky_slope
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model


def check_n_features(n_features) -> int:
    """n_features as a positive int, or InputError."""
    if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) or n_features < 1:
        raise InputError(f"n_features must be a positive integer, got {n_features!r}")
    return int(n_features)


@dataclass(frozen=True)
class NeuronModel(Model):
    """f(x) = ψ(⟨w, x⟩) with params w (d,).

    Attributes:
      n_features: d.
      activation: identity, leaky-relu, sigmoid, tanh or relu.
      leaky_slope: s > 0, the negative-side slope of leaky-relu.
      init_scale: σ ≥ 0, w0 = σ·N(0, I) (overridden by ``hp["init_scale"]``).
    """

    n_features: int
    activation: str = "identity"
    leaky_slope: float = 0.1
    init_scale: float = 0.0
    name: ClassVar[str] = "neuron"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="scale σ of the Gaussian init w0 = σ·N(0, I) (0: w0 = 0)", low=0.0),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_features", check_n_features(self.n_features))
        check_activation(self.activation)
        object.__setattr__(self, "leaky_slope", check_leaky_slope(self.leaky_slope))
        scale = float(self.init_scale)
        if not (np.isfinite(scale) and scale >= 0):
            raise InputError(f"init scale must be a finite number >= 0, got {self.init_scale}")
        object.__setattr__(self, "init_scale", scale)

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        """w0 = σ·N(0, I_d), σ = hp["init_scale"] (or the field); exactly 0 when σ = 0."""
        scale = self.hparam(hp, "init_scale")
        return scale * jax.random.normal(key, (self.n_features,))

    def predict(self, params: jax.Array, X: jax.Array) -> jax.Array:
        """ψ(Xw) (n,)."""
        return activation(self.activation, self.leaky_slope)(X @ params)

    def end_to_end(self, params: jax.Array) -> jax.Array:
        return params


def make_neuron(n_features: int, activation: str | None = None, leaky_slope: float | None = None,
                init_scale: float | None = None) -> NeuronModel:
    """Factory for the command line (None keeps the defaults: identity, slope 0.1, w0 = 0)."""
    return NeuronModel(n_features, activation="identity" if activation is None else activation,
                       leaky_slope=0.1 if leaky_slope is None else leaky_slope,
                       init_scale=0.0 if init_scale is None else init_scale)


register_model("neuron", make_neuron, summary="single neuron psi(<w, x>), psi in identity, leaky-relu, sigmoid, tanh, relu")
