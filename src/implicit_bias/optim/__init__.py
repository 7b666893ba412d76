"""Optimizers: step-based ones (optax transformations) and gradient flow (diffrax)."""

from __future__ import annotations

from implicit_bias.errors import InputError
from implicit_bias.optim.base import StepOptimizer
from implicit_bias.optim.flow import Flow
from implicit_bias.optim.steps import GD, SGD, Adam, Momentum, Nesterov, NormalizedGD

OPTIMIZERS = {
    "gd": GD,
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
    "normalized-gd": NormalizedGD,
    "flow": Flow,
}


def register_optimizer(name: str, cls: type) -> type:
    """Add an optimizer class to the command line's ``--optimizer`` choices."""
    OPTIMIZERS[name] = cls
    return cls


def make_optimizer(name: str, **options):
    """The optimizer called ``name`` built with ``options`` (None values are dropped)."""
    if name not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{name}'; valid: {', '.join(OPTIMIZERS)}")
    given = {k: v for k, v in options.items() if v is not None}
    try:
        return OPTIMIZERS[name](**given)
    except TypeError as err:
        raise InputError(f"optimizer '{name}': {err}") from None


# Modules that register further optimizers by name; imported here so every name is available.
from implicit_bias.optim import label_noise, mirror, modified, normalized_decay  # noqa: E402,F401

__all__ = ["StepOptimizer", "Flow", "GD", "SGD", "Momentum", "Nesterov", "Adam", "NormalizedGD",
           "OPTIMIZERS", "make_optimizer", "register_optimizer"]
