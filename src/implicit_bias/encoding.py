"""The one JSON encoding of the package: plain values, NaN -> null, ±inf -> "inf"/"-inf".

JSON has no non-finite numbers; a tolerance or bound of ±inf must survive a round trip (claims are
re-read by ``report``), so infinities are kept as strings and only NaN (no value) becomes null.
Every JSON the package writes (run directories, ``--json`` outputs, benchmark tables, reference
summaries) goes through :func:`to_jsonable`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import math
from pathlib import PurePath
from typing import Any

import numpy as np


def encode_number(x: Any) -> Any:
    """A float for JSON: NaN -> None, ±inf -> "inf"/"-inf", finite numbers as they are."""
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def decode_number(v: Any) -> float:
    """The inverse of :func:`encode_number`: None -> NaN, "inf"/"-inf" -> ±inf."""
    return float("nan") if v is None else float(v)


def to_jsonable(value: Any) -> Any:
    """A plain-JSON copy of ``value`` (dict keys become strings, tuples lists, floats by :func:`encode_number`).

    Handles numpy and jax scalars and arrays, dataclasses, enums, paths, dates and sets (sorted);
    anything else falls back to ``str(value)``, so that writing a finished run never fails on an
    exotic configuration value.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return encode_number(float(value))
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if hasattr(value, "__array__"):  # jax arrays and friends
        return to_jsonable(np.asarray(value))
    return str(value)


def dumps(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``value`` as JSON text through :func:`to_jsonable` (never NaN/Infinity, which JSON lacks)."""
    separators = None if indent is not None else (",", ":")
    return json.dumps(to_jsonable(value), indent=indent, sort_keys=sort_keys, separators=separators,
                      ensure_ascii=False, allow_nan=False)
