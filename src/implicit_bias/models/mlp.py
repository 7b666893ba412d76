"""Fully connected networks with a scalar output: f(x) = α · (h_L(x)·a + c), h_l = ψ(h_{l−1} W_l + b_l).

Shapes: W_1 (d, m_1), W_l (m_{l−1}, m_l), a (m_L,), biases b_l (m_l,) and c () when ``bias``; the
depth is L + 1 = len(widths) + 1 weight layers. Two parameterizations (Jacot et al. 2018):

* ``"standard"``: W_l ~ σ·N(0, g/m_{l−1}), a ~ σ·N(0, 1/m_L), used as they are;
* ``"ntk"``: W_l, a ~ σ·N(0, 1), used as √(g/m_{l−1})·W_l and a/√m_L.

Same function at init, different gradient dynamics (in the ntk form the gradient of each
weight is O(1/√width): the network becomes lazy as the width grows). g = 2 for relu,
2/(1 + s²) for leaky-relu (He et al. 2015), 1 otherwise; σ = ``init_scale``; biases start at 0.
α = ``output_scale`` is the lazy-training knob of Chizat, Oyallon & Bach (2019): with the step
scaled by 1/α², α → ∞ is the kernel regime. ``symmetric_init`` pairs the last hidden units
(equal incoming weights, opposite output weights) so that f(θ0) = 0 exactly.

``hp["init_scale"]`` and ``hp["output_scale"]`` override σ and α inside a sweep: α travels with
the parameters as the leaf ``"output_scale"``, excluded from the gradient (stop_gradient) and
from :meth:`MLP.end_to_end` (the flattened trainable parameters). Without biases and with
identity, relu or leaky-relu, f(cθ) = c^{L+1} f(θ): :attr:`MLP.homogeneity_degree` = L + 1.

References: Jacot, Gabriel, Hongler, "Neural tangent kernel", NeurIPS 2018; Chizat, Oyallon, Bach,
"On lazy training in differentiable programming", NeurIPS 2019; Lyu & Li, ICLR 2020 (homogeneous nets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.activations import activation, check_activation, check_leaky_slope, is_homogeneous
from implicit_bias.models.base import Model
from implicit_bias.models.neuron import check_n_features
from implicit_bias.models.registry import register_model

PARAMETERIZATIONS = ("standard", "ntk")


def check_widths(widths: Any) -> tuple[int, ...]:
    """Hidden widths as a non-empty tuple of positive ints, or InputError."""
    if isinstance(widths, (int, np.integer)) and not isinstance(widths, bool):
        widths = (widths,)
    try:
        values = tuple(widths)
    except TypeError:
        raise InputError(f"widths must be a sequence of positive integers, got {widths!r}") from None
    if not values:
        raise InputError("widths must name at least one hidden layer, e.g. 64 or 64,64")
    for w in values:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer, float)) or w != int(w) or w <= 0:
            raise InputError(f"widths must be positive integers, got {list(values)}")
    return tuple(int(w) for w in values)


def _check_scale(value: Any, what: str, positive: bool) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise InputError(f"{what} must be a finite number {'> 0' if positive else '>= 0'}, got {value}")
    return v


@dataclass(frozen=True)
class MLP(Model):
    """Scalar-output fully connected network; params {"W": [...], "a", ("b": [...], "c"), "output_scale"}.

    Attributes:
      n_features: d.
      widths: hidden widths (m_1, ..., m_L), L ≥ 1.
      activation: identity, leaky-relu, sigmoid, tanh or relu.
      bias: biases in every layer (then the network is not homogeneous).
      init_scale: σ ≥ 0 (``hp["init_scale"]`` overrides it).
      output_scale: α > 0 (``hp["output_scale"]`` overrides it).
      parameterization: "standard" or "ntk".
      leaky_slope: s > 0 for leaky-relu.
      symmetric_init: pair the last hidden layer's units so that f(θ0) = 0 (m_L even).
    """

    n_features: int
    widths: tuple[int, ...] = (64,)
    activation: str = "relu"
    bias: bool = False
    init_scale: float = 1.0
    output_scale: float = 1.0
    parameterization: str = "standard"
    leaky_slope: float = 0.1
    symmetric_init: bool = False
    name: ClassVar[str] = "mlp"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="scale σ of the Gaussian weights at init", low=0.0),
        HParam("output_scale", float, doc="output scale α, f = α·(network) (the lazy-training knob)",
               low=0.0, low_open=True),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_features", check_n_features(self.n_features))
        object.__setattr__(self, "widths", check_widths(self.widths))
        check_activation(self.activation)
        object.__setattr__(self, "leaky_slope", check_leaky_slope(self.leaky_slope))
        object.__setattr__(self, "init_scale", _check_scale(self.init_scale, "init scale", positive=False))
        object.__setattr__(self, "output_scale", _check_scale(self.output_scale, "output scale", positive=True))
        if self.parameterization not in PARAMETERIZATIONS:
            raise InputError(f"unknown parameterization {self.parameterization!r}; valid: {', '.join(PARAMETERIZATIONS)}")
        object.__setattr__(self, "bias", bool(self.bias))
        if self.symmetric_init and self.widths[-1] % 2:
            raise InputError(f"symmetric init pairs the last hidden units: its width must be even, got {self.widths[-1]}")

    @property
    def depth(self) -> int:
        """Number of weight layers, len(widths) + 1."""
        return len(self.widths) + 1

    @property
    def homogeneity_degree(self) -> int | None:
        """D with f(cθ) = c^D f(θ) for c > 0 (bias-free, positively homogeneous ψ), else None."""
        return self.depth if (not self.bias and is_homogeneous(self.activation)) else None

    @property
    def gain(self) -> float:
        """g: the variance gain of ψ (He et al. 2015)."""
        if self.activation == "relu":
            return 2.0
        if self.activation == "leaky-relu":
            return 2.0 / (1.0 + self.leaky_slope ** 2)
        return 1.0

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        """Gaussian weights of scale σ = hp["init_scale"] (see the module docstring), zero biases."""
        sigma = self.hparam(hp, "init_scale")
        sizes = (self.n_features, *self.widths)
        keys = jax.random.split(key, len(self.widths) + 1)
        ntk = self.parameterization == "ntk"
        W = []
        for k, (m_in, m_out) in zip(keys[:-1], zip(sizes[:-1], sizes[1:])):
            std = 1.0 if ntk else math.sqrt(self.gain / m_in)
            W.append(sigma * std * jax.random.normal(k, (m_in, m_out)))
        a = sigma * (1.0 if ntk else 1.0 / math.sqrt(sizes[-1])) * jax.random.normal(keys[-1], (sizes[-1],))
        if self.symmetric_init:
            half = sizes[-1] // 2
            W[-1] = jnp.concatenate([W[-1][:, :half], W[-1][:, :half]], axis=1)
            a = jnp.concatenate([a[:half], -a[:half]])
        params = {"W": W, "a": a, "output_scale": jnp.asarray(self.hparam(hp, "output_scale"), dtype=a.dtype)}
        if self.bias:
            params["b"] = [jnp.zeros(m) for m in self.widths]
            params["c"] = jnp.zeros(())
        return params

    def trainable(self, params: dict) -> dict:
        """The parameters without the output-scale leaf."""
        return {k: v for k, v in params.items() if k != "output_scale"}

    def with_trainable(self, params: dict, trainable: dict) -> dict:
        """The output-scale leaf of ``params`` with the trainable layers ``trainable``."""
        return {**params, **trainable}

    def apply(self, trainable: dict, X: jax.Array, output_scale: jax.Array | float = 1.0) -> jax.Array:
        """f (n,) from the trainable parameters and α."""
        psi = activation(self.activation, self.leaky_slope)
        ntk = self.parameterization == "ntk"
        h = X
        for l, W in enumerate(trainable["W"]):
            z = h @ W
            if ntk:
                z = z * math.sqrt(self.gain / W.shape[0])
            if self.bias:
                z = z + trainable["b"][l]
            h = psi(z)
        out = h @ trainable["a"]
        if ntk:
            out = out / math.sqrt(self.widths[-1])
        if self.bias:
            out = out + trainable["c"]
        return output_scale * out

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        return self.apply(self.trainable(params), X, jax.lax.stop_gradient(params["output_scale"]))

    def end_to_end(self, params: dict) -> jax.Array:
        """The flattened trainable parameter vector θ (P,)."""
        return ravel_pytree(self.trainable(params))[0]

    def n_params(self) -> int:
        """P, the number of trainable parameters."""
        sizes = (self.n_features, *self.widths)
        n = sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + sizes[-1]
        return n + (sum(self.widths) + 1 if self.bias else 0)

    def layer_norms(self, params: dict) -> jax.Array:
        """‖W_1‖_F², ..., ‖W_L‖_F², ‖a‖² (L + 1,): balanced up to constants under gradient flow (Du et al. 2018)."""
        return jnp.stack([jnp.sum(W ** 2) for W in params["W"]] + [jnp.sum(params["a"] ** 2)])


def make_mlp(n_features: int, widths: Any = None, activation: str | None = None, bias: bool | None = None,
             init_scale: float | None = None, output_scale: float | None = None,
             parameterization: str | None = None, leaky_slope: float | None = None) -> MLP:
    """Factory for the command line (None keeps the defaults: widths (64,), relu, no bias, standard)."""
    opts = {k: v for k, v in dict(widths=widths, activation=activation, bias=bias, init_scale=init_scale,
                                  output_scale=output_scale, parameterization=parameterization,
                                  leaky_slope=leaky_slope).items() if v is not None}
    return MLP(n_features, **opts)


register_model("mlp", make_mlp, summary="fully connected network, scalar output (widths, activation, bias, "
                                        "init/output scale, standard or ntk parameterization)")
