"""The loss-time-changed gradient flow, with a clock that integrates log t along the way.

Gradient flow θ'(t) = −∇L(θ) on an exp-tailed loss needs t ~ e^{margin} to show its
asymptotics. Reparameterizing by ds = L dt gives θ'(s) = −∇L/L = −∇ log L, the same path
at a speed that keeps up. To read the path against the original time, the clock
c = log t is integrated alongside: dc/ds = (dt/ds)/t = 1/(L t) = exp(−log L − c).

Implementation: :class:`ClockedModel` appends the scalar c to any model's parameters and
:class:`ClockedFlow` adds −c · stopgrad(exp(−log L − c)) to the objective, whose gradient
flow moves c at exactly that rate and leaves θ untouched.

References: Soudry et al. 2018; Nacson, Lee, Gunasekar, Savarese, Srebro, Soudry 2019
(Convergence of gradient descent on separable data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp

from implicit_bias.models.base import Model, ModelWrapper
from implicit_bias.optim.flow import Flow


@dataclass(frozen=True, eq=False)
class ClockedModel(ModelWrapper):
    """Wraps ``base``: params {"theta": base params, "log_t": scalar}, starting at t = t0.

    The clock starts at log t0 rather than at t = 0 (log 0 = −∞); with θ(t0) = θ(0) the
    error is O(t0 ‖∇L‖), negligible for t0 = 1e-6.
    """

    base: Model
    log_t0: float = -13.815510557964274  # log(1e-6)
    name: ClassVar[str] = "clocked"

    @property
    def n_features(self) -> int:
        return self.base.n_features

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        return {"theta": self.base.init(hp, key), "log_t": jnp.asarray(self.log_t0)}

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        return self.base.predict(params["theta"], X)

    def end_to_end(self, params: dict) -> jax.Array:
        return self.base.end_to_end(params["theta"])


@dataclass(frozen=True)
class ClockedFlow(Flow):
    """dθ/ds = −∇ log L(θ) together with d(log t)/ds = exp(−log L − log t)."""

    time_change: str | None = "loss"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.time_change != "loss":
            raise ValueError("ClockedFlow integrates the loss-time-changed flow (time_change='loss')")

    def modify_objective(self, objective):
        def clocked(params, X, y, hp):
            log_loss = objective(params, X, y, hp)
            rate = jax.lax.stop_gradient(jnp.exp(-log_loss - params["log_t"]))
            return log_loss - params["log_t"] * rate

        return clocked
