"""The diagonally grouped linear network: one scalar per group times a vector per group.

For a partition of the d coordinates into G groups (ids g(i) ∈ {0..G−1}), params
{"u": (G,), "v": (d,)} and

    w_i = u_{g(i)}² · v_i,        i.e.  w_g = u_g² v_g ∈ ℝ^{p_g}  for every group g.

Initialization u = α·1, v = 0 (so w0 = 0 and no sign is favoured). Gradient flow conserves
u_g² − 2‖v_g‖² (= α²), so |u_g| ≥ α throughout. Early on v_g ≈ α² t (Xᵀy/n)_g and
d log u_g/dt ≈ 2α² t ‖(Xᵀy/n)_g‖²: whole groups are switched on in the order of their
correlation norms ‖X_gᵀ y‖, as in the group lasso path — the bias is towards group sparsity,
with a group's scale shared by all of its coordinates. Size-one groups give w = u²v, a
diagonal network with a new (non mirror-descent) geometry.

References: Li, Nguyen, Hegde, Wong, "Implicit regularization for group sparsity", ICLR 2023
(the network w_l = u_l² v_l; their Algorithm 1 adds weight normalization, not used here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model


def group_ids(groups: Any, n_features: int) -> np.ndarray:
    """Contiguous group ids (d,) from a group size (int dividing d) or an array (d,) of integer labels.

    Labels are renumbered 0..G−1 in order of first appearance; InputError when the sizes do not fit d.
    """
    if isinstance(groups, (int, np.integer)) and not isinstance(groups, bool):
        size = int(groups)
        if size < 1 or n_features % size != 0:
            raise InputError(f"group size {size} must be a positive divisor of the number of features {n_features}")
        return np.repeat(np.arange(n_features // size), size)
    try:
        labels = np.asarray(groups)
    except (TypeError, ValueError):
        raise InputError("groups must be a group size or an array of integer group ids") from None
    if labels.ndim == 0:
        try:
            size = float(labels)
        except (TypeError, ValueError):
            raise InputError(f"groups must be a group size or an array of integer group ids, got {groups!r}") from None
        return group_ids(int(size) if size.is_integer() else -1, n_features)
    if labels.shape != (n_features,):
        raise InputError(f"groups must have one id per feature: shape ({n_features},), got {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.integer) or
            (np.issubdtype(labels.dtype, np.floating) and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)))):
        raise InputError("group ids must be integers")
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # renumber by first appearance
    return order[inverse].astype(np.int64)


@dataclass(frozen=True, eq=False)
class GroupedDiagonalModel(Model):
    """w_g = u_g² v_g with u (G,), v (d,).

    Attributes:
      n_features: d.
      groups: group size (int dividing d) or ids (d,); stored as contiguous ids (d,) in ``ids``.
      init_scale: α > 0 (``hp["init_scale"]`` overrides it).
    """

    n_features: int
    groups: Any = 1
    init_scale: float = 1.0
    name: ClassVar[str] = "grouped-diagonal"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="initialization scale α (u = α·1, v = 0)", low=0.0, low_open=True),
    )
    ids: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.n_features, bool) or not isinstance(self.n_features, (int, np.integer)) or self.n_features < 1:
            raise InputError(f"n_features must be a positive integer, got {self.n_features!r}")
        object.__setattr__(self, "ids", group_ids(self.groups, int(self.n_features)))
        try:
            alpha = float(self.init_scale)
        except (TypeError, ValueError):
            raise InputError(f"init scale must be a number, got {self.init_scale!r}") from None
        if not (math.isfinite(alpha) and alpha > 0):
            raise InputError(f"init scale must be a positive number, got {self.init_scale}")
        object.__setattr__(self, "init_scale", alpha)

    def _key(self) -> tuple:
        return (self.name, int(self.n_features), self.init_scale, self.ids.tobytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GroupedDiagonalModel) and self._key() == other._key()

    def __hash__(self) -> int:  # by value, so equal models share compiled programs
        return hash(self._key())

    @property
    def n_groups(self) -> int:
        return int(self.ids.max()) + 1

    @property
    def group_sizes(self) -> np.ndarray:
        return np.bincount(self.ids, minlength=self.n_groups)

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        alpha = jnp.asarray(self.hparam(hp, "init_scale"))
        return {"u": jnp.full(self.n_groups, alpha), "v": jnp.zeros(self.n_features) * alpha}

    def end_to_end(self, params: dict) -> jax.Array:
        return params["u"][jnp.asarray(self.ids)] ** 2 * params["v"]

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        return X @ self.end_to_end(params)

    def group_norms(self, w: np.ndarray) -> np.ndarray:
        """‖w_g‖₂ for every group, (..., G) from w (..., d)."""
        w = np.asarray(w, dtype=float)
        onehot = np.eye(self.n_groups)[self.ids]  # (d, G)
        return np.sqrt((w ** 2) @ onehot)


def make_grouped(n_features: int, groups: Any = None, init_scale: float | None = None) -> GroupedDiagonalModel:
    """Factory for the command line (groups from ``--groups`` or the data file's ``groups`` key)."""
    if groups is None:
        raise InputError("model 'grouped-diagonal' needs groups: a 'groups' array in the data file or --groups FILE.npy")
    return GroupedDiagonalModel(n_features, groups=groups, init_scale=1.0 if init_scale is None else init_scale)


def _example():
    """Two groups of two features on a tiny regression problem."""
    from implicit_bias.problems import gaussian_regression

    return GroupedDiagonalModel(4, groups=2), gaussian_regression(6, 4, seed=3)


register_model("grouped-diagonal", make_grouped,
               summary="group-sparse network w_g = u_g^2 v_g (one scalar per group times a vector)", example=_example)
