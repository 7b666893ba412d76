"""Reference solutions for a sweep, each distinct one computed once, and the distances to them.

A reference option named like a hyper-parameter follows the grid (``init_scale``, ``depth``,
``init_shape``, ``seed``, ...; an option still called ``alpha`` or ``shape`` reads ``init_scale`` or
``init_shape``); when that hyper-parameter is not swept, the model's own value is used. So ``q-alpha`` is solved once
per distinct (init_scale, depth, init_shape) of the grid, ``min-l1`` once for the whole sweep.

The distance of a configuration to its reference is relative: ‖w − w_ref‖ / ‖w_ref‖ (Frobenius for
matrices; the absolute distance when w_ref = 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from implicit_bias.errors import InputError

#: reference options whose hyper-parameter has another name.
OPTION_HPARAM = {"alpha": "init_scale", "shape": "init_shape"}


@dataclass
class ReferenceSet:
    """The distinct solutions of one reference: ``options[k]`` gave ``solutions[k]``; configuration i
    uses row ``index[i]``."""

    name: str
    options: list[dict[str, Any]]
    solutions: np.ndarray
    objectives: np.ndarray
    statuses: list[str]
    index: np.ndarray

    @property
    def column(self) -> str:
        return "dist_to_" + self.name.replace("-", "_")

    def to_npz(self) -> dict[str, np.ndarray]:
        arrays = {"w": self.solutions, "objective": self.objectives, "status": np.asarray(self.statuses),
                  "config_reference": self.index}
        for key in sorted({k for o in self.options for k in o}):
            arrays[f"option_{key}"] = np.asarray([o.get(key, np.nan) for o in self.options], dtype=float)
        return arrays

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "distinct": len(self.options), "statuses": sorted(set(self.statuses)),
                "column": self.column, "options": sorted({k for o in self.options for k in o})}


def _option_values(option: str, hparams: dict[str, np.ndarray], model: Any, n: int) -> np.ndarray | None:
    name = OPTION_HPARAM.get(option, option)
    if name in hparams:
        return np.asarray(hparams[name])
    value = getattr(model, name, None)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return np.full(n, value)
    return None


def _plain(v: Any) -> Any:
    v = np.asarray(v).item()
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**53 else v


def compute_references(names: tuple[str, ...], problem: Any, model: Any, hparams: dict[str, np.ndarray]) -> list[ReferenceSet]:
    """Each named reference, solved once per distinct option set found in the grid."""
    from implicit_bias.references import get_reference

    n = len(next(iter(hparams.values())))
    out = []
    for name in names:
        spec = get_reference(name)
        columns = {o: v for o in spec.options if (v := _option_values(o, hparams, model, n)) is not None}
        keys = [tuple((o, _plain(columns[o][i])) for o in columns) for i in range(n)]
        distinct = list(dict.fromkeys(keys))
        where = {k: j for j, k in enumerate(distinct)}
        refs = [spec.compute(problem, **dict(k)) for k in distinct]
        out.append(ReferenceSet(name, [dict(k) for k in distinct], np.stack([np.asarray(r.solution, float) for r in refs]),
                                np.asarray([float(r.objective) for r in refs]), [str(r.status) for r in refs],
                                np.asarray([where[k] for k in keys], dtype=np.int64)))
    return out


def check_shapes(refs: list[ReferenceSet], w_shape: tuple[int, ...]) -> None:
    """InputError when a reference's solution does not have the model's end-to-end shape."""
    for ref in refs:
        if tuple(ref.solutions.shape[1:]) != tuple(w_shape):
            raise InputError(f"reference '{ref.name}' has shape {tuple(ref.solutions.shape[1:])}, the model's "
                             f"end-to-end predictor {tuple(w_shape)}: they cannot be compared")


def distances(ref: ReferenceSet, w: np.ndarray) -> np.ndarray:
    """‖w_i − w_ref(i)‖ / ‖w_ref(i)‖ for each configuration i (w (M, ...))."""
    target = ref.solutions[ref.index].reshape(len(w), -1)
    diff = np.linalg.norm(w.reshape(len(w), -1) - target, axis=1)
    scale = np.linalg.norm(target, axis=1)
    return diff / np.where(scale > 0, scale, 1.0)
