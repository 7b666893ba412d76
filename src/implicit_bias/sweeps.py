"""Sweep grids and log-spaced recording points.

A sweep is a dict name -> (M,) array (one entry per configuration); :func:`grid` builds
the Cartesian product of axes, :func:`zipped` pairs them up.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

import numpy as np

from implicit_bias.errors import InputError


def grid(**axes: Any) -> dict[str, np.ndarray]:
    """Cartesian product of the given axes, flattened: ``grid(a=[1, 2], b=[3, 4])`` has M = 4."""
    if not axes:
        return {}
    names = list(axes)
    values = [np.atleast_1d(np.asarray(axes[k])) for k in names]
    rows = list(itertools.product(*[range(len(v)) for v in values]))
    return {k: np.asarray([v[r[i]] for r in rows]) for i, (k, v) in enumerate(zip(names, values))}


def zipped(**axes: Any) -> dict[str, np.ndarray]:
    """Axes of equal length taken together (no product)."""
    arrays = {k: np.atleast_1d(np.asarray(v)) for k, v in axes.items()}
    lengths = {len(v) for v in arrays.values()}
    if len(lengths) > 1:
        raise InputError(f"zipped axes must have equal lengths, got {sorted(lengths)}")
    return arrays


def as_hparams(hparams: Mapping[str, Any], int_keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Broadcast scalars and (M,) arrays to a common length M; ints for ``int_keys``."""
    arrays = {k: np.atleast_1d(np.asarray(v)) for k, v in hparams.items()}
    lengths = {len(v) for v in arrays.values() if len(v) != 1}
    if len(lengths) > 1:
        raise InputError(f"swept hyper-parameters have different lengths: {sorted(lengths)}")
    M = lengths.pop() if lengths else 1
    out = {}
    for k, v in arrays.items():
        v = np.broadcast_to(v, (M,)).copy()
        if k in int_keys and np.any(v != np.round(v.astype(np.float64))):
            raise InputError(f"hyper-parameter '{k}' takes integers, got {v[v != np.round(v.astype(np.float64))][0]}")
        out[k] = v.astype(np.int64) if k in int_keys else v.astype(np.float64)
    return out


def log_spaced_steps(total: int, n: int) -> np.ndarray:
    """About ``n`` distinct integers from 0 to ``total``, log-spaced (0 and total included)."""
    if total <= 0:
        raise InputError(f"number of steps must be positive, got {total}")
    pts = np.unique(np.round(np.geomspace(1, total, max(n - 1, 1))).astype(np.int64))
    return np.concatenate([[0], pts[pts > 0]]) if pts[-1] == total else np.concatenate([[0], pts, [total]])


def log_spaced_times(t_end: float, n: int, t_start: float | None = None) -> np.ndarray:
    """0 followed by ``n - 1`` log-spaced times up to ``t_end`` (from t_end·1e-6 by default)."""
    t_start = t_start if t_start is not None else min(1e-3, t_end * 1e-6)
    return np.concatenate([[0.0], np.geomspace(t_start, t_end, max(n - 1, 1))])
