"""Label-noise SGD: every step sees the targets y + σ ξ with fresh noise ξ, then takes an SGD step.

    θ ← θ − h ∇_θ L_B(θ; y_B + σ ξ),   ξ ~ N(0, I) ("gaussian") or uniform on {±1}ⁿ ("rademacher")

(minibatch B drawn without replacement each epoch, or the full batch). The noise never vanishes,
even at an interpolator, so the iterates keep moving along the manifold of interpolators; on a
diagonal network that drift shrinks the effective initialization and biases towards sparse
solutions. σ is read from ``hp["label_noise"]`` when swept, else from the field ``label_noise``.

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
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import StepOptimizer

DISTRIBUTIONS = ("gaussian", "rademacher")


@dataclass(frozen=True)
class LabelNoiseSGD(StepOptimizer):
    """(Minibatch) SGD on targets perturbed afresh at every step.

    Attributes:
      label_noise: σ ≥ 0, the label-noise standard deviation (``hp["label_noise"]`` overrides it).
      distribution: "gaussian" or "rademacher" (±σ with equal probability).
      batch_size: minibatch size, None for the full batch.
    """

    label_noise: float = 0.1
    distribution: str = "gaussian"
    name: ClassVar[str] = "label-noise-sgd"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("label_noise", float, 0.1, "standard deviation σ of the label noise (0: plain SGD)", low=0.0),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        sigma = self.label_noise
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma >= 0):
            raise InputError(f"label noise must be a finite number >= 0, got {sigma!r}")
        if self.distribution not in DISTRIBUTIONS:
            raise InputError(f"unknown label-noise distribution '{self.distribution}'; "
                             f"valid: {', '.join(DISTRIBUTIONS)}")

    def perturb_targets(self, y: jax.Array, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        sigma = self.hparam(hp, "label_noise")
        if self.distribution == "rademacher":
            xi = jax.random.rademacher(key, y.shape, dtype=y.dtype)
        else:
            xi = jax.random.normal(key, y.shape, dtype=y.dtype)
        return y + sigma * xi


register_optimizer("label-noise-sgd", LabelNoiseSGD)
