"""Declared hyper-parameters: one table per component, read by the engine, the command line and the docs.

A component declares each quantity a sweep may vary once, where it lives:

    HParam("step_size", float, doc="step size h", low=0.0, low_open=True)

(name = field = sweep key = command-line option, type, default, constraint, one-line doc). One
validator, :func:`validate`, checks a sweep's values against the union of the tables of the pieces
that run it, and rejects a key nobody declared with the list of valid ones.

References: scikit-learn's ``_parameter_constraints`` (one validator for every estimator); optax's
``inject_hyperparams`` (hyper-parameters as state, so one compiled program sweeps them).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping

import numpy as np

from implicit_bias.encoding import encode_number
from implicit_bias.errors import InputError


@dataclass(frozen=True)
class HParam:
    """A sweepable quantity: ``kind`` is float or int; ``low``/``high`` bound it (open ends when ``*_open``)."""

    name: str
    kind: type = float
    default: float | int | None = None
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (float, int):
            raise TypeError(f"hyper-parameter {self.name}: kind must be float or int, got {self.kind}")

    @property
    def constraint(self) -> str:
        """The admissible values in words, e.g. ``(0, inf)`` or ``integer in [1, inf)``."""
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low is None or self.low_open else "["
        right = ")" if self.high is None or self.high_open else "]"
        return ("integer in " if self.kind is int else "") + f"{left}{lo}, {hi}{right}"

    def check(self, values: Any, owner: str = "") -> np.ndarray:
        """``values`` as a float64/int64 array, or an :class:`InputError` naming the first bad value."""
        where = f"{owner} " if owner else ""
        try:
            arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError):
            raise InputError(f"{where}hyper-parameter '{self.name}' takes numbers, got {values!r}") from None
        bad = ~np.isfinite(arr)
        if self.kind is int:
            bad |= arr != np.round(arr)
        if self.low is not None:
            bad |= (arr <= self.low) if self.low_open else (arr < self.low)
        if self.high is not None:
            bad |= (arr >= self.high) if self.high_open else (arr > self.high)
        if np.any(bad):
            raise InputError(f"{where}hyper-parameter '{self.name}' must be {self.constraint}, got {arr[bad][0]:g}")
        return arr.astype(np.int64) if self.kind is int else arr

    def describe(self) -> dict[str, Any]:
        default = self.default
        if isinstance(default, float) and not math.isfinite(default):
            default = str(default)
        return {"name": self.name, "type": self.kind.__name__, "default": default,
                "constraint": self.constraint, "doc": self.doc}


def table(*tables: Iterable[HParam]) -> dict[str, HParam]:
    """The union of declaration tables, by name; the same name declared twice must agree."""
    out: dict[str, HParam] = {}
    for t in tables:
        for h in t:
            if h.name in out and out[h.name] != h:
                raise TypeError(f"hyper-parameter '{h.name}' declared twice, differently")
            out[h.name] = h
    return out


def validate(hp: Mapping[str, Any], declared: Mapping[str, HParam], owner: str = "") -> dict[str, np.ndarray]:
    """Each value checked against its declaration; a key nobody declared is an error listing the valid ones."""
    unknown = sorted(set(hp) - set(declared))
    if unknown:
        where = f" for {owner}" if owner else ""
        raise InputError(f"unknown hyper-parameter(s) {', '.join(repr(k) for k in unknown)}{where}; "
                         f"valid: {', '.join(sorted(declared)) or 'none'}")
    return {k: declared[k].check(v) for k, v in hp.items()}


class Declared:
    """Base of every model and optimizer: a registry ``name`` and the table ``hparams`` of its swept quantities.

    A declared quantity is read inside the compiled program with :meth:`hparam`: the sweep's traced value
    ``hp[name]`` when the sweep sets it, else the component's own value (its field of that name, or the
    declaration's default). So ``Momentum(momentum=0.5)`` and ``hparams={"momentum": [0.5, 0.9]}`` mean the
    same quantity, spelled the same way on the command line (``--momentum``).
    """

    name: ClassVar[str] = ""
    hparams: ClassVar[tuple[HParam, ...]] = ()

    def declared(self) -> dict[str, HParam]:
        """The declaration table by name (an instance may extend its class's table: a user's own model)."""
        return table(self.hparams)

    def own_value(self, name: str) -> Any:
        """The component's own value of the declared quantity ``name`` (its field, else the declared default)."""
        spec = self.declared()[name]
        fields = {f.name for f in dataclasses.fields(self)} if dataclasses.is_dataclass(self) else set()
        return getattr(self, name) if name in fields else spec.default

    def hparam(self, hp: Mapping[str, Any], name: str) -> Any:
        """``hp[name]`` when swept, else :meth:`own_value` (``name`` must be declared)."""
        return hp[name] if name in hp else self.own_value(name)

    def check_hparams(self, hp: Mapping[str, np.ndarray]) -> None:
        """Checks across quantities that one declaration cannot state (each value is already within its
        declared constraint); the default accepts every sweep."""


def options(component: Any) -> dict[str, Any]:
    """The construction options of a component: its dataclass fields that hold numbers, strings or None."""
    out: dict[str, Any] = {}
    if dataclasses.is_dataclass(component):
        for f in dataclasses.fields(component):
            v = getattr(component, f.name)
            if isinstance(v, (bool, int, float, str)) or v is None:
                out[f.name] = encode_number(v) if isinstance(v, float) else v
            elif isinstance(v, tuple) and all(isinstance(t, (int, float, str)) for t in v):
                out[f.name] = list(v)
    return out


def describe(component: Declared) -> dict[str, Any]:
    """JSON-able description: name, one-line summary, construction options, the hyper-parameter table."""
    doc = (type(component).__doc__ or "").strip().splitlines()
    rows = []
    for h in component.hparams:
        row = h.describe()
        value = component.own_value(h.name) if isinstance(component, Declared) else h.default
        row["default"] = encode_number(value) if isinstance(value, float) else value
        rows.append(row)
    return {"name": component.name, "summary": doc[0] if doc else "", "options": options(component),
            "hparams": rows}
