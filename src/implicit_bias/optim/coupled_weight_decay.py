"""Coupled weight decay on any step optimizer, and the exponentially growing step that replaces it.

Coupled weight decay λ adds λθ to the gradient before the optimizer sees it:

* ``sgd-weight-decay``:      θ ← θ − η(∇L + λθ) = (1 − ηλ)θ − η∇L
* ``momentum-weight-decay``: v ← μv + ∇L + λθ,  θ ← θ − ηv            (heavy ball, optax's form)
* :class:`WeightDecayed` wraps any other step optimizer the same way.

On a scale-invariant loss (L(cθ) = L(θ) for c > 0, so ∇L(cθ) = ∇L(θ)/c and ⟨∇L(θ), θ⟩ = 0) GD with
weight decay is GD without it under the step schedule (Li & Arora 2020, Theorem 2.1, μ = 0):
with ρ = 1 − ηλ and θ̃_k = θ_k/ρᵏ,

    θ̃_{k+1} = θ̃_k − η ρ^{−(2k+1)} ∇L(θ̃_k),

which ``exp-step-gd`` runs: η_k = η·exp(g(k + 1/2)) with the growth g = −2 log(1 − ηλ)
(:func:`equivalent_growth`). The two runs have the same directions θ/‖θ‖ in exact arithmetic.

The weight decay λ = ``weight_decay`` and the growth g = ``step_growth`` are swept like the step size
(``hp["weight_decay"]``, ``hp["step_growth"]``: traced leaves, one compiled program per sweep).

References: Li & Arora, "An exponential learning rate schedule for deep learning", ICLR 2020;
Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019 (coupled vs decoupled).
"""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam, table
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import NOT_AN_OPTION, Objective, StepOptimizer
from implicit_bias.optim.steps import GD, Momentum

#: coupled weight decay λ ≥ 0 (λ = 0 is the control without decay).
WEIGHT_DECAY = HParam("weight_decay", float, 1e-3, "coupled weight decay λ (λθ added to the gradient)", low=0.0)


def _check_decay(value: Any, what: str = "weight decay") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise InputError(f"{what} must be >= 0, got {value}")
    return v


def coupled_weight_decay(weight_decay: jax.Array | float, inner: optax.GradientTransformation) -> optax.GradientTransformation:
    """``inner`` applied to g + λθ (the parameters are required by ``update``)."""
    return optax.chain(optax.add_decayed_weights(weight_decay), inner)


def equivalent_growth(step_size: float, weight_decay: float) -> float:
    """g = −2 log(1 − ηλ): the growth per step of the schedule equivalent to weight decay (needs ηλ < 1)."""
    eta, lam = float(step_size), _check_decay(weight_decay)
    if not 0 <= eta * lam < 1:
        raise InputError(f"weight decay times step size must lie in [0, 1), got {eta * lam}")
    return -2.0 * math.log1p(-eta * lam)


@dataclass(frozen=True)
class SGDWeightDecay(StepOptimizer):
    """GD (or SGD with ``batch_size``) with coupled weight decay: θ ← (1 − ηλ)θ − η∇L."""

    weight_decay: float = 1e-3
    name: ClassVar[str] = "sgd-weight-decay"
    hparams: ClassVar[tuple[HParam, ...]] = (WEIGHT_DECAY,)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "weight_decay", _check_decay(self.weight_decay))

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return coupled_weight_decay(self.hparam(hp, "weight_decay"), optax.sgd(hp["step_size"]))


@dataclass(frozen=True)
class MomentumWeightDecay(Momentum):
    """Heavy ball with coupled weight decay λ: v ← μv + ∇L + λθ, θ ← θ − ηv (μ = ``momentum``)."""

    weight_decay: float = 1e-3
    name: ClassVar[str] = "momentum-weight-decay"
    hparams: ClassVar[tuple[HParam, ...]] = Momentum.hparams + (WEIGHT_DECAY,)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.momentum, (int, float)) and 0 <= self.momentum < 1):
            raise InputError(f"momentum must lie in [0, 1), got {self.momentum!r}")
        object.__setattr__(self, "weight_decay", _check_decay(self.weight_decay))

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return coupled_weight_decay(self.hparam(hp, "weight_decay"), super().transform(hp))


@dataclass(frozen=True)
class WeightDecayed(StepOptimizer):
    """Any step optimizer ``base`` with coupled weight decay λ (``hp["weight_decay"]`` or ``weight_decay``).

    The base's batch size, log-loss flag, label perturbation and objective modification are kept. Its
    declared quantities are the base's (see :meth:`declared`) and ``weight_decay``.
    """

    base: StepOptimizer = field(default=GD(), metadata=NOT_AN_OPTION)
    weight_decay: float = 1e-3
    batch_size: int | None = field(default=None, kw_only=True)
    name: ClassVar[str] = "weight-decayed"
    hparams: ClassVar[tuple[HParam, ...]] = (WEIGHT_DECAY,)

    def bind(self, model: Any) -> "WeightDecayed":
        base = self.base.bind(model)
        return self if base is self.base else dataclasses.replace(self, base=base)

    def __post_init__(self) -> None:
        if not isinstance(self.base, StepOptimizer):
            raise InputError(f"weight decay needs a step optimizer as base, got {self.base!r}")
        if self.batch_size is not None and self.batch_size != self.base.batch_size:
            raise InputError("give the batch size to the base optimizer")
        object.__setattr__(self, "batch_size", self.base.batch_size)
        object.__setattr__(self, "weight_decay", _check_decay(self.weight_decay))

    def declared(self) -> dict[str, HParam]:  # type: ignore[override]
        """The base's table and ``weight_decay`` (this declaration wins over a base's own)."""
        return {**self.base.declared(), **table(self.hparams)}

    @property
    def uses_log_loss(self) -> bool:  # type: ignore[override]
        return self.base.uses_log_loss

    @property
    def supports_swept_batch(self) -> bool:  # type: ignore[override]
        return self.base.supports_swept_batch

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return coupled_weight_decay(self.hparam(hp, "weight_decay"), self.base.transform(hp))

    def perturb_targets(self, y: jax.Array, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        return self.base.perturb_targets(y, hp, key)

    def modify_objective(self, objective: Objective) -> Objective:
        return self.base.modify_objective(objective)

    def check_hparams(self, hp: Mapping[str, np.ndarray]) -> None:
        self.base.check_hparams(hp)


class CountState(NamedTuple):
    """The step counter k."""

    count: jax.Array


def exponential_step(step_size: jax.Array, growth: jax.Array) -> optax.GradientTransformation:
    """g ↦ −η exp(g_r (k + 1/2))·g at step k (g_r = ``growth``; η_k = η ρ^{−(2k+1)} for g_r = −2 log ρ)."""

    def init(params):
        return CountState(count=jnp.zeros((), jnp.int64 if jax.config.jax_enable_x64 else jnp.int32))

    def update(grads, state, params=None):
        dtype = jax.tree_util.tree_leaves(grads)[0].dtype
        eta = step_size * jnp.exp(growth * (state.count.astype(dtype) + 0.5))
        return jax.tree_util.tree_map(lambda g: -eta * g, grads), CountState(state.count + 1)

    return optax.GradientTransformation(init, update)


@dataclass(frozen=True)
class ExponentialStepGD(StepOptimizer):
    """GD with the growing step η_k = η·exp(g(k + 1/2)) (g = ``step_growth`` or ``hp["step_growth"]``).

    With g = :func:`equivalent_growth` (η, λ) it is GD with weight decay λ on a scale-invariant
    loss, rescaled by (1 − ηλ)^{−k} (Li & Arora 2020).
    """

    step_growth: float = 0.0
    name: ClassVar[str] = "exp-step-gd"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("step_growth", float, 0.0, "growth g of the step η exp(g(k + 1/2)) (0: constant step)"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            g = float(self.step_growth)
        except (TypeError, ValueError):
            raise InputError(f"step growth must be a number, got {self.step_growth!r}") from None
        if not math.isfinite(g):
            raise InputError(f"step growth must be finite, got {self.step_growth}")
        object.__setattr__(self, "step_growth", g)

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return exponential_step(hp["step_size"], self.hparam(hp, "step_growth"))


register_optimizer("sgd-weight-decay", SGDWeightDecay)
register_optimizer("momentum-weight-decay", MomentumWeightDecay)
register_optimizer("weight-decayed", WeightDecayed)
register_optimizer("exp-step-gd", ExponentialStepGD)
