"""Sweep grids and log-spaced recording points.

A sweep is a dict name -> (M,) array (one entry per configuration); :func:`grid` builds
the Cartesian product of axes, :func:`zipped` pairs them up. :func:`parse_axis` and
:func:`parse_grid` read the grid grammar of the command line and of sweep files:

    values        0.01,0.1,1          a list (numbers; commas separate items)
    integer range 0..7                0, 1, …, 7 (both ends included); 0..20..5 steps by 5
    logspace      logspace(-4,0,5)    10**linspace(-4, 0, 5) (numpy's meaning)
    linspace      linspace(0.1,1,10)
    geomspace     geomspace(1e-3,1,4)
    mixed         logspace(-3,-1,3),0.5   items are concatenated in order

Axes named together in a zip group (``zip=[["init_scale", "step_size"]]``, CLI ``--zip init_scale,step_size``)
are paired element by element (equal lengths); all other axes are crossed.
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


_FUNCTIONS = {"logspace": np.logspace, "linspace": np.linspace, "geomspace": np.geomspace}


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise InputError(f"unbalanced parentheses in {text!r}")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise InputError(f"unbalanced parentheses in {text!r}")
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise InputError(f"{where}: values must be finite, got {text!r}")
    return value


def _item(text: str, where: str) -> np.ndarray:
    if not text:
        raise InputError(f"{where}: empty item")
    name, paren, rest = text.partition("(")
    if paren:
        if name.strip() not in _FUNCTIONS or not rest.endswith(")"):
            raise InputError(f"{where}: unknown form {text!r}; use logspace(a,b,n), linspace(a,b,n), geomspace(a,b,n)")
        args = [a.strip() for a in rest[:-1].split(",")]
        if len(args) != 3:
            raise InputError(f"{where}: {name.strip()} takes three arguments (start, stop, count), got {text!r}")
        a, b, n = (_number(x, where) for x in args)
        if n < 1 or n != int(n):
            raise InputError(f"{where}: the count in {text!r} must be a positive integer")
        if name.strip() == "geomspace" and (a <= 0 or b <= 0):
            raise InputError(f"{where}: geomspace needs positive ends, got {text!r}")
        return _FUNCTIONS[name.strip()](a, b, int(n))
    if ".." in text:
        pieces = text.split("..")
        if len(pieces) not in (2, 3):
            raise InputError(f"{where}: a range is a..b or a..b..step, got {text!r}")
        ints = []
        for x in pieces:
            v = _number(x, where)
            if v != int(v):
                raise InputError(f"{where}: range ends and step are integers, got {text!r}")
            ints.append(int(v))
        lo, hi, step = ints[0], ints[1], (ints[2] if len(ints) == 3 else 1)
        if step <= 0 or hi < lo:
            raise InputError(f"{where}: empty range {text!r} (need a <= b and a positive step)")
        return np.arange(lo, hi + 1, step, dtype=np.float64)
    return np.asarray([_number(text, where)])


def parse_axis(text: str, name: str = "axis") -> np.ndarray:
    """The values of one axis from its text (see the module docstring for the grammar)."""
    where = f"grid {name}={text}"
    values = np.concatenate([_item(part, where) for part in _split_top_level(str(text).strip())])
    if values.size == 0:
        raise InputError(f"{where}: no values")
    return values


def parse_grid(axes: Mapping[str, Any], zip_groups: list[list[str]] | tuple = ()) -> dict[str, np.ndarray]:
    """Axes name -> text (or a list of numbers) to the flat sweep: zip groups paired, the rest crossed.

    The order of configurations is the order of the axes (the last one varies fastest).
    """
    values = {k: (parse_axis(v, k) if isinstance(v, str) else np.atleast_1d(np.asarray(v, dtype=np.float64)))
              for k, v in axes.items()}
    seen: set[str] = set()
    for group in zip_groups:
        unknown = [k for k in group if k not in values]
        if unknown:
            raise InputError(f"zip names axes that are not in the grid: {', '.join(unknown)}")
        again = [k for k in group if k in seen]
        if again:
            raise InputError(f"an axis is in two zip groups: {', '.join(again)}")
        seen.update(group)
        lengths = {k: len(values[k]) for k in group}
        if len(set(lengths.values())) > 1:
            raise InputError(f"zipped axes need equal lengths, got {lengths}")
    # each zip group becomes one axis of tuples; the product runs over those axes and the free ones
    units: list[list[str]] = []
    for k in values:
        group = next((list(g) for g in zip_groups if k in g), [k])
        if group not in units:
            units.append(group)
    rows = itertools.product(*[range(len(values[g[0]])) for g in units])
    cols: dict[str, list[float]] = {k: [] for k in values}
    for row in rows:
        for g, i in zip(units, row):
            for k in g:
                cols[k].append(values[k][i])
    return {k: np.asarray(v) for k, v in cols.items()}


def as_hparams(hparams: Mapping[str, Any], int_keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Broadcast scalars and (M,) arrays to a common length M; ints for ``int_keys``."""
    arrays = {k: np.atleast_1d(np.asarray(v)) for k, v in hparams.items()}
    for k, v in arrays.items():
        if v.dtype.kind not in "biuf":
            raise InputError(f"hyper-parameter '{k}' takes numbers, got {v.reshape(-1)[0]!r}")
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
