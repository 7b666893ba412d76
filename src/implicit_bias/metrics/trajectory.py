"""The parameter trajectory as a record function for :func:`implicit_bias.engine.train`.

``ParamsRecord(model, loss)`` records, at every record point, the flattened parameter vector
θ (P,) and the full-batch training loss L(θ) = loss(model.predict(θ, X), y): what a backward-error
comparison of an optimizer with its modified flow needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import jax
from jax.flatten_util import ravel_pytree


@dataclass(frozen=True)
class ParamsRecord:
    """Records {"theta": θ flattened (P,), "loss": L(θ)} (hashable, so the engine keeps its compiled program)."""

    model: Any
    loss: Any

    def __call__(self, params: Any, hp: Mapping[str, jax.Array], data: Mapping[str, jax.Array]) -> dict:
        return {"theta": ravel_pytree(params)[0],
                "loss": self.loss.value(self.model.predict(params, data["X"]), data["y"])}
