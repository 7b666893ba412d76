"""Optimizers: step-based ones (optax transformations) and gradient flow (diffrax)."""

from __future__ import annotations

from implicit_bias.errors import InputError
from implicit_bias.optim.base import Optimizer, StepOptimizer
from implicit_bias.optim.flow import Flow
from implicit_bias.optim.steps import GD, SGD, Adam, Momentum, Nesterov, NormalizedGD

#: the optimizers by command-line name; every one derives from :class:`Optimizer`.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GD,
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
    "normalized-gd": NormalizedGD,
    "flow": Flow,
}


def register_optimizer(name: str, cls: type) -> type:
    """Add an optimizer class to the command line's ``--optimizer`` choices (TypeError unless it is an
    :class:`Optimizer`)."""
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise TypeError(f"optimizer '{name}' must be a subclass of Optimizer, got {cls!r}")
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



def _import_all() -> None:
    """Import every module of this package: each registers its optimizers by name (no list to keep)."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_import_all()

__all__ = ["Optimizer", "StepOptimizer", "Flow", "GD", "SGD", "Momentum", "Nesterov", "Adam", "NormalizedGD",
           "OPTIMIZERS", "make_optimizer", "register_optimizer"]
