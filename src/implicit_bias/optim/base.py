"""Step-based optimizers as factories of optax transformations.

The step size (and any other swept hyper-parameter) is read from ``hp`` inside the
vmapped program, so it is a traced array leaf rather than a closed-over float: one
compiled program serves a whole sweep of step sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import jax
import optax

from implicit_bias.errors import InputError


@dataclass(frozen=True)
class StepOptimizer:
    """Base class: θ_{k+1} = θ_k + update(∇ objective(θ_k)).

    Attributes:
      batch_size: minibatch size (sampling without replacement each epoch); None = full batch.
    """

    #: keyword-only, so that e.g. ``Momentum(0.5)`` sets the momentum, not the batch size.
    batch_size: int | None = field(default=None, kw_only=True)
    name: ClassVar[str] = "gd"
    kind: ClassVar[str] = "steps"
    #: when True the engine differentiates log L instead of L (∇ log L = ∇L / L).
    uses_log_loss: ClassVar[bool] = False
    #: hyper-parameters that may be swept through ``hp`` besides ``step_size``.
    swept: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size <= 0:
            raise InputError(f"batch size must be positive, got {self.batch_size}")

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        """The optax transformation for one configuration."""
        return optax.sgd(hp["step_size"])

    def perturb_targets(self, y: jax.Array, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        """Targets seen at one step (identity; label-noise SGD overrides it)."""
        return y

    def describe(self) -> dict:
        return {"name": self.name, "batch_size": self.batch_size}
