"""What a reference is: an explicit solution w with its regularizer value, solver status and certificate.

Every solver in this package returns a :class:`Reference`; every module registers a
:class:`ReferenceSpec` under its command-line name, and :func:`available` finds them all
(a new module in this folder registers itself, nothing else needs editing).

References: Boyd & Vandenberghe, Convex Optimization (2004), §5.5 (KKT conditions as certificates).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from implicit_bias.encoding import to_jsonable
from implicit_bias.errors import InputError


@dataclass(frozen=True)
class Reference:
    """An explicit reference solution.

    Attributes:
      name: registry name ("min-l2", "max-margin", ...).
      solution: the explicit solution w, shape (d,).
      objective: value of the regularizer at the solution (‖w‖₂, ‖w‖₁, Q_α(w), ...).
      status: solver status, "optimal" when certified.
      arrays: extra arrays worth saving (support, dual, w_min/w_max, ...).
      info: JSON-able scalars (margin, unique, residual, solver, kkt_residual, ...).
    """

    name: str
    solution: np.ndarray
    objective: float
    status: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_npz(self) -> dict[str, np.ndarray]:
        """Arrays for ``np.savez``: {"w": solution, **arrays, "objective": array(objective)}."""
        return {"w": np.asarray(self.solution), **{k: np.asarray(v) for k, v in self.arrays.items()},
                "objective": np.asarray(self.objective, dtype=float)}

    def summary(self) -> dict[str, Any]:
        """JSON-able description: name, status, objective, ‖w‖₂ and the info scalars."""
        return to_jsonable({"name": self.name, "status": self.status, "objective": self.objective,
                            "norm": float(np.linalg.norm(self.solution)), **self.info})


@dataclass(frozen=True)
class ReferenceSpec:
    """A registered reference: ``compute(problem, **options) -> Reference``.

    Attributes:
      name: command-line name.
      summary: one line for listings.
      compute: takes a Problem and the options below as keywords (None means "not given").
      options: option names accepted from the command line, e.g. ("init_scale", "depth", "init_shape").
      example: ``example() -> (problem, options)``, tiny data on which the reference certifies its answer (for the
        registry-wide contract tests); None: a small regression problem with no options.
    """

    name: str
    summary: str
    compute: Callable[..., Reference]
    options: tuple[str, ...] = ()
    example: Callable[[], tuple[Any, dict[str, Any]]] | None = None


_REGISTRY: dict[str, ReferenceSpec] = {}


def register(spec: ReferenceSpec) -> ReferenceSpec:
    """Add ``spec`` to the registry (called once at import of the module that defines it)."""
    if spec.name in _REGISTRY and _REGISTRY[spec.name].compute is not spec.compute:
        raise ValueError(f"reference '{spec.name}' registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def available() -> dict[str, ReferenceSpec]:
    """Every registered reference, by name (imports every module of this package first)."""
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return dict(sorted(_REGISTRY.items()))


def get_reference(name: str) -> ReferenceSpec:
    """The registered reference called ``name``; InputError listing the valid names otherwise."""
    refs = available()
    if name not in refs:
        raise InputError(f"unknown reference '{name}'; valid names: {', '.join(refs)}")
    return refs[name]


def given(options: dict[str, Any], allowed: tuple[str, ...], name: str) -> dict[str, Any]:
    """The options that were given (not None), after rejecting names ``name`` does not take."""
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise InputError(f"reference '{name}' does not take {', '.join(extra)} "
                         f"(it takes: {', '.join(allowed) or 'no options'})")
    return {k: v for k, v in options.items() if v is not None}


def check_data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """X as a finite float64 (n, d) array and y as a finite float64 (n,) array, or InputError."""
    try:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as err:
        raise InputError(f"X and y must be numeric arrays: {err}") from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"X must be a non-empty (n, d) matrix, got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise InputError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError("X and y must be finite (found NaN or inf)")
    return X, y
