"""Adaptive methods whose geometry is set by their statistics: AdaGrad, and Adam with every option.

* ``adagrad``: G_k = G₀ + Σ_{s≤k} g_s²,  w ← w − h g_k / (√G_k + ε) (optax.scale_by_rss). On separable
  data with the exp loss Σ g_s² converges, so AdaGrad ends as preconditioned GD with the fixed metric
  P∞ = diag(√G∞ + ε): its direction tends to argmin ‖w‖_{P∞} s.t. y_i⟨w, x_i⟩ ≥ 1, and P∞ depends on
  the step size and the initialization (Qian & Qian 2019).
* ``adamw``: Adam (m, v with β1, β2, bias correction, ε; optax.scale_by_adam) with steps
  h_k = h (schedule constant) or h (1 + k)^(−a) (schedule inverse-power, a = ``power``), and weight
  decay λ either coupled (λw added to the gradient: stationary points of L + λ‖w‖²/2) or decoupled
  (w ← w − h_k (m̂/(√v̂ + ε) + λw), AdamW: KKT points of min L s.t. ‖w‖∞ ≤ 1/λ; Xie & Li 2024). With
  ε → 0 and decaying steps on separable data the direction tends to the l∞ max-margin separator
  (Zhang, Zou & Cao 2024); with ε ≫ |g| Adam is GD with step h/ε and the l2 geometry returns.
  ``loss_normalized=True`` feeds ∇ log L instead of ∇L.

Swept hyper-parameters: ``hp["step_size"]``; adagrad: ``hp["eps"]``; adamw: ``hp["eps"]``,
``hp["weight_decay"]``, ``hp["power"]``.

References: Duchi, Hazan, Singer, JMLR 2011 (AdaGrad); Qian & Qian, "Implicit regularization of AdaGrad
on separable data", NeurIPS 2019; Kingma & Ba, ICLR 2015; Loshchilov & Hutter, ICLR 2019 (AdamW);
Zhang, Zou & Cao, "The implicit bias of Adam on separable data", NeurIPS 2024; Xie & Li, "Implicit bias
of AdamW: ℓ∞ norm constrained optimization", ICML 2024; Wang et al. 2021 (ε and the l2 bias).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax
import optax

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import StepOptimizer

SCHEDULES = ("constant", "inverse-power")


def _nonnegative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class AdaGrad(StepOptimizer):
    """AdaGrad with accumulator start G₀ = ``initial_accumulator`` and ε (``hp["eps"]`` overrides it)."""

    eps: float = 1e-10
    initial_accumulator: float = 0.0
    name: ClassVar[str] = "adagrad"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("eps", float, 1e-10, "ε added to √G", low=0.0),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _nonnegative("eps", self.eps)
        _nonnegative("initial accumulator", self.initial_accumulator)

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return optax.chain(optax.scale_by_rss(self.initial_accumulator, self.hparam(hp, "eps")),
                           optax.scale(-hp["step_size"]))


@dataclass(frozen=True)
class AdamGeometry(StepOptimizer):
    """Adam / AdamW with a step schedule and coupled or decoupled weight decay (see the module docstring).

    Attributes:
      eps, beta1, beta2: Adam's ε, β1, β2.
      weight_decay: λ ≥ 0.
      decoupled_weight_decay: True for AdamW (decay outside the adaptive scaling), False for L2 in the gradient.
      schedule: "constant" or "inverse-power" (h_k = h (1 + k)^(−power)).
      power: a ∈ [0, 1] of the inverse-power schedule.
      loss_normalized: step on ∇ log L instead of ∇L.
    """

    eps: float = 1e-8
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = True
    schedule: str = "constant"
    power: float = 0.5
    loss_normalized: bool = False
    name: ClassVar[str] = "adamw"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("eps", float, 1e-8, "Adam's ε", low=0.0),
        HParam("weight_decay", float, 0.0, "weight decay λ (coupled or decoupled)", low=0.0),
        HParam("power", float, 0.5, "a of the inverse-power schedule h (1 + k)^(−a)", low=0.0, high=1.0),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _nonnegative("eps", self.eps)
        _nonnegative("weight decay", self.weight_decay)
        for name, b in (("beta1", self.beta1), ("beta2", self.beta2)):
            if not (isinstance(b, (int, float)) and 0 <= b < 1):
                raise InputError(f"{name} must lie in [0, 1), got {b!r}")
        if self.schedule not in SCHEDULES:
            raise InputError(f"unknown schedule '{self.schedule}'; valid: {', '.join(SCHEDULES)}")
        if not (isinstance(self.power, (int, float)) and 0 <= self.power <= 1):
            raise InputError(f"schedule power must lie in [0, 1], got {self.power!r}")

    @property
    def uses_log_loss(self) -> bool:  # type: ignore[override]
        return bool(self.loss_normalized)

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        h, lam = hp["step_size"], self.hparam(hp, "weight_decay")
        power = self.hparam(hp, "power") if self.schedule == "inverse-power" else 0.0
        adam = optax.scale_by_adam(b1=self.beta1, b2=self.beta2, eps=self.hparam(hp, "eps"))
        steps = optax.scale_by_schedule(lambda k: -h * (1.0 + k) ** (-power))
        if self.decoupled_weight_decay:
            return optax.chain(adam, optax.add_decayed_weights(lam), steps)
        return optax.chain(optax.add_decayed_weights(lam), adam, steps)


register_optimizer("adagrad", AdaGrad)
register_optimizer("adamw", AdamGeometry)
