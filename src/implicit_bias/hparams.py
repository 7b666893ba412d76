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

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

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
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
        where = f"{owner} " if owner else ""
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
    return {k: declared[k].check(v, owner) for k, v in hp.items()}
