"""Load and validate a user's ``.npz`` problem file.

Schema: ``X`` (n, d), ``y`` (n,), optionally ``X_test`` (n_test, d) and ``y_test`` (n_test,).
Every failure raises :class:`~implicit_bias.errors.InputError` with one readable line.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.problems.problem import Problem


def _finite(name: str, a: np.ndarray) -> None:
    if not np.issubdtype(a.dtype, np.number):
        raise InputError(f"'{name}' must be numeric, got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"'{name}' contains NaN or inf")


def load_problem(path: str | os.PathLike) -> Problem:
    """Read ``X``, ``y`` (and a test split if present) from an ``.npz`` file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"data file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise InputError(f"cannot read {path} as .npz: {err}") from None
    for key in ("X", "y"):
        if key not in arrays:
            raise InputError(f"{path} has no '{key}' array (found: {', '.join(sorted(arrays)) or 'none'})")
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2:
        raise InputError(f"'X' must be 2-D (n, d), got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise InputError(f"'y' must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"'X' is empty: shape {X.shape}")
    _finite("X", X)
    _finite("y", y)
    X_test = arrays.get("X_test")
    y_test = arrays.get("y_test")
    if (X_test is None) != (y_test is None):
        raise InputError("give both 'X_test' and 'y_test', or neither")
    if X_test is not None:
        if X_test.ndim != 2 or X_test.shape[1] != X.shape[1]:
            raise InputError(f"'X_test' must have shape (n_test, {X.shape[1]}), got {X_test.shape}")
        if y_test.ndim != 1 or y_test.shape[0] != X_test.shape[0]:
            raise InputError(f"'y_test' must have shape ({X_test.shape[0]},), got {y_test.shape}")
        _finite("X_test", X_test)
        _finite("y_test", y_test)
        X_test, y_test = X_test.astype(np.float64), y_test.astype(np.float64)
    w_star = arrays.get("w_star")
    meta = {}
    if "groups" in arrays:
        groups = arrays["groups"]
        if groups.shape != (X.shape[1],) or not np.issubdtype(groups.dtype, np.integer):
            raise InputError(f"'groups' must be integer group ids of shape ({X.shape[1]},), "
                             f"got {groups.dtype} {groups.shape}")
        meta["groups"] = groups
    return Problem(X.astype(np.float64), y.astype(np.float64), X_test, y_test,
                   None if w_star is None else w_star.astype(np.float64),
                   name=os.path.basename(path), meta=meta)


def validate_labels(y: np.ndarray, what: str = "y") -> None:
    """Raise unless every label is exactly +1 or -1 (classification losses need them)."""
    bad = ~np.isin(np.asarray(y), (-1.0, 1.0))
    if np.any(bad):
        raise InputError(f"'{what}' must hold labels ±1 for a classification loss; "
                         f"found {np.unique(np.asarray(y)[bad])[:5].tolist()}")
