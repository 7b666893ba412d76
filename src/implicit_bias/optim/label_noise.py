"""Label-noise SGD: every step sees the targets y + σ ξ with fresh noise ξ, then takes an SGD step.

    θ ← θ − h ∇_θ L_B(θ; y_B + σ ξ),   ξ ~ N(0, I) ("gaussian") or uniform on {±1}ⁿ ("rademacher")

(minibatch B drawn without replacement each epoch, or the full batch). The noise never vanishes,
even at an interpolator, so the iterates keep moving along the manifold of interpolators; on a
diagonal network that drift shrinks the effective initialization and biases towards sparse
solutions. σ is read from ``hp["label_noise"]`` when swept, else from the field.

References: Blanc, Gupta, Valiant, Valiant, "Implicit regularization for deep neural networks driven
by an Ornstein-Uhlenbeck like process", COLT 2020; HaoChen, Wei, Lee, Ma, "Shape matters:
understanding the implicit bias of the noise covariance", COLT 2021; Pillaud-Vivien, Reygner,
Flammarion, "Label noise (stochastic) gradient descent implicitly solves the Lasso for quadratic
parametrisation", COLT 2022.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax

from implicit_bias.errors import InputError
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import StepOptimizer

NOISE_KINDS = ("gaussian", "rademacher")


@dataclass(frozen=True)
class LabelNoiseSGD(StepOptimizer):
    """(Minibatch) SGD on targets perturbed afresh at every step.

    Attributes:
      noise: σ ≥ 0, the label-noise standard deviation (``hp["label_noise"]`` overrides it).
      kind: "gaussian" or "rademacher" (±σ with equal probability).
      batch_size: minibatch size, None for the full batch.
    """

    noise: float = 0.1
    kind: str = "gaussian"
    name: ClassVar[str] = "label-noise-sgd"
    swept: ClassVar[tuple[str, ...]] = ("label_noise",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.noise, (int, float)) and math.isfinite(self.noise) and self.noise >= 0):
            raise InputError(f"label noise must be a finite number >= 0, got {self.noise!r}")
        if self.kind not in NOISE_KINDS:
            raise InputError(f"unknown label-noise kind '{self.kind}'; valid: {', '.join(NOISE_KINDS)}")

    def perturb_targets(self, y: jax.Array, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        sigma = hp.get("label_noise", self.noise)
        if self.kind == "rademacher":
            xi = jax.random.rademacher(key, y.shape, dtype=y.dtype)
        else:
            xi = jax.random.normal(key, y.shape, dtype=y.dtype)
        return y + sigma * xi

    def describe(self) -> dict:
        return {**super().describe(), "noise": self.noise, "kind": self.kind}


register_optimizer("label-noise-sgd", LabelNoiseSGD)
