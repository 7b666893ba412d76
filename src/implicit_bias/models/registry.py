"""Models by name for the command line; each model module registers its own factory."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from implicit_bias.errors import InputError


@dataclass(frozen=True)
class ModelSpec:
    """``factory(n_features, **options) -> Model``; ``options`` are the CLI flags it reads."""

    name: str
    factory: Callable[..., Any]
    summary: str
    options: tuple[str, ...] = ()


_MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, factory: Callable[..., Any], *, summary: str = "",
                   options: tuple[str, ...] = ()) -> ModelSpec:
    spec = ModelSpec(name, factory, summary, options)
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
