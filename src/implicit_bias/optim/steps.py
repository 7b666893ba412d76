"""The standard step-based optimizers: GD, SGD, heavy ball, Nesterov, Adam, normalized GD.

* gd:       θ ← θ − h ∇L(θ)
* sgd:      θ ← θ − h ∇L_B(θ), minibatches B drawn without replacement each epoch
* momentum: heavy ball, m ← β m + ∇L, θ ← θ − h m            (optax.sgd(momentum=β))
* nesterov: Nesterov's accelerated gradient                   (optax.sgd(nesterov=True))
* adam:     Kingma & Ba 2015                                   (optax.adam)
* normalized-gd: θ ← θ − h ∇L/L = θ − h ∇ log L (step scaled by 1/loss; Nacson et al. 2019)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax
import optax

from implicit_bias.hparams import HParam
from implicit_bias.optim.base import StepOptimizer

#: the heavy-ball coefficient β ∈ [0, 1) (shared by every momentum method).
MOMENTUM = HParam("momentum", float, 0.9, "heavy-ball coefficient β", low=0.0, high=1.0, high_open=True)


@dataclass(frozen=True)
class GD(StepOptimizer):
    """Full-batch gradient descent (or SGD when ``batch_size`` is set)."""

    name: ClassVar[str] = "gd"


@dataclass(frozen=True)
class SGD(StepOptimizer):
    """Minibatch SGD, sampling without replacement each epoch."""

    name: ClassVar[str] = "sgd"


@dataclass(frozen=True)
class Momentum(StepOptimizer):
    """Heavy-ball momentum with coefficient β = ``momentum`` (``hp['momentum']`` overrides it)."""

    momentum: float = 0.9
    name: ClassVar[str] = "momentum"
    hparams: ClassVar[tuple[HParam, ...]] = (MOMENTUM,)

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.sgd(hp["step_size"], momentum=self.hparam(hp, "momentum"))


@dataclass(frozen=True)
class Nesterov(Momentum):
    """Nesterov's accelerated gradient."""

    name: ClassVar[str] = "nesterov"

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.sgd(hp["step_size"], momentum=self.hparam(hp, "momentum"), nesterov=True)


@dataclass(frozen=True)
class Adam(StepOptimizer):
    """Adam with optax's defaults (β1 = 0.9, β2 = 0.999, ε = 1e-8)."""

    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    name: ClassVar[str] = "adam"

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.adam(hp["step_size"], b1=self.b1, b2=self.b2, eps=self.eps)


@dataclass(frozen=True)
class NormalizedGD(StepOptimizer):
    """GD on log L: the step is scaled by 1/L, which speeds up margin growth on separable data."""

    name: ClassVar[str] = "normalized-gd"
    uses_log_loss: ClassVar[bool] = True
