"""Dropout on the hidden units of a two-layer factorization W = W_2 W_1, as a training algorithm.

Each step draws b ~ Bernoulli(θ)^r (r hidden units, retain probability θ) and takes an SGD step on the
objective of the dropped-out network, hidden unit i scaled by b_i/θ ("inverted" dropout):

    θ ← θ − h ∇ L(W_2 diag(b/θ) W_1)          (``expected=False``: dropout SGD)

The model at test time is the plain W = W_2 W_1 (the engine records it). With the square loss and
predictions linear in each unit's contribution g_i = f(W_2[:, i] W_1[i, :]) the expectation is exact:

    E_b L(W_2 diag(b/θ) W_1) = L(W) + λ Σ_i (1/2n)‖g_i‖²,   λ = (1 − θ)/θ,

and ``expected=True`` runs GD on that deterministic objective (for a fully observed matrix,
(1/2n)[‖M − UVᵀ‖² + λ Σ_i ‖u_i‖²‖v_i‖²] with U = W_2, V = W_1ᵀ).

Each step's mask comes from :meth:`Dropout.draw` (the engine's per-step random draws, keyed by the
configuration's seed and the step), which the objective built by ``modify_objective`` reads as
``hp["dropout_keep"]``. Params must be the pair (W_1 (r, d2), W_2 (d1, r)) of a depth-2
:class:`~implicit_bias.models.factorized.FactorizedModel` with width r = ``width``.

Swept hyper-parameters: ``hp["step_size"]`` and ``hp["retain"]`` (θ; 1 = no dropout).

References: Srivastava et al., "Dropout", JMLR 2014; Mianjy, Arora, Vidal, "On the implicit bias of
dropout", ICML 2018; Cavazza et al., "Dropout as a low-rank regularizer for matrix factorization",
AISTATS 2018.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import Objective, StepOptimizer


def _check_pair(params: Any, width: int) -> tuple[jax.Array, jax.Array]:
    if not (isinstance(params, (tuple, list)) and len(params) == 2 and params[0].shape[0] == width
            and params[1].shape[1] == width):
        shapes = [getattr(p, "shape", None) for p in jax.tree_util.tree_leaves(params)]
        raise InputError(f"dropout needs the factors (W_1 (r, d2), W_2 (d1, r)) of a depth-2 factorization "
                         f"of width r = {width}, got shapes {shapes}")
    return params[0], params[1]


def scale_units(params: Any, scale: jax.Array, width: int) -> tuple[jax.Array, jax.Array]:
    """(diag(scale) W_1, W_2): hidden unit i multiplied by scale_i."""
    W1, W2 = _check_pair(params, width)
    return (W1 * scale[:, None], W2)


@dataclass(frozen=True)
class Dropout(StepOptimizer):
    """Dropout SGD (or GD on its exact expectation) on a width-r two-layer factorization.

    Attributes:
      width: r, the number of hidden units (the factorization's width).
      retain: θ ∈ (0, 1], the probability of keeping a unit (``hp["retain"]`` overrides it).
      expected: train on E_b L (deterministic) instead of sampling masks.
    """

    width: int = 1
    retain: float = 0.5
    expected: bool = False
    name: ClassVar[str] = "dropout"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("retain", float, 0.5, "probability θ of keeping a hidden unit (1: no dropout)", low=0.0, high=1.0,
               low_open=True),
    )

    @classmethod
    def example(cls, model: Any) -> "Dropout | None":
        """Dropout acts on the hidden units of a two-layer factorization: None for any other model."""
        params = jax.eval_shape(lambda k: model.init({}, k), jax.random.PRNGKey(0))
        if not (isinstance(params, (tuple, list)) and len(params) == 2):
            return None
        width = params[0].shape[0]
        try:
            _check_pair(params, width)
        except InputError:
            return None
        return cls(width=width)

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 1:
            raise InputError(f"dropout width must be a positive integer (the hidden units), got {self.width!r}")
        if not (isinstance(self.retain, (int, float)) and math.isfinite(self.retain) and 0 < self.retain <= 1):
            raise InputError(f"retain probability must lie in (0, 1], got {self.retain!r}")

    def draw(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict[str, jax.Array]:
        """The step's mask b (r,): unit i kept with probability θ (none when training on the expectation)."""
        if self.expected:
            return {}
        return {"dropout_keep": jax.random.bernoulli(key, self.hparam(hp, "retain"), (self.width,))}

    def modify_objective(self, objective: Objective) -> Objective:
        width, expected = self.width, self.expected

        def dropped(params, X, y, hp):
            theta = self.hparam(hp, "retain")
            if expected:
                lam = (1.0 - theta) / theta
                units = jnp.eye(width, dtype=y.dtype)
                zeros = jnp.zeros_like(y)
                alone = jax.vmap(lambda e: objective(scale_units(params, e, width), X, zeros, hp))(units)
                return objective(params, X, y, hp) + lam * jnp.sum(alone)
            return objective(scale_units(params, hp["dropout_keep"].astype(y.dtype) / theta, width), X, y, hp)

        return dropped


register_optimizer("dropout", Dropout)
