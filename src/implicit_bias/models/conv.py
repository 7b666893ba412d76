"""Full-width circular linear convolutional networks: β = w_1 ⊛ w_2 ⊛ ⋯ ⊛ w_L, computed with the FFT.

    f(x) = ⟨β, x⟩,   β̂ = Fβ = ∏_l F w_l   (F the unnormalised DFT of size D = d, every filter w_l ∈ ℝ^D)

Each layer is a circular convolution with a filter as wide as the input; the end-to-end map is linear
and diagonal in the Fourier basis, so depth acts on the moduli |β̂_k| like a diagonal network does on
coordinates. Gradient descent on separable data with the exp or logistic loss tends in direction to a
stationary point of min ‖Fβ‖_{2/L} s.t. y_i⟨β, x_i⟩ ≥ 1 (the Fourier-l1 SOCP at L = 2, l2 at L = 1).

Init: every filter entry init_scale · N(0, 1/D) (``hp["init_scale"]`` overrides the field). With
``hp["depth"]`` (an integer ≤ the model's ``depth``) only the first ``depth`` filters enter β (the others
act as the identity filter and receive no gradient), so one compiled program sweeps the depth.

References: Gunasekar, Lee, Soudry, Srebro, "Implicit bias of gradient descent on linear convolutional
networks", NeurIPS 2018 (Theorem 2).
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


def _positive_int(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ConvNet(Model):
    """Linear circular convolutional network of depth L on inputs of size D = n_features; params {"filters": (L, D)}."""

    n_features: int
    depth: int = 2
    init_scale: float = 1.0
    name: ClassVar[str] = "conv"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="scale of the filters' entries at init, init_scale·N(0, 1/D)",
               low=0.0, low_open=True),
        HParam("depth", int, doc="number L of filters in β (a swept depth is at most the model's depth)", low=1),
    )

    def __post_init__(self) -> None:
        _positive_int("n_features", self.n_features)
        _positive_int("depth", self.depth)
        if not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise InputError(f"init scale must be a positive number, got {self.init_scale!r}")

    def check_hparams(self, hp: Mapping[str, np.ndarray]) -> None:
        """InputError unless swept depths are at most the field ``depth`` (each is already an integer ≥ 1)."""
        if "depth" in hp and np.any(np.asarray(hp["depth"], dtype=float) > self.depth):
            raise InputError(f"swept depths must be integers between 1 and the model's depth {self.depth}")

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        scale = self.hparam(hp, "init_scale")
        filters = scale * jax.random.normal(key, (self.depth, self.n_features)) / jnp.sqrt(self.n_features)
        params = {"filters": filters}
        if "depth" in hp:
            params["depth"] = jnp.asarray(hp["depth"], dtype=filters.dtype)
        return params

    def spectrum(self, params: dict) -> jax.Array:
        """β̂ = ∏_{l ≤ depth} F w_l, complex (D,)."""
        spectra = jnp.fft.fft(params["filters"], axis=-1)
        if "depth" in params:
            depth = jax.lax.stop_gradient(params["depth"])
            layer = jnp.arange(self.depth)[:, None]
            spectra = jnp.where(layer < depth, spectra, jnp.ones_like(spectra))
        return jnp.prod(spectra, axis=0)

    def end_to_end(self, params: dict) -> jax.Array:
        """β (D,) = real inverse DFT of the product of the filters' spectra."""
        return jnp.real(jnp.fft.ifft(self.spectrum(params)))

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        return X @ self.end_to_end(params)


def make_conv(n_features: int, depth: int | None = None, init_scale: float | None = None) -> ConvNet:
    return ConvNet(n_features, depth=2 if depth is None else depth, init_scale=1.0 if init_scale is None else init_scale)


register_model("conv", make_conv, summary="full-width circular linear conv net beta = w_1 * ... * w_L (FFT)")
