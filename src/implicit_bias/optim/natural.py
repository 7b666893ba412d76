"""Natural-gradient descent for the Euclidean metric on the training predictions (damped Gauss–Newton).

With J = ∂f/∂θ (n × p) the Jacobian of the predictions f (n,) on the (mini)batch and G = JᵀJ/n the
Gauss–Newton matrix of the mean square loss, one step is

    θ ← θ − h (G + δI)⁺ ∇_θ L(θ),   computed as   θ ← θ − h V diag(1/(s²/n + δ)) Vᵀ ∇_θ L

with J = U diag(s) Vᵀ (the pseudo-inverse form: directions outside rowspan(J), where ∇_θ L = Jᵀ∇_f L has
no component, are not amplified by 1/δ; singular values below 1e-6 of the largest count as zero). With δ → 0 and J of full row rank this is
θ ← θ − h J⁺ (n ∇_f L): the predictions move as f ← f − h n∇_f L + O(h²), the same path in function space
for every parameterization of the same predictor class (square loss: f ← f − h(f − y), a Gauss–Newton
step; logistic loss: function-space gradient descent on Σ_i ℓ_i). Any loss works: the step uses the
engine's gradient ∇_θ L and the model's Jacobian.

The optimizer needs the model to form J: the engine binds the model it trains (:meth:`NaturalGD.bind`), so
``NaturalGD(damping=δ)`` and ``--optimizer natural-gd`` work as they are. Implementation: the objective
becomes ⟨stopgrad(d(θ)), θ⟩ whose gradient is the step direction d(θ) = (G + δI)⁺∇_θ L, and plain GD runs on it.

References: Amari, "Natural gradient works efficiently in learning", Neural Computation 1998; Martens,
"New insights and perspectives on the natural gradient method", JMLR 2020; Zhang, Martens, Grosse,
"Fast convergence of natural gradient descent for overparameterized neural networks", NeurIPS 2019;
Kerekes, Mészáros, Huszár, "Depth without the magic: inductive bias of natural gradient descent", 2021.
"""

from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.optim import register_optimizer
from implicit_bias.optim.base import NOT_AN_OPTION, StepOptimizer


#: eigenvalues of JJᵀ below this fraction of the largest are treated as zero (singular values of J below
#: 1e-6 of the largest): the pseudo-inverse cut-off of the Gram-matrix form.
GRAM_RCOND = 1e-12


def natural_direction(predict, objective, params: Any, X: jax.Array, y: jax.Array, hp: Mapping[str, jax.Array],
                      damping: Any) -> Any:
    """d = (JᵀJ/n + δI)⁺ ∇_θ L as a pytree like ``params``; ``predict(params, X)`` gives f (n,).

    Computed in sample space from the Gram matrix JJᵀ = U diag(λ) Uᵀ (n × n, λ = s²): with V = JᵀU λ^{−1/2},
    d = V diag(1/(λ/n + δ)) Vᵀ g = Jᵀ U diag(1/(λ(λ/n + δ))) Uᵀ J g (an n × n eigendecomposition per step
    instead of an SVD of the n × p Jacobian).
    """
    flat, unravel = ravel_pytree(params)
    jac = jax.jacobian(lambda v: predict(unravel(v), X))(flat)          # (n, p)
    grad_flat, _ = ravel_pytree(jax.grad(objective)(params, X, y, hp))
    n = jac.shape[0]
    lam, U = jnp.linalg.eigh(jac @ jac.T)
    keep = lam > jnp.max(lam) * GRAM_RCOND
    safe = jnp.where(keep, lam, 1.0)
    inv = jnp.where(keep, 1.0 / (safe * (safe / n + damping)), 0.0)
    return unravel(jac.T @ (U @ (inv * (U.T @ (jac @ grad_flat)))))


@dataclass(frozen=True, eq=False)
class NaturalGD(StepOptimizer):
    """θ ← θ − h (JᵀJ/n + δI)⁺ ∇L: see the module docstring.

    Attributes:
      model: the model whose Jacobian defines the metric (required to train).
      damping: δ ≥ 0, added to the eigenvalues s²/n of JᵀJ/n (``hp["damping"]`` overrides it).
    """

    model: Any = field(default=None, kw_only=True, metadata=NOT_AN_OPTION)
    damping: float = field(default=1e-10, kw_only=True)
    name: ClassVar[str] = "natural-gd"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("damping", float, 1e-10, "damping δ added to the eigenvalues of JᵀJ/n", low=0.0),
    )
    supports_swept_batch: ClassVar[bool] = False

    @classmethod
    def example(cls, model: Any) -> "NaturalGD":
        return cls()

    def bind(self, model: Any) -> "NaturalGD":
        """The natural gradient of ``model``'s Jacobian metric (the engine binds the model it trains)."""
        return self if self.model is model else dataclasses.replace(self, model=model)

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            value = float(self.damping)
        except (TypeError, ValueError):
            raise InputError(f"natural-gd: damping must be a number, got {self.damping!r}") from None
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"natural-gd: damping must be a finite number >= 0, got {self.damping}")

    def modify_objective(self, objective):
        if self.model is None:
            raise InputError("natural-gd needs the model to form its Jacobian: train binds it "
                             "(NaturalGD().bind(model) outside the engine)")
        predict = self.model.predict

        def natural(params, X, y, hp):
            direction = natural_direction(predict, objective, params, X, y, hp, self.hparam(hp, "damping"))
            direction = jax.lax.stop_gradient(direction)
            return sum(jnp.vdot(d, p) for d, p in zip(jax.tree_util.tree_leaves(direction),
                                                      jax.tree_util.tree_leaves(params)))

        return natural


register_optimizer("natural-gd", NaturalGD)
