"""Activation functions ψ by name, with their inverses, ranges and homogeneity.

    identity     ψ(z) = z                        range ℝ         ψ⁻¹(y) = y
    leaky-relu   ψ(z) = max(z, s·z), s > 0       range ℝ         ψ⁻¹(y) = y if y ≥ 0 else y/s
    sigmoid      ψ(z) = 1/(1 + e^{−z})           range (0, 1)    ψ⁻¹(y) = log(y/(1 − y))
    tanh         ψ(z) = tanh z                   range (−1, 1)   ψ⁻¹(y) = artanh y
    relu         ψ(z) = max(z, 0)                range [0, ∞)    not invertible (ψ ≡ 0 on z ≤ 0)

The strictly monotone ones (all but relu) have an inverse on their range, which is what
reduces a single neuron trained from 0 to the linear problem Xw = ψ⁻¹(y) (Vardi & Shamir).
identity, relu and leaky-relu are positively 1-homogeneous: ψ(cz) = cψ(z) for c > 0.

References: Vardi & Shamir, "Implicit regularization in ReLU networks with the square loss", COLT 2021.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError

ACTIVATIONS = ("identity", "leaky-relu", "sigmoid", "tanh", "relu")
#: activations with ψ(cz) = cψ(z) for every c > 0.
HOMOGENEOUS = ("identity", "leaky-relu", "relu")
#: activations with an inverse on their range (strictly increasing).
INVERTIBLE = ("identity", "leaky-relu", "sigmoid", "tanh")

_RANGES = {"identity": (-math.inf, math.inf), "leaky-relu": (-math.inf, math.inf), "sigmoid": (0.0, 1.0),
           "tanh": (-1.0, 1.0), "relu": (0.0, math.inf)}


def check_activation(name: Any) -> str:
    """``name`` if it is a known activation; InputError listing the valid names otherwise."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise InputError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return name


def check_leaky_slope(slope: Any) -> float:
    """The leaky-ReLU slope s as a float, or InputError unless 0 < s < ∞."""
    try:
        s = float(slope)
    except (TypeError, ValueError):
        raise InputError(f"leaky slope must be a number, got {slope!r}") from None
    if not (math.isfinite(s) and s > 0):
        raise InputError(f"leaky slope must be positive and finite (ψ strictly increasing), got {slope}")
    return s


def activation(name: str, leaky_slope: float = 0.1) -> Callable[[jax.Array], jax.Array]:
    """ψ as a jax function of an array (element-wise)."""
    name = check_activation(name)
    if name == "identity":
        return lambda z: z
    if name == "relu":
        return jax.nn.relu
    if name == "sigmoid":
        return jax.nn.sigmoid
    if name == "tanh":
        return jnp.tanh
    s = check_leaky_slope(leaky_slope)
    return lambda z: jnp.where(z >= 0, z, s * z)


def activation_range(name: str) -> tuple[float, float]:
    """(lo, hi): the range of ψ. Open at finite ends for sigmoid and tanh; relu's [0, ∞) includes 0."""
    return _RANGES[check_activation(name)]


def in_range(y: np.ndarray, name: str) -> np.ndarray:
    """Element-wise: y lies in the range of ψ (where ψ⁻¹ exists, for the invertible activations)."""
    lo, hi = activation_range(name)
    y = np.asarray(y, dtype=np.float64)
    if name == "relu":
        return np.isfinite(y) & (y >= 0)
    return np.isfinite(y) & (y > lo) & (y < hi)


def check_targets(y: np.ndarray, name: str) -> np.ndarray:
    """y as float64 if every target lies in ψ's range; one-line InputError otherwise."""
    y = np.asarray(y, dtype=np.float64)
    ok = in_range(y, name)
    if not np.all(ok):
        lo, hi = activation_range(name)
        left, right = ("[" if name == "relu" else "("), ")"
        bad = y[~ok]
        raise InputError(f"{int(bad.size)} target(s) outside the range {left}{lo:g}, {hi:g}{right} of "
                         f"{name} (e.g. {bad[0]:g}): no weights can fit them")
    return y


def inverse_activation(name: str, leaky_slope: float = 0.1) -> Callable[[np.ndarray], np.ndarray]:
    """ψ⁻¹ as a numpy function on ψ's range (raises InputError for relu, or for targets out of range)."""
    name = check_activation(name)
    if name not in INVERTIBLE:
        raise InputError(f"activation {name} is not invertible (constant on z <= 0); use one of {', '.join(INVERTIBLE)}")
    s = check_leaky_slope(leaky_slope) if name == "leaky-relu" else 1.0

    def inverse(y: np.ndarray) -> np.ndarray:
        y = check_targets(y, name)
        if name == "identity":
            return y
        if name == "leaky-relu":
            return np.where(y >= 0, y, y / s)
        if name == "sigmoid":
            return np.log(y) - np.log1p(-y)
        return np.arctanh(y)

    return inverse


def is_homogeneous(name: str) -> bool:
    """ψ(cz) = cψ(z) for all c > 0."""
    return check_activation(name) in HOMOGENEOUS
