"""What a model is: ``init(hp, key) -> params``, ``predict(params, X) -> f``, ``end_to_end(params)``.

Every model derives from :class:`Model` and declares the quantities a sweep may vary (``init_scale``,
``init_shape``, ``depth``, ...) in its ``hparams`` table (:class:`~implicit_bias.hparams.HParam`). They arrive
in the dict ``hp`` as traced scalars, so one compiled program serves the whole sweep; a model reads them with
``self.hparam(hp, "init_scale")`` (the swept value, else its own field).
"""

from __future__ import annotations

from typing import Any, Mapping

import jax

from implicit_bias.hparams import Declared, HParam

Params = Any

#: the initialization scale α, declared by most models (each states its own constraint when it differs).
INIT_SCALE = HParam("init_scale", float, doc="initialization scale α", low=0.0)


class Model(Declared):
    """A parameterization of predictors: parameters θ (a pytree) ↦ predictions f(X; θ) (n,).

    Attributes:
      name: registry name (``"linear"``, ``"diagonal"``, ...).
      n_features: input dimension d.
      hparams: the declared swept quantities (``init_scale``, ...).
    """

    n_features: int

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> Params:
        """Initial parameters for one configuration (hp holds scalars)."""
        raise NotImplementedError(f"model {type(self).__name__} defines no init")

    def predict(self, params: Params, X: jax.Array) -> jax.Array:
        """Predictions f (n,) on inputs X (n, d)."""
        raise NotImplementedError(f"model {type(self).__name__} defines no predict")

    def end_to_end(self, params: Params) -> jax.Array:
        """The predictor the parameters express (a vector w (d,) for linear-in-x models, a matrix W for
        matrix models)."""
        raise NotImplementedError(f"model {type(self).__name__} defines no end_to_end")

    def trainable(self, params: Params) -> Params:
        """The part of the parameters that training moves (all of them by default)."""
        return params

    def with_trainable(self, params: Params, trainable: Params) -> Params:
        """``params`` with its trainable part replaced by ``trainable`` (the inverse of :meth:`trainable`)."""
        return trainable

    def init_summary(self, key: jax.Array) -> dict[str, float]:
        """The initial scale in the model's own convention (``train --json`` reports it; none by default)."""
        return {}

    @property
    def homogeneity_degree(self) -> int | None:
        """D with f(cθ) = c^D f(θ) for every c > 0, when the model is positively homogeneous; else None."""
        return None


class ModelWrapper(Model):
    """A model built on another one, ``self.base``: its declared hyper-parameters, their values and the checks
    across them are the base's (the linearized model, the clocked model of the loss-time flow)."""

    base: Model

    @property
    def hparams(self) -> tuple[HParam, ...]:  # type: ignore[override]
        return self.base.hparams

    def declared(self) -> dict[str, HParam]:
        return self.base.declared()

    def own_value(self, name: str) -> Any:
        return self.base.own_value(name)

    def check_hparams(self, hp: Mapping[str, Any]) -> None:
        self.base.check_hparams(hp)
