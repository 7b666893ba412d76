"""Mirror flow and mirror descent with the hypentropy potential, on a linear model's w (d,).

Hypentropy (Ghai, Hazan, Singer 2020), β > 0:

    φ_β(w) = Σ_i w_i arcsinh(w_i/β) − √(w_i² + β²),   ∇φ_β(w) = arcsinh(w/β),   ∇²φ_β(w) = diag(1/√(w² + β²)).

Mirror flow d∇φ_β(w)/dt = −c ∇L(w) is the preconditioned flow ẇ = −c √(w² + β²) ⊙ ∇L(w); mirror
descent is its step version w ← β sinh(arcsinh(w/β) − h c ∇L(w)).

Gradient flow on a diagonal network *is* such a mirror flow (Woodworth et al. 2020; Azulay et al. 2021):

* w = u⊙u − v⊙v: ẇ = −4(u² + v²)⊙∇L and u⊙v is conserved, so (u² + v²)² = w² + (2u0v0)²:
  β = 2 u0 v0, c = 4, from w0 = u0² − v0² (β = 2α² and w0 = 0 from u0 = v0 = α);
* w = u⊙v: ẇ = −(u² + v²)⊙∇L and δ = u² − v² is conserved, so u² + v² = 2√(w² + δ²/4):
  β = |u0² − v0²|/2, c = 2, from w0 = u0 v0.

:func:`hypentropy_equivalent` returns (β, c, w0) for a diagonal initialization, so the two flows can be
compared point by point in time. Implementation: the engine differentiates the objective the
optimizer returns; :class:`MirrorFlow` returns ⟨stop_gradient(c √(w² + β²) ⊙ ∇L(w)), w⟩, whose
gradient is exactly that preconditioned field.

References: Ghai, Hazan, Singer, "Exponentiated gradient meets gradient descent", ALT 2020;
Woodworth et al., "Kernel and rich regimes in overparametrized models", COLT 2020 (§4);
Azulay et al., "On the implicit bias of initialization shape", ICML 2021.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import StepOptimizer
from implicit_bias.optim.flow import Flow


def hypentropy(w: Any, beta: float) -> Any:
    """φ_β(w) = Σ w arcsinh(w/β) − √(w² + β²) (numpy or jax arrays, last axis summed)."""
    xp = jnp if isinstance(w, jax.Array) else np
    return xp.sum(w * xp.arcsinh(w / beta) - xp.sqrt(w ** 2 + beta ** 2), axis=-1)


def hypentropy_equivalent(param: str, u0: float, v0: float) -> tuple[float, float, float]:
    """(β, c, w0): the hypentropy mirror flow that gradient flow on a diagonal network follows.

    ``param`` "uu-vv" (w = u² − v², depth 2) or "uv" (w = u v); u0, v0 the layers' initial values.
    """
    u0, v0 = float(u0), float(v0)
    if param == "uu-vv":
        return 2.0 * u0 * v0, 4.0, u0 ** 2 - v0 ** 2
    if param == "uv":
        return abs(u0 ** 2 - v0 ** 2) / 2.0, 2.0, u0 * v0
    raise InputError(f"no hypentropy equivalent for diagonal param '{param}' (only uu-vv and uv at depth 2)")


def _check(beta: float, rate: float) -> None:
    if not (math.isfinite(beta) and beta >= 0):
        raise InputError(f"hypentropy beta must be a finite number >= 0, got {beta}")
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"mirror rate must be a positive number, got {rate}")


@dataclass(frozen=True)
class MirrorFlow(Flow):
    """d arcsinh(w/β)/dt = −c ∇L(w), i.e. ẇ = −c √(w² + β²) ⊙ ∇L(w), on every parameter leaf.

    Attributes (besides :class:`Flow`'s solver, rtol, atol, max_steps):
      beta: β ≥ 0 (``hp["beta"]`` overrides it, so β can be swept in one program).
      rate: c > 0, a constant time change.
    """

    beta: float = 1.0
    rate: float = 1.0
    name: ClassVar[str] = "mirror-flow"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("beta", float, 1.0, "hypentropy scale β (β → 0: entropy-like, β → ∞: Euclidean)", low=0.0),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.time_change is not None:
            raise InputError("the mirror flow has no loss time change")
        _check(self.beta, self.rate)

    def modify_objective(self, objective):
        grad = jax.grad(objective)

        def mirrored(params, X, y, hp):
            beta = self.hparam(hp, "beta")
            field = jax.tree_util.tree_map(lambda w, g: self.rate * jnp.sqrt(w ** 2 + beta ** 2) * g,
                                           params, grad(params, X, y, hp))
            field = jax.lax.stop_gradient(field)
            return sum(jnp.vdot(f, w) for f, w in zip(jax.tree_util.tree_leaves(field),
                                                      jax.tree_util.tree_leaves(params)))

        return mirrored


class _NoState(NamedTuple):
    pass


def hypentropy_md(step_size: Any, beta: Any, rate: float = 1.0) -> optax.GradientTransformation:
    """Mirror descent as an optax transformation: w ← β sinh(arcsinh(w/β) − h c g) (β > 0)."""

    def init(params):
        return _NoState()

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("hypentropy mirror descent needs the parameters")
        new = jax.tree_util.tree_map(
            lambda w, g: beta * jnp.sinh(jnp.arcsinh(w / beta) - step_size * rate * g), params, grads)
        return jax.tree_util.tree_map(jnp.subtract, new, params), state

    return optax.GradientTransformation(init, update)


@dataclass(frozen=True)
class MirrorDescent(StepOptimizer):
    """Hypentropy mirror descent with step size h (``hp["step_size"]``) and β (``hp["beta"]`` or the field)."""

    beta: float = 1.0
    rate: float = 1.0
    name: ClassVar[str] = "mirror-descent"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("beta", float, 1.0, "hypentropy scale β", low=0.0, low_open=True),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.beta, self.rate)
        if self.beta == 0:
            raise InputError("mirror descent needs beta > 0")

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        return hypentropy_md(hp["step_size"], self.hparam(hp, "beta"), self.rate)


register_optimizer("mirror-descent", MirrorDescent)
