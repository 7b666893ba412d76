"""Modified losses of backward error analysis, and explicit gradient regularization.

GD with step h follows, to second order, the gradient flow of a modified loss (Barrett & Dherin 2021):

    θ_k = θ(kh) + O(h²)   for dθ/dt = −∇L̃_GD,   L̃_GD = L + (h/4)‖∇L‖²          (plain flow: O(h))

SGD with m minibatches per epoch (Smith, Dherin, Barrett, De 2021), the mean over the random order
of one epoch's batches L̂_1..L̂_m (a fixed partition, n = mB):

    L̃_SGD = L + (h/4m) Σ_k ‖∇L̂_k‖² = L̃_GD + (h/4m) Σ_k ‖∇L̂_k − ∇L‖²            ("fixed")

The engine's SGD draws a fresh partition every epoch (a random permutation cut into m batches of B,
mB ≤ n); averaged over that permutation the same expansion gives, with per-sample gradients ∇ℓ_i,

    L̃_SGD = L̃_GD + (h/4) (m − 1)/(n − 1) · (1/n) Σ_i ‖∇ℓ_i − ∇L‖²             ("reshuffled")

(= the fixed form averaged over partitions when n = mB). Heavy-ball momentum m ← βm + ∇L, θ ← θ − hm
follows, in the time t = kh/(1 − β) and after its transient, the flow of (Ghosh et al. 2023; on a
quadratic this matches the dominant root of the recursion to O(h²))

    L̃_HB = L + h(1 + β)/(4(1 − β)²) ‖∇L‖².

Every penalty is built with ``jax.grad`` of the engine's objective, so it holds for any model and loss.
Explicit gradient regularization (Karakida et al. 2023) trains on L + λ‖∇L‖² with any step optimizer:
the full-batch gradient or, ``per_batch``, each minibatch's own L_B + λ‖∇L_B‖².

References: Barrett & Dherin, "Implicit gradient regularization", ICLR 2021; Smith, Dherin, Barrett,
De, "On the origin of implicit regularization in stochastic gradient descent", ICLR 2021; Ghosh,
Lyu, Zhang, Wang, "Implicit regularization in heavy-ball momentum accelerated SGD", ICLR 2023;
Karakida, Takase, Hayase, Osawa, "Understanding gradient regularization in deep learning", ICML 2023.
"""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam, table
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import NOT_AN_OPTION, Objective, StepOptimizer
from implicit_bias.optim.flow import Flow
from implicit_bias.optim.steps import GD, MOMENTUM, SGD, Momentum, Nesterov

PARTITIONS = ("reshuffled", "fixed")
#: h of a modified loss: a quantity of the objective, so h = 0 (the plain flow) is admitted.
MODIFIED_STEP_SIZE = HParam("step_size", float, 0.01, "step size h the modified loss describes (0: the plain flow)",
                            low=0.0)


def _sq_norm(tree: Any) -> jax.Array:
    return sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(tree))


def _positive(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{what} must be positive, got {value}")
    return v


def gradient_penalty(objective: Objective) -> Objective:
    """(θ, X, y, hp) ↦ ‖∇_θ L(θ; X, y)‖²."""
    grad = jax.grad(objective)
    return lambda params, X, y, hp: _sq_norm(grad(params, X, y, hp))


def batch_variance(objective: Objective, n_batches: int, partition: str = "reshuffled") -> Objective:
    """(θ, X, y, hp) ↦ the SGD term (1/m) Σ_k ‖∇L̂_k − ∇L‖² averaged as ``partition`` says.

    ``"fixed"``: batches are the m consecutive blocks of B = n/m rows (n divisible by m).
    ``"reshuffled"``: its mean over random partitions, (m − 1)/(n − 1) · (1/n) Σ_i ‖∇ℓ_i − ∇L‖²;
    there m may be swept as ``hp["n_batches"]`` (m = 1 is full-batch GD: the term vanishes).
    """
    grad = jax.grad(objective)

    def fixed(params, X, y, hp):
        n = X.shape[0]
        if n % n_batches:
            raise InputError(f"a fixed partition needs n_samples ({n}) divisible by n_batches ({n_batches})")
        g = ravel_pytree(grad(params, X, y, hp))[0]
        Xb = X.reshape((n_batches, n // n_batches) + X.shape[1:])
        yb = y.reshape((n_batches, n // n_batches) + y.shape[1:])
        gb = jax.vmap(lambda a, b: ravel_pytree(grad(params, a, b, hp))[0])(Xb, yb)
        return jnp.mean(jnp.sum((gb - g) ** 2, axis=1))

    def reshuffled(params, X, y, hp):
        n = X.shape[0]
        if n_batches > n:
            raise InputError(f"n_batches ({n_batches}) is larger than the number of samples ({n})")
        m = hp.get("n_batches", n_batches)
        g = ravel_pytree(grad(params, X, y, hp))[0]
        gi = jax.vmap(lambda a, b: ravel_pytree(grad(params, a[None], b[None], hp))[0])(X, y)
        spread = jnp.mean(jnp.sum((gi - g) ** 2, axis=1))
        return (m - 1) / max(n - 1, 1) * spread

    return fixed if partition == "fixed" else reshuffled


@dataclass(frozen=True)
class IGRFlow(Flow):
    """Gradient flow of L̃_GD = L + (h/4)‖∇L‖² (GD's modified loss); h = ``hp["step_size"]`` or the field.

    GD's iterate θ_k and this flow at t = kh differ by O(h²) on a fixed time interval.
    """

    step_size: float = 0.01
    name: ClassVar[str] = "igr-flow"
    hparams: ClassVar[tuple[HParam, ...]] = (MODIFIED_STEP_SIZE,)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "step_size", _positive(self.step_size, "step size"))
        if self.time_change is not None:
            raise InputError("a modified-loss flow integrates dθ/dt = −∇L̃ (time_change must be None)")

    def strength(self, hp: Mapping[str, jax.Array]) -> jax.Array:
        """The coefficient of ‖∇L‖² in the modified loss."""
        return self.hparam(hp, "step_size") / 4.0

    def modify_objective(self, objective: Objective) -> Objective:
        penalty = gradient_penalty(objective)

        def modified(params, X, y, hp):
            return objective(params, X, y, hp) + self.strength(hp) * penalty(params, X, y, hp)

        return modified


@dataclass(frozen=True)
class SGDModifiedFlow(IGRFlow):
    """Gradient flow of SGD's modified loss L̃_SGD = L + (h/4)‖∇L‖² + (h/4)(1/m)Σ_k ‖∇L̂_k − ∇L‖².

    ``n_batches`` = m, the steps per epoch (n // batch_size); the flow receives the full data
    and builds the minibatch term itself. ``partition="reshuffled"`` (default) describes the
    engine's SGD, which draws a new random partition every epoch; ``"fixed"`` is Smith et al.'s
    fixed consecutive blocks visited in random order. With ``"reshuffled"``, ``hp["n_batches"]``
    overrides m inside a sweep (m = 1 gives GD's modified flow, ``hp["step_size"] = 0`` the plain flow).
    """

    n_batches: int = 1
    partition: str = "reshuffled"
    name: ClassVar[str] = "sgd-modified-flow"
    hparams: ClassVar[tuple[HParam, ...]] = IGRFlow.hparams + (
        HParam("n_batches", int, 1, "minibatches per epoch m (1: GD's modified loss; reshuffled partition)", low=1),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.n_batches, bool) or not isinstance(self.n_batches, (int, np.integer)) or self.n_batches < 1:
            raise InputError(f"n_batches must be a positive integer, got {self.n_batches!r}")
        if self.partition not in PARTITIONS:
            raise InputError(f"unknown partition '{self.partition}'; valid: {', '.join(PARTITIONS)}")

    def modify_objective(self, objective: Objective) -> Objective:
        penalty = gradient_penalty(objective)
        variance = batch_variance(objective, int(self.n_batches), self.partition)

        def modified(params, X, y, hp):
            c = self.strength(hp)
            return objective(params, X, y, hp) + c * (penalty(params, X, y, hp) + variance(params, X, y, hp))

        return modified


@dataclass(frozen=True)
class MomentumModifiedFlow(IGRFlow):
    """Gradient flow of L + h(1 + β)/(4(1 − β)²)‖∇L‖²: heavy ball (step h, momentum β) at t = kh/(1 − β).

    With the effective step h_eff = h/(1 − β) the penalty is (h_eff/4)·(1 + β)/(1 − β)·‖∇L‖²: GD's, made
    (1 + β)/(1 − β) times stronger (Ghosh et al.'s factor). β = ``hp["momentum"]`` or the field ``momentum``.
    """

    momentum: float = 0.9
    name: ClassVar[str] = "momentum-modified-flow"
    hparams: ClassVar[tuple[HParam, ...]] = IGRFlow.hparams + (MOMENTUM,)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.momentum, (int, float)) and 0 <= self.momentum < 1):
            raise InputError(f"momentum must lie in [0, 1), got {self.momentum!r}")

    def strength(self, hp: Mapping[str, jax.Array]) -> jax.Array:
        beta = self.hparam(hp, "momentum")
        return self.hparam(hp, "step_size") * (1 + beta) / (4 * (1 - beta) ** 2)


KINDS = {"igr": IGRFlow, "sgd": SGDModifiedFlow, "momentum": MomentumModifiedFlow}
#: the optimizers each modified loss describes.
DESCRIBES = {"igr": ("gd", "flow"), "sgd": ("sgd", "flow"), "momentum": ("momentum", "flow")}


def make_modified_flow(kind: str, step_size: float, n_batches: int | None = None, **flow_options: Any) -> Flow:
    """The flow of the modified loss ``kind`` ("igr", "sgd" or "momentum") for step size h.

    ``n_batches`` (m, steps per epoch) is required for "sgd" and refused (unless 1) for the
    full-batch kinds; ``flow_options`` go to the flow (solver, rtol, atol, max_steps, and
    partition for "sgd", momentum for "momentum"). Raises :class:`InputError` on bad input.
    """
    if kind not in KINDS:
        raise InputError(f"unknown modified loss '{kind}'; valid: {', '.join(KINDS)}")
    _positive(step_size, "step size")
    options = {k: v for k, v in flow_options.items() if v is not None}
    if kind == "sgd":
        if n_batches is None:
            raise InputError("the 'sgd' modified loss needs the number of minibatches per epoch (n_batches)")
        options["n_batches"] = n_batches
    elif n_batches is not None and n_batches != 1:
        raise InputError(f"the '{kind}' modified loss describes full-batch steps; "
                         f"use 'sgd' for {n_batches} minibatches")
    try:
        return KINDS[kind](step_size=step_size, **options)
    except TypeError as err:
        raise InputError(f"modified loss '{kind}': {err}") from None


def check_describes(kind: str, optimizer: str) -> None:
    """InputError unless the modified loss ``kind`` describes the optimizer called ``optimizer``."""
    if kind not in KINDS:
        raise InputError(f"unknown modified loss '{kind}'; valid: {', '.join(KINDS)}")
    if optimizer not in DESCRIBES[kind]:
        raise InputError(f"the '{kind}' modified loss describes {' and '.join(DESCRIBES[kind])}, not '{optimizer}'")


def modified_flow_for(optimizer: StepOptimizer, step_size: float, n_samples: int, **flow_options: Any) -> Flow:
    """The modified flow describing a step optimizer: GD → igr, SGD(B) → sgd (m = n // B), heavy ball → momentum."""
    batch = optimizer.batch_size
    if batch is not None and (batch <= 0 or batch > n_samples):
        raise InputError(f"batch size must lie in 1..{n_samples}, got {batch}")
    m = None if batch is None or batch == n_samples else n_samples // batch
    if isinstance(optimizer, Momentum) and not isinstance(optimizer, Nesterov):
        if m is not None:
            raise InputError("no closed-form modified loss for heavy ball with minibatches")
        return make_modified_flow("momentum", step_size, momentum=optimizer.momentum, **flow_options)
    if type(optimizer) in (GD, SGD):
        return make_modified_flow("sgd" if m else "igr", step_size, m, **flow_options)
    raise InputError(f"no modified loss describes optimizer '{optimizer.name}' "
                     "(known: gd -> igr, sgd -> sgd, momentum -> momentum)")


@dataclass(frozen=True, eq=False)
class GradientRegularized(StepOptimizer):
    """Explicit gradient regularization: ``base``'s steps on L + λ‖∇L‖², λ = ``hp["gr_strength"]`` or ``gr_strength``.

    ``per_batch=False`` penalizes the full-batch gradient: with a minibatch base this needs the
    training data as ``full_data=(X, y)``; ``per_batch=True`` penalizes each minibatch's own
    gradient, L_B + λ‖∇L_B‖². With a full-batch base both are the same. The declared quantities
    are the base's (see :meth:`declared`) and ``gr_strength``.
    """

    base: StepOptimizer = field(default=GD(), metadata=NOT_AN_OPTION)
    gr_strength: float = 0.01
    per_batch: bool = False
    full_data: tuple[Any, Any] | None = field(default=None, repr=False)
    batch_size: int | None = field(default=None, kw_only=True)
    name: ClassVar[str] = "gradient-regularized"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("gr_strength", float, 0.01, "gradient-regularization strength λ in L + λ‖∇L‖²", low=0.0),
    )

    def bind(self, model: Any) -> "GradientRegularized":
        base = self.base.bind(model)
        return self if base is self.base else dataclasses.replace(self, base=base)

    def __post_init__(self) -> None:
        if not isinstance(self.base, StepOptimizer):
            raise InputError(f"gradient regularization needs a step optimizer as base, got {self.base!r}")
        try:
            lam = float(self.gr_strength)
        except (TypeError, ValueError):
            raise InputError(f"gradient-regularization strength must be a number, got {self.gr_strength!r}") from None
        if not (math.isfinite(lam) and lam >= 0):
            raise InputError(f"gradient-regularization strength must be >= 0, got {self.gr_strength}")
        base = self.base
        if self.batch_size is not None:
            if self.batch_size <= 0:
                raise InputError(f"batch size must be positive, got {self.batch_size}")
            if base.batch_size not in (None, self.batch_size):
                raise InputError(f"batch size {self.batch_size} differs from the base optimizer's {base.batch_size}")
            if base.batch_size is None:
                if type(base) not in (GD, SGD):
                    raise InputError("give the batch size to the base optimizer")
                base = SGD(batch_size=self.batch_size)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "batch_size", base.batch_size)
        if base.batch_size is not None and not self.per_batch and self.full_data is None:
            raise InputError("full-batch gradient regularization with minibatches needs full_data=(X, y); "
                             "or use per_batch=True")
        if self.full_data is not None:
            X, y = self.full_data
            object.__setattr__(self, "full_data", (np.asarray(X), np.asarray(y)))

    def declared(self) -> dict[str, HParam]:  # type: ignore[override]
        """The base's table and ``gr_strength`` (this declaration wins over a base's own)."""
        return {**self.base.declared(), **table(self.hparams)}

    def check_hparams(self, hp: Mapping[str, np.ndarray]) -> None:
        self.base.check_hparams(hp)

    @property
    def uses_log_loss(self) -> bool:  # type: ignore[override]
        return self.base.uses_log_loss

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return self.base.transform(hp)

    def perturb_targets(self, y: jax.Array, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        return self.base.perturb_targets(y, hp, key)

    def modify_objective(self, objective: Objective) -> Objective:
        objective = self.base.modify_objective(objective)
        penalty = gradient_penalty(objective)
        full = self.full_data if (self.base.batch_size is not None and not self.per_batch) else None

        def regularized(params, X, y, hp):
            lam = self.hparam(hp, "gr_strength")
            if full is not None:
                Xf, yf = (jnp.asarray(a, dtype=X.dtype) if np.issubdtype(a.dtype, np.floating) else jnp.asarray(a)
                          for a in full)
                return objective(params, X, y, hp) + lam * penalty(params, Xf, yf.astype(y.dtype), hp)
            return objective(params, X, y, hp) + lam * penalty(params, X, y, hp)

        return regularized


register_optimizer("igr-flow", IGRFlow)
register_optimizer("sgd-modified-flow", SGDModifiedFlow)
register_optimizer("momentum-modified-flow", MomentumModifiedFlow)
register_optimizer("gradient-regularized", GradientRegularized)
