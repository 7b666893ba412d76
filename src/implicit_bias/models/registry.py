"""Models by name for the command line; each model module registers its own factory.

A factory is ``factory(n_features, **options) -> Model``; its options are the keyword parameters it names
after ``n_features`` (read from its signature, so adding an option is one edit of the factory).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from implicit_bias.errors import InputError


def factory_options(factory: Callable[..., Any]) -> tuple[str, ...]:
    """The option names of ``factory(n_features, **options)``: its parameters after the first, in order.

    TypeError for a factory that hides its options behind ``**kwargs`` (give it an explicit signature).
    """
    params = list(inspect.signature(factory).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        name = getattr(factory, "__name__", factory)
        raise TypeError(f"model factory {name!r} must name its options, not take **kwargs")
    return tuple(p.name for p in params[1:] if p.kind is not inspect.Parameter.VAR_POSITIONAL)


@dataclass(frozen=True)
class ModelSpec:
    """``factory(n_features, **options) -> Model``; ``options`` are the CLI flags it reads (its keyword parameters).

    ``example() -> (model, problem)``: a tiny instance and data for the registry-wide contract tests, when the
    model at d = 4 with its defaults on a small regression problem is not one (a matrix model, say).
    """

    name: str
    factory: Callable[..., Any]
    summary: str
    example: Callable[[], tuple[Any, Any]] | None = None

    @property
    def options(self) -> tuple[str, ...]:
        return factory_options(self.factory)


_MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, factory: Callable[..., Any], *, summary: str = "",
                   example: Callable[[], tuple[Any, Any]] | None = None) -> ModelSpec:
    factory_options(factory)  # a factory without a readable signature fails here, at import
    spec = ModelSpec(name, factory, summary, example)
    _MODELS[name] = spec
    return spec


def available_models() -> dict[str, ModelSpec]:
    """Every registered model (imports every module of :mod:`implicit_bias.models`)."""
    import implicit_bias.models as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    return dict(sorted(_MODELS.items()))


def make_model(name: str, n_features: int, **options: Any) -> Any:
    """Build the model ``name``; options not given (None) keep the model's defaults."""
    models = available_models()
    if name not in models:
        raise InputError(f"unknown model '{name}'; valid: {', '.join(models)}")
    spec = models[name]
    given = {k: v for k, v in options.items() if v is not None}
    unused = sorted(set(given) - set(spec.options))
    if unused:
        raise InputError(f"model '{name}' does not take option(s): {', '.join('--' + u.replace('_', '-') for u in unused)}")
    return spec.factory(n_features, **given)
