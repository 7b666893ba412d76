"""Diagonal linear networks: the end-to-end predictor w (d,) is a coordinate-wise product of layers.

Three parameterizations, params {"u": (d,), "v": (d,)} in every case:

* ``"uu-vv"`` (tied, Woodworth et al. 2020):  w = u⊙u − v⊙v, i.e. ``"power"`` at depth 2;
* ``"power"`` (depth D ≥ 2):                   w = u^D − v^D (coordinate-wise powers);
* ``"uv"``   (two untied layers, depth 2):     w = u⊙v.

Initialization (every coordinate alike, deterministic) from the scale α = ``init_scale`` and the
shape s = ``init_shape`` ∈ (−1, 1) (Azulay et al. 2021), with a = √((1−s)/(1+s)):

* ``"uv"``: u0 = α·a, v0 = α/a. The layers are unbalanced by s, their product is u0·v0 = α²
  (w0 = α²·1 ≠ 0) and u_i² − v_i² = α²(a² − 1/a²) is conserved by gradient flow.
* ``"uu-vv"`` / ``"power"``: u0 = v0 = α_s (w0 = 0), α_s = α√((1+s²)/(1−s²)) (= α at s = 0).
  A tied network has no layer imbalance of its own; s is applied through the exact equivalence
  with the signed two-layer network u₊⊙v₊ − u₋⊙v₋ whose layers start at (α·a, α/a): that network
  follows the path of u⊙u − v⊙v from α_s (see :mod:`implicit_bias.references.q_alpha`). So the
  flow limit from (α, s) is ``q_alpha_interpolator(X, y, α, depth=D, shape=s)`` — Woodworth's Q_α
  uses the same α as ``init_scale`` here (u0 = v0 = α, w0 = 0). Shape needs depth 2.

Conventions differ between papers: Woodworth et al. call α the layer scale (end-to-end scale α²),
Azulay et al. write u0 = √(α'(1−s)/(1+s)) with α' = u0·v0 the end-to-end scale. To compare,
:meth:`DiagonalModel.effective_init_scale` reports the end-to-end initial scale of one coordinate:
u0^D (tied, u0 = v0) or u0·v0 (``"uv"``), i.e. α^D at s = 0.

Swept hyper-parameters: ``hp["init_scale"]``, ``hp["init_shape"]`` and ``hp["depth"]`` (traced
scalars) override the fields, so one compiled program sweeps init scale × shape × depth × seed.
With ``hp["depth"]`` the model's ``depth`` field is the largest depth of the sweep: the params carry
the depth as a leaf ``"depth"`` (excluded from differentiation by ``stop_gradient``, so its gradient
and every optimizer's update of it are zero) and u^D is the product of D factors selected with
``where`` (exact for integer D, any sign of u). The declared table states each quantity's range;
:meth:`DiagonalModel.check_hparams` checks the rest (swept depths at most ``depth``, s = 0 off depth 2).

References: Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro, "Kernel and rich
regimes in overparametrized models", COLT 2020; Azulay, Moroshko, Nacson, Woodworth, Srebro,
Globerson, Soudry, "On the implicit bias of initialization shape", ICML 2021.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model

PARAMS = ("uu-vv", "uv", "power")


def check_init(init_scale: Any, init_shape: Any) -> tuple[float, float]:
    """(α, s) as floats, or InputError unless α > 0 and |s| < 1 (both finite)."""
    try:
        alpha, shape = float(init_scale), float(init_shape)
    except (TypeError, ValueError):
        raise InputError(f"init scale and shape must be numbers, got {init_scale!r}, {init_shape!r}") from None
    if not (math.isfinite(alpha) and alpha > 0):
        raise InputError(f"init scale must be a positive number, got {init_scale}")
    if not (math.isfinite(shape) and abs(shape) < 1):
        raise InputError(f"init shape must lie strictly between -1 and 1, got {init_shape}")
    return alpha, shape


def check_depth(depth: Any) -> int:
    """Depth as an int ≥ 2, or InputError."""
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer, float)) or depth != int(depth) or depth < 2:
        raise InputError(f"depth must be an integer >= 2, got {depth!r}")
    return int(depth)


def layer_init(param: str, init_scale, init_shape):
    """(u0, v0), the initial value of every coordinate of u and v (floats or traced scalars)."""
    s = init_shape
    if param == "uv":
        a = jnp.sqrt((1 - s) / (1 + s)) if isinstance(s, jax.Array) else math.sqrt((1 - s) / (1 + s))
        return init_scale * a, init_scale / a
    ratio = (1 + s * s) / (1 - s * s)
    alpha_s = init_scale * (jnp.sqrt(ratio) if isinstance(ratio, jax.Array) else math.sqrt(ratio))
    return alpha_s, alpha_s


def integer_power(x: jax.Array, depth: jax.Array, max_depth: int) -> jax.Array:
    """x^D elementwise for a traced integer D ∈ [1, max_depth]: D factors of x chosen with ``where``."""
    out = x
    for k in range(2, max_depth + 1):
        out = jnp.where(k <= depth, out * x, out)
    return out


@dataclass(frozen=True)
class DiagonalModel(Model):
    """The diagonal network f(x) = ⟨w, x⟩ with w = u^D − v^D (``"uu-vv"``, ``"power"``) or u⊙v (``"uv"``).

    Attributes:
      n_features: d.
      depth: D ≥ 2 (``"uv"`` and ``"uu-vv"`` are depth-2 forms; ``"uu-vv"`` at depth D means u^D − v^D).
      param: "uu-vv", "uv" or "power".
      init_scale: α > 0 (overridden by ``hp["init_scale"]``).
      init_shape: s ∈ (−1, 1) (overridden by ``hp["init_shape"]``); depth 2 only.
    """

    n_features: int
    depth: int = 2
    param: str = "uu-vv"
    init_scale: float = 1.0
    init_shape: float = 0.0
    name: ClassVar[str] = "diagonal"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="initialization scale α (u0 = v0 = α at s = 0)", low=0.0, low_open=True),
        HParam("init_shape", float, doc="initialization shape s (Azulay et al. 2021; depth 2 only)",
               low=-1.0, high=1.0, low_open=True, high_open=True),
        HParam("depth", int, doc="depth D of w = u^D − v^D (a swept depth is at most the model's depth)", low=2),
    )

    def __post_init__(self) -> None:
        if isinstance(self.n_features, bool) or not isinstance(self.n_features, (int, np.integer)) or self.n_features < 1:
            raise InputError(f"n_features must be a positive integer, got {self.n_features!r}")
        depth = check_depth(self.depth)
        object.__setattr__(self, "depth", depth)
        if self.param not in PARAMS:
            raise InputError(f"unknown diagonal parameterization '{self.param}'; valid: {', '.join(PARAMS)}")
        if self.param == "uv" and depth != 2:
            raise InputError(f"param 'uv' (w = u*v) has depth 2; use param 'power' for depth {depth}")
        alpha, shape = check_init(self.init_scale, self.init_shape)
        if shape != 0 and depth != 2:
            raise InputError(f"init shape is defined at depth 2 only (got depth {depth}, shape {shape})")
        object.__setattr__(self, "init_scale", alpha)
        object.__setattr__(self, "init_shape", shape)

    def check_hparams(self, hp: Mapping[str, np.ndarray]) -> None:
        """InputError unless swept depths are at most the field ``depth`` (not with ``"uv"``) and s = 0 off depth 2
        (each value is already within its declared range)."""
        if "depth" not in hp:
            if "init_shape" in hp and self.depth != 2:
                raise InputError(f"init shape is defined at depth 2 only; this network has depth {self.depth}")
            return
        if self.param == "uv":
            raise InputError("param 'uv' (w = u*v) has depth 2; sweep the depth with param 'power'")
        depth = np.asarray(hp["depth"], dtype=float)
        if np.any(depth > self.depth):
            raise InputError(f"swept depths must be integers between 2 and the model's depth {self.depth}, "
                             f"got {sorted(set(depth.tolist()))}")
        shape = np.broadcast_to(np.asarray(self.hparam(hp, "init_shape"), dtype=float), depth.shape)
        if np.any((shape != 0) & (depth != 2)):
            raise InputError("init shape is defined at depth 2 only; set init_shape = 0 where depth != 2")

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        """u = u0·1, v = v0·1 with (u0, v0) from α = hp["init_scale"] and s = hp["init_shape"] (or the fields).

        With ``hp["depth"]`` the params also hold ``"depth"`` (a scalar leaf that training never moves).
        """
        if "init_shape" in hp and "depth" not in hp and self.depth != 2:
            raise InputError(f"init shape is defined at depth 2 only; this network has depth {self.depth}")
        alpha = self.hparam(hp, "init_scale")
        shape = self.hparam(hp, "init_shape")
        u0, v0 = layer_init(self.param, jnp.asarray(alpha), jnp.asarray(shape))
        params = {"u": jnp.full(self.n_features, u0), "v": jnp.full(self.n_features, v0)}
        if "depth" in hp:
            params["depth"] = jnp.asarray(hp["depth"], dtype=params["u"].dtype)
        return params

    def end_to_end(self, params: dict) -> jax.Array:
        """w (d,)."""
        u, v = params["u"], params["v"]
        if self.param == "uv":
            return u * v
        if "depth" in params:
            depth = jax.lax.stop_gradient(params["depth"])
            return integer_power(u, depth, self.depth) - integer_power(v, depth, self.depth)
        return u ** self.depth - v ** self.depth

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        return X @ self.end_to_end(params)

    def layers0(self, init_scale: float | None = None, init_shape: float | None = None) -> tuple[float, float]:
        """(u0, v0) as floats for α, s (default: the fields)."""
        alpha, shape = check_init(self.init_scale if init_scale is None else init_scale,
                                  self.init_shape if init_shape is None else init_shape)
        u0, v0 = layer_init(self.param, alpha, shape)
        return float(u0), float(v0)

    def init_summary(self, key: jax.Array) -> dict[str, float]:
        return {"effective_init_scale": float(self.effective_init_scale())}

    def effective_init_scale(self, init_scale: float | None = None, init_shape: float | None = None,
                             depth: int | None = None) -> float:
        """End-to-end initial scale of one coordinate: u0^D (tied) or u0·v0 (``"uv"``); α^D at s = 0.

        Woodworth et al.'s α is ``init_scale`` (so this is α²); Azulay et al.'s α is this number.
        ``depth`` defaults to the field (give it for a configuration of a depth sweep).
        """
        u0, v0 = self.layers0(init_scale, init_shape)
        return u0 * v0 if self.param == "uv" else u0 ** (self.depth if depth is None else int(depth))

    def initial_end_to_end(self, init_scale: float | None = None, init_shape: float | None = None) -> np.ndarray:
        """w0 (d,): 0 for the tied forms, α²·1 for ``"uv"``."""
        u0, v0 = self.layers0(init_scale, init_shape)
        w0 = u0 * v0 if self.param == "uv" else u0 ** self.depth - v0 ** self.depth
        return np.full(self.n_features, w0)


def make_diagonal(n_features: int, depth: int | None = None, init_scale: float | None = None,
                  init_shape: float | None = None, param: str | None = None) -> DiagonalModel:
    """Factory for the command line: param defaults to "uu-vv" at depth 2 and "power" above."""
    depth = 2 if depth is None else check_depth(depth)
    if param is None:
        param = "uu-vv" if depth == 2 else "power"
    return DiagonalModel(n_features, depth=depth, param=param,
                         init_scale=1.0 if init_scale is None else init_scale,
                         init_shape=0.0 if init_shape is None else init_shape)


register_model("diagonal", make_diagonal,
               summary="diagonal network w = u*u - v*v, u^D - v^D or u*v from scale alpha and shape s")
