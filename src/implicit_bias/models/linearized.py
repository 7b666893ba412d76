"""The first-order Taylor expansion of a model around its initialization: the kernel regime made explicit.

    f_lin(θ; x) = f(θ0; x) + J(θ0; x)(θ − θ0),   J(θ0; x) = ∂f(θ0; x)/∂θ,

computed with one ``jax.jvp`` (no Jacobian is formed). Trained by the same engine, f_lin is
linear in θ: gradient descent on the square loss keeps θ − θ0 in the row space of J(θ0; X)
and converges to θ0 + J⁺(y − f(θ0; X)), whose predictions are the kernel regression with the
empirical NTK K = J Jᵀ (see :func:`implicit_bias.references.kernel.ntk_kernel_interpolator`).

Params {"theta": θ, "theta0": θ0}: θ0 rides along with every configuration of a sweep (so
``init_scale``, ``output_scale`` and ``seed`` can be swept) and is held fixed by a stop_gradient.
θ0 is the base model's init with the same hp and key (the same point the base network starts
from), or the fixed ``params0`` when given.

References: Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein, Pennington, "Wide neural networks
of any depth evolve as linear models under gradient descent", NeurIPS 2019; Chizat, Oyallon,
Bach, "On lazy training in differentiable programming", NeurIPS 2019.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError
from implicit_bias.models.base import Model, ModelWrapper
from implicit_bias.models.mlp import make_mlp
from implicit_bias.models.registry import register_model


@dataclass(frozen=True, eq=False)
class LinearizedModel(ModelWrapper):
    """f_lin(θ) = f(θ0) + J(θ0)(θ − θ0) for a base model (any :class:`Model`).

    The swept quantities are the base model's (they reach ``base.init``): the class declares an
    :class:`MLP`'s (the registered linearization), an instance its own base's table and values.
    """

    base: Model
    params0: Any = field(default=None, repr=False)
    name: ClassVar[str] = "linearized"
    def __post_init__(self) -> None:
        if not isinstance(self.base, Model):
            raise InputError(f"the linearized model needs a base Model, got {type(self.base).__name__}")


    @property
    def n_features(self) -> int:
        return self.base.n_features

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        """{"theta": θ0, "theta0": θ0}, θ0 = base.init(hp, key) unless ``params0`` was given."""
        theta0 = self.base.init(hp, key) if self.params0 is None else jax.tree_util.tree_map(jnp.asarray, self.params0)
        return {"theta": theta0, "theta0": theta0}

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        """f(θ0; X) + J(θ0; X)(θ − θ0) (n,)."""
        theta0 = jax.lax.stop_gradient(params["theta0"])
        delta = jax.tree_util.tree_map(lambda a, b: a - b, params["theta"], theta0)
        f0, df = jax.jvp(lambda p: self.base.predict(p, X), (theta0,), (delta,))
        return f0 + df

    def end_to_end(self, params: dict) -> jax.Array:
        """The base model's end-to-end view of θ (for an MLP: the flattened parameters)."""
        return self.base.end_to_end(params["theta"])

    def base_params(self, params: dict) -> Any:
        """θ as the base model's parameters (to evaluate the network itself at the linear model's point)."""
        return params["theta"]


def make_linearized(n_features: int, **options: Any) -> LinearizedModel:
    """The linearization of ``mlp`` with the given options (the mlp model's, see its signature)."""
    return LinearizedModel(make_mlp(n_features, **options))


#: the mlp model's options, so the registry reads them from this factory's signature
make_linearized.__signature__ = inspect.signature(make_mlp).replace(  # type: ignore[attr-defined]
    return_annotation="LinearizedModel")

register_model("linearized", make_linearized,
               summary="first-order Taylor expansion of an mlp around its init (kernel regime)")
