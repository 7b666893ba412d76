"""Where a single monotone neuron f(x) = ψ(⟨w, x⟩) converges on the square loss.

The gradient (1/n) Xᵀ(ψ'(Xw) ⊙ (ψ(Xw) − y)) lies in rowspan(X), so every gradient method keeps
w − w0 ∈ rowspan(X); when ψ is strictly monotone (invertible) and the loss reaches 0, Xw = ψ⁻¹(y).
Hence the limit is the min-l2 interpolator of the inverted targets from w0:

    w∞ = w0 + X⁺(ψ⁻¹(y) − X w0).

ReLU is not invertible (targets y_i = 0 only ask ⟨w, x_i⟩ ≤ 0): it has no such closed form.

References: Vardi & Shamir, "Implicit regularization in ReLU networks with the square loss", COLT 2021.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from implicit_bias.models.activations import inverse_activation
from implicit_bias.references.min_l2 import min_l2_interpolator


def neuron_flow_limit(model: Any, X: np.ndarray, y: np.ndarray, w0: np.ndarray | None = None) -> np.ndarray:
    """w0 + X⁺(ψ⁻¹(y) − X w0) (d,) for a :class:`~implicit_bias.models.neuron.NeuronModel` (its
    ``activation`` and ``leaky_slope`` give ψ); w0 = 0 when not given.

    InputError for relu (not invertible) and for targets outside ψ's range.
    """
    z = inverse_activation(model.activation, model.leaky_slope)(y)
    return np.asarray(min_l2_interpolator(np.asarray(X, dtype=float), z, w0=w0).solution)
