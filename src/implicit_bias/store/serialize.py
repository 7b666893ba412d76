"""JSON-safe values, run fingerprints and the software/machine a run was made on.

A configuration may hold numpy scalars, arrays, tuples, paths or nested dataclasses;
:func:`implicit_bias.encoding.to_jsonable` turns all of them into plain JSON (tuples become
lists, non-finite floats ``null`` / ``"inf"`` / ``"-inf"``, the package's one encoding). The
fingerprint of a run is ``sha256(experiment + "\\n" + canonical JSON of its config)``:
two runs with the same fingerprint are re-runs of the same thing.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import sys
from importlib import metadata
from typing import Any

import numpy as np

from implicit_bias.encoding import dumps


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal configurations give equal strings."""
    return dumps(value, indent=None, sort_keys=True)


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
