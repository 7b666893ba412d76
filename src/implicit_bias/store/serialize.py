"""JSON-safe values, run fingerprints and the software/machine a run was made on.

A configuration may hold numpy scalars, arrays, tuples, paths or nested dataclasses;
:func:`to_jsonable` turns all of them into plain JSON (tuples become lists, non-finite
floats become ``null`` / ``"inf"`` / ``"-inf"`` as in :meth:`Claim.to_dict`). The
fingerprint of a run is ``sha256(experiment + "\\n" + canonical JSON of its config)``:
two runs with the same fingerprint are re-runs of the same thing.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import hashlib
import json
import math
import os
import platform
import sys
from importlib import metadata
from pathlib import PurePath
from typing import Any

import numpy as np


def _float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return None if math.isnan(x) else ("inf" if x > 0 else "-inf")


def to_jsonable(value: Any) -> Any:
    """A plain-JSON copy of ``value`` (dict keys become strings, tuples lists).

    Handles numpy scalars and arrays, dataclasses, enums, paths, sets (sorted) and
    non-finite floats; anything else falls back to ``str(value)`` so that writing a
    finished run never fails on an exotic configuration value.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float(float(value))
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


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal configurations give equal strings."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def fingerprint(experiment: str, config: Any) -> str:
    """``sha256(experiment + "\\n" + canonical_json(config))`` as 64 hex digits."""
    text = f"{experiment}\n{canonical_json(config)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of python, jax, jaxlib, numpy and implicit_bias (read without importing jax)."""
    ib = _version("implicit-bias")
    if ib is None:
        ib = getattr(sys.modules.get("implicit_bias"), "__version__", None)
    return {"python": platform.python_version(), "jax": _version("jax"), "jaxlib": _version("jaxlib"),
            "numpy": np.__version__, "implicit_bias": ib}


def machine() -> dict[str, Any]:
    """The machine a run was made on: OS, architecture, CPU count and, if jax is loaded, its device.

    No host name is recorded: reports are meant to be shared.
    """
    info: dict[str, Any] = {"platform": platform.platform(terse=True), "architecture": platform.machine(),
                            "cpu_count": os.cpu_count()}
    jax = sys.modules.get("jax")
    if jax is not None:  # never import jax here; only describe what the run used
        try:
            device = jax.devices()[0]
            kind = str(getattr(device, "device_kind", device.platform))
            info["device"] = kind if kind.lower() == device.platform.lower() else f"{device.platform}: {kind}"
        except Exception:  # noqa: BLE001 - a description only; never fail a write over it
            pass
    return info


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp with seconds (``2026-01-02T03:04:05Z``)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
