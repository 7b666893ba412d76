"""What a model is: ``init(hp, key) -> params``, ``predict(params, X) -> f``, ``end_to_end(params)``.

Hyper-parameters that a sweep varies (``init_scale``, ``init_shape``, ...) arrive in the
dict ``hp`` as traced scalars, so one compiled program serves the whole sweep.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

import jax

Params = Any


@runtime_checkable
class Model(Protocol):
    """A parameterization of predictors.

    Attributes:
      name: registry name (``"linear"``, ``"diagonal"``, ...).
      n_features: input dimension d.
    """

    name: str
    n_features: int

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> Params:
        """Initial parameters for one configuration (hp holds scalars)."""

    def predict(self, params: Params, X: jax.Array) -> jax.Array:
        """Predictions f (n,) on inputs X (n, d)."""

    def end_to_end(self, params: Params) -> jax.Array:
        """The predictor the parameters express (a vector w (d,) for linear-in-x models)."""


def describe(model: Any) -> dict[str, Any]:
    """JSON-able description of a model (its dataclass fields other than arrays)."""
    import dataclasses

    import numpy as np

    out: dict[str, Any] = {"name": getattr(model, "name", type(model).__name__)}
    if dataclasses.is_dataclass(model):
        for f in dataclasses.fields(model):
            v = getattr(model, f.name)
            if isinstance(v, (int, float, str, bool)) or v is None:
                out[f.name] = v
            elif isinstance(v, tuple) and all(isinstance(t, (int, float, str)) for t in v):
                out[f.name] = list(v)
            elif isinstance(v, np.ndarray):
                out[f.name] = f"array{tuple(v.shape)}"
    return out
