"""Steepest descent w.r.t. a norm, on the loss-normalised gradient g = ∇ log L = ∇L / L.

    Δw ∈ argmin_v ⟨g, v⟩ + ½‖v‖²  =  −‖g‖_* s,   s ∈ argmax_{‖s‖ ≤ 1} ⟨g, s⟩,     w ← w + h_k Δw

* l2:        Δw = −g                                  (GD; ``steepest-descent --norm l2``)
* linf:      Δw = −‖g‖₁ sign(g)                       (sign-GD scaled by ‖g‖₁)
* l1:        Δw = −‖g‖_∞ sign(g_j) e_j, j = argmax|g_j| (greedy coordinate descent, boosting; ``coordinate-descent``)
* quadratic: Δw = −P⁻¹ g, ‖v‖_P = √(vᵀPv)               (preconditioned GD; ``preconditioned-gd``)

``normalized=True`` drops the factor ‖g‖_* (steps of fixed length h_k in the norm): ``sign-gd`` is the
l∞ case, w ← w − h_k sign(g). Steps h_k = h (1 + k/k₀)^(−decay_power) (constant at decay_power 0).
On separable data with the exp or logistic loss the direction converges to the max-margin separator
of the same norm (:mod:`implicit_bias.references.norm_margin`); steps on ∇ log L make the normalized
margin converge at rate O(1/k) instead of O(1/log k).

Swept hyper-parameters: ``hp["step_size"]`` (h), ``hp["decay_power"]`` and, to sweep the geometry in one
compiled program, ``hp["norm_index"]`` (an index into :data:`STEEPEST_NORMS`; the quadratic branch uses the
optimizer's ``precondition``, the identity when it has none) with ``hp["normalized"]`` (0 or 1).

References: Gunasekar, Lee, Soudry, Srebro, "Characterizing implicit bias in terms of optimization
geometry", ICML 2018 (Theorem 5); Nacson et al., AISTATS 2019 (loss-normalised steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import StepOptimizer

STEEPEST_NORMS = ("l2", "l1", "linf", "quadratic")
#: p ≥ 0 of the steps h_k = h (1 + k/k₀)^(−p) (0: constant steps).
DECAY_POWER = HParam("decay_power", float, 0.0, "p of the steps h (1 + k/k₀)^(−p) (0: constant)", low=0.0)


class CountState(NamedTuple):
    """The step counter k."""

    count: jax.Array


def steepest_direction(g: jax.Array, norm: str, P_inv: jax.Array | None = None, normalized: bool = False) -> jax.Array:
    """−‖g‖_* s (or −s when ``normalized``) with s = argmax_{‖s‖ ≤ 1}⟨g, s⟩, for g (d,); 0 where g = 0."""
    if norm == "l2":
        nrm = jnp.sqrt(jnp.sum(g * g))
        return -g / jnp.where(nrm > 0, nrm, 1.0) if normalized else -g
    if norm == "linf":
        return -jnp.sign(g) * (1.0 if normalized else jnp.sum(jnp.abs(g)))
    if norm == "l1":
        j = jnp.argmax(jnp.abs(g))
        e = jax.nn.one_hot(j, g.shape[-1], dtype=g.dtype) * jnp.sign(g[j])
        return -e * (1.0 if normalized else jnp.abs(g[j]))
    v = P_inv @ g
    dual = jnp.sqrt(jnp.maximum(jnp.vdot(g, v), 0.0))
    return -v / jnp.where(dual > 0, dual, 1.0) if normalized else -v


def steepest(step_size, decay_power, decay_steps: float, norm, P_inv=None, normalized=False) -> optax.GradientTransformation:
    """The optax transformation g ↦ h_k Δw(g) on the parameters flattened to one vector.

    ``norm`` is a name of :data:`STEEPEST_NORMS` or a traced index into it (then ``normalized`` may be a
    traced 0/1 too): one compiled program then sweeps the geometry.
    """

    def direction(flat):
        if isinstance(norm, str):
            return steepest_direction(flat, norm, P_inv, bool(normalized))
        P = P_inv if P_inv is not None else jnp.eye(flat.shape[0], dtype=flat.dtype)
        branches = [lambda g, name=name, unit=unit: steepest_direction(g, name, P, unit)
                    for unit in (False, True) for name in STEEPEST_NORMS]
        index = jnp.asarray(norm, jnp.int32) + len(STEEPEST_NORMS) * jnp.asarray(normalized, jnp.int32)
        return jax.lax.switch(index, branches, flat)

    def init(params):
        return CountState(jnp.zeros((), jnp.int32))

    def update(grads, state, params=None):
        leaves, treedef = jax.tree_util.tree_flatten(grads)
        h = step_size * (1.0 + state.count.astype(leaves[0].dtype) / decay_steps) ** (-decay_power)
        step = direction(jnp.concatenate([jnp.ravel(x) for x in leaves])) * h
        out, start = [], 0
        for x in leaves:
            out.append(step[start:start + x.size].reshape(x.shape))
            start += x.size
        return jax.tree_util.tree_unflatten(treedef, out), CountState(state.count + 1)

    return optax.GradientTransformation(init, update)


def _check_precondition(P, norm: str):
    if P is None:
        if norm == "quadratic":
            raise InputError("norm quadratic needs a positive definite matrix P (precondition)")
        return None
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or not np.all(np.isfinite(P)) or not np.allclose(P, P.T):
        raise InputError(f"precondition must be a finite symmetric square matrix, got shape {P.shape}")
    if np.linalg.eigvalsh(P).min() <= 0:
        raise InputError("precondition must be positive definite")
    return P


@dataclass(frozen=True, eq=False)
class SteepestDescent(StepOptimizer):
    """Steepest descent w.r.t. ``norm`` on ∇ log L (see the module docstring).

    Attributes:
      norm: l2, l1, linf or quadratic.
      precondition: P (d, d) ≻ 0 for norm quadratic (the parameters flattened to one vector); with another
        norm it serves the quadratic branch of a swept ``hp["norm_index"]``.
      normalized: steps of length h_k in the norm instead of h_k‖g‖_*.
      decay_power: p ≥ 0 in h_k = h (1 + k/k₀)^(−p) (``hp["decay_power"]`` overrides it).
      decay_steps: k₀ > 0.
    """

    norm: str = "l2"
    precondition: np.ndarray | None = field(default=None, repr=False)
    normalized: bool = False
    decay_power: float = 0.0
    decay_steps: float = 1.0
    name: ClassVar[str] = "steepest-descent"
    uses_log_loss: ClassVar[bool] = True
    hparams: ClassVar[tuple[HParam, ...]] = (
        DECAY_POWER,
        HParam("norm_index", int, None, "index into l2, l1, linf, quadratic (sweeps the geometry in one program)",
               low=0, high=len(STEEPEST_NORMS) - 1),
        HParam("normalized", int, 0, "1: steps of length h_k in the norm, 0: h_k‖g‖_* (with norm_index)", low=0,
               high=1),
    )
    #: (norm, normalized) of the named special cases.
    fixed_norm: ClassVar[tuple[str, bool] | None] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.norm not in STEEPEST_NORMS:
            raise InputError(f"unknown steepest-descent norm '{self.norm}'; valid: {', '.join(STEEPEST_NORMS)}")
        object.__setattr__(self, "precondition", _check_precondition(self.precondition, self.norm))
        if not (math.isfinite(self.decay_power) and self.decay_power >= 0):
            raise InputError(f"decay power must be >= 0, got {self.decay_power!r}")
        if not (math.isfinite(self.decay_steps) and self.decay_steps > 0):
            raise InputError(f"decay steps must be positive, got {self.decay_steps!r}")
        if self.batch_size is not None:
            raise InputError(f"{self.name} is a full-batch method (no batch size)")
        if self.fixed_norm is not None and (self.norm, self.normalized) != self.fixed_norm:
            raise InputError(f"{self.name} is steepest descent w.r.t. {self.fixed_norm[0]}"
                             f"{' (normalized)' if self.fixed_norm[1] else ''}; use steepest-descent for other norms")

    def check_hparams(self, hp: Mapping[str, np.ndarray]) -> None:
        if "normalized" in hp and "norm_index" not in hp:
            raise InputError("a swept 'normalized' takes effect with a swept 'norm_index' (the geometry sweep)")

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        P_inv = None if self.precondition is None else jnp.asarray(np.linalg.inv(self.precondition))
        norm, unit = self.norm, self.normalized
        if "norm_index" in hp:  # a sweep over geometries in one program
            norm, unit = hp["norm_index"], self.hparam(hp, "normalized")
        return steepest(hp["step_size"], self.hparam(hp, "decay_power"), float(self.decay_steps),
                        norm, P_inv, unit)


@dataclass(frozen=True, eq=False)
class SignGD(SteepestDescent):
    """w ← w − h_k sign(∇L): normalized steepest descent w.r.t. l∞ (sign(∇ log L) = sign(∇L))."""

    norm: str = "linf"
    normalized: bool = True
    name: ClassVar[str] = "sign-gd"
    fixed_norm: ClassVar[tuple[str, bool] | None] = ("linf", True)
    hparams: ClassVar[tuple[HParam, ...]] = (DECAY_POWER,)

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        h = lambda k: -hp["step_size"] * (1.0 + k / self.decay_steps) ** (-self.hparam(hp, "decay_power"))  # noqa: E731
        return optax.chain(optax.scale_by_sign(), optax.scale_by_schedule(h))


@dataclass(frozen=True, eq=False)
class CoordinateDescent(SteepestDescent):
    """Greedy coordinate descent: steepest descent w.r.t. l1 (boosting with exact coordinate steps h‖g‖_∞)."""

    norm: str = "l1"
    name: ClassVar[str] = "coordinate-descent"
    fixed_norm: ClassVar[tuple[str, bool] | None] = ("l1", False)
    hparams: ClassVar[tuple[HParam, ...]] = (DECAY_POWER,)


@dataclass(frozen=True, eq=False)
class PreconditionedGD(SteepestDescent):
    """w ← w − h P⁻¹ ∇ log L: steepest descent w.r.t. ‖v‖_P = √(vᵀPv)."""

    norm: str = "quadratic"
    name: ClassVar[str] = "preconditioned-gd"
    fixed_norm: ClassVar[tuple[str, bool] | None] = ("quadratic", False)
    hparams: ClassVar[tuple[HParam, ...]] = (DECAY_POWER,)

    @classmethod
    def example(cls, model) -> "PreconditionedGD":
        """P = diag(1, 2, …, p) over the model's p parameters."""
        params = jax.eval_shape(lambda k: model.init({}, k), jax.random.PRNGKey(0))
        p = sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(params))
        return cls(precondition=np.diag(np.arange(1.0, p + 1.0)))


register_optimizer("steepest-descent", SteepestDescent)
register_optimizer("sign-gd", SignGD)
register_optimizer("coordinate-descent", CoordinateDescent)
register_optimizer("preconditioned-gd", PreconditionedGD)
