"""What an optimizer is: the two families the engine runs, step methods and flows, on one base.

:class:`Optimizer` declares everything the engine reads (a member with a default: nothing is probed):

* ``uses_log_loss``: differentiate log L instead of L (∇ log L = ∇L / L);
* ``modify_objective(objective)``: the objective actually descended (e.g. L + λ‖∇L‖²; identity by default);
* ``perturb_targets(y, hp, key)``: the targets one step sees (label noise; identity by default);
* ``draw(hp, key)``: random quantities one step needs besides its minibatch (a dropout mask), merged into
  the step's ``hp`` under the names it returns, where the objective built by ``modify_objective`` reads them;
* ``batch_size`` and ``supports_swept_batch``: minibatching (step methods);
* ``bind(model)``: the optimizer for a given model, for the few whose rule involves the model itself (natural
  gradient's Jacobian metric); the engine calls it once, so users never pass the model twice;
* ``hparams``: the declared swept quantities (:class:`~implicit_bias.hparams.HParam`), read with
  ``self.hparam(hp, name)``; ``check_hparams(hp)`` for checks across quantities.

:class:`StepOptimizer` adds ``transform(hp)``, an optax transformation; the step size (and any other swept
hyper-parameter) is read from ``hp`` inside the vmapped program, so it is a traced array leaf rather than a
closed-over float: one compiled program serves a whole sweep of step sizes. Flows
(:class:`~implicit_bias.optim.flow.Flow`) add an ODE solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import jax
import optax

from implicit_bias.errors import InputError
from implicit_bias.hparams import Declared

#: dataclass-field metadata of a field that holds a component, not a command-line option (a wrapped base, a model).
NOT_AN_OPTION = {"option": False}

#: objective(params, X, y, hp) -> scalar.
Objective = Callable[[Any, jax.Array, jax.Array, Mapping[str, jax.Array]], jax.Array]


class Optimizer(Declared):
    """Base of every optimizer (see the module docstring for the members the engine reads)."""

    #: "steps" (a step method) or "flow" (an ODE integrated to a time horizon).
    kind: ClassVar[str] = "steps"
    #: minibatch size (step methods; sampling without replacement each epoch); None = full batch.
    batch_size: int | None = None
    #: False when the optimizer cannot take a batch size swept in one program (``hparams={"batch_size": ...}``).
    supports_swept_batch: ClassVar[bool] = True

    @property
    def uses_log_loss(self) -> bool:
        """When True the engine differentiates log L instead of L."""
        return False

    def modify_objective(self, objective: Objective) -> Objective:
        """The objective this optimizer descends, built from the loss objective (identity by default)."""
        return objective

    def perturb_targets(self, y: jax.Array, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        """Targets seen at one step (identity; label-noise SGD overrides it)."""
        return y

    def draw(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict[str, jax.Array]:
        """Random quantities of one step (none by default), for the objective: name -> array."""
        return {}

    def bind(self, model: Any) -> "Optimizer":
        """This optimizer for ``model`` (itself, unless its update rule involves the model)."""
        return self

    @classmethod
    def example(cls, model: Any) -> "Optimizer | None":
        """A small instance for the registry-wide contract tests, for ``model``: the defaults; an optimizer
        whose construction needs more (the model itself, a matrix of the parameters' size) overrides this, and
        returns None for a model it does not apply to."""
        return cls()


@dataclass(frozen=True)
class StepOptimizer(Optimizer):
    """A step method: θ_{k+1} = θ_k + update(∇ objective(θ_k)), the update an optax transformation.

    Attributes:
      batch_size: minibatch size (sampling without replacement each epoch); None = full batch.
    """

    #: keyword-only, so that e.g. ``Momentum(0.5)`` sets the momentum, not the batch size.
    batch_size: int | None = field(default=None, kw_only=True)
    name: ClassVar[str] = "gd"

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size <= 0:
            raise InputError(f"batch size must be positive, got {self.batch_size}")

    def transform(self, hp: Mapping[str, jax.Array]) -> optax.GradientTransformation:
        """The optax transformation for one configuration."""
        return optax.sgd(hp["step_size"])
