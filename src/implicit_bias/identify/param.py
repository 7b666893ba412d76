"""A user's parameterization w = G(θ): loading it, the registered diagonal forms, and its engine model.

G maps a flat parameter vector θ (p,) to the linear predictor w (d,) (f(x) = ⟨w, x⟩), and must be
written with ``jax.numpy`` (it is differentiated twice). It enters as

* ``FILE.py:G``       a function G in a Python file;
* ``package.module:G`` a function G in an importable module;
* a registered name:  ``uu-vv`` (θ = (u, v), w = u⊙u − v⊙v), ``uu`` (w = u⊙u), ``uv`` (w = u⊙v),
  ``power`` (w = u³ − v³) or ``power-D`` (w = u^D − v^D), ``neuron`` (θ = (a, v), w = a·v).
  For the two-block forms θ0 has p = 2d entries, u first.

Loading errors (unimportable, not callable, G(θ0) not of shape (d,), non-finite values, not
traceable by JAX) raise :class:`~implicit_bias.errors.InputError` with one line.

References: Li, Wang, Lee & Arora, "Implicit bias of gradient descent on reparametrized models: on
equivalence to mirror descent", NeurIPS 2022 (the setting w = G(θ)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.models.base import Model
from implicit_bias.plugins import load_callable


def _halves(theta: jax.Array) -> tuple[jax.Array, jax.Array]:
    d = theta.shape[0] // 2
    return theta[:d], theta[d:]


def _power(depth: int) -> Callable[[jax.Array], jax.Array]:
    def G(theta: jax.Array) -> jax.Array:
        u, v = _halves(theta)
        return u ** depth - v ** depth

    return G


#: registered forms: name -> (G, parameters per output coordinate, (family, depth) the catalog verifies).
FORMS: dict[str, tuple[Callable[[jax.Array], jax.Array], int, tuple[str, int]]] = {
    "uu-vv": (_power(2), 2, ("Q_alpha", 2)),
    "uu": (lambda th: th * th, 1, ("entropy", 2)),
    "uv": (lambda th: _halves(th)[0] * _halves(th)[1], 2, ("Q_alpha", 2)),
    "power": (_power(3), 2, ("power", 3)),
}


@dataclass(frozen=True, eq=False)
class Parameterization:
    """w = G(θ) with θ (p,) and w (d,); ``expected`` is the family a registered form is known to have."""

    name: str
    fn: Callable[[jax.Array], jax.Array]
    n_params: int
    n_features: int
    expected: tuple[str, int] | None = None

    def __call__(self, theta: jax.Array) -> jax.Array:
        return self.fn(theta)


def _registered(spec: str) -> tuple[Callable, int, tuple[str, int] | None] | None:
    if spec in FORMS:
        return FORMS[spec]
    m = re.fullmatch(r"power-(\d+)", spec)
    if m:
        depth = int(m.group(1))
        if depth < 2:
            raise InputError(f"power-D needs an integer D >= 2, got {spec!r}")
        return _power(depth), 2, ("power" if depth > 2 else "Q_alpha", depth)
    if spec == "neuron":
        return (lambda th: th[0] * th[1:]), 0, None
    return None


def _import(spec: str) -> Callable:
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr.isidentifier():
        raise InputError(f"--param must be FILE.py:G, module:G or a registered form "
                         f"({', '.join([*FORMS, 'power-D', 'neuron'])}), got {spec!r}")
    return load_callable(spec, flag="--param")


def check_theta(theta0: Any) -> np.ndarray:
    """θ0 as a finite float64 vector (p,), or InputError."""
    try:
        theta0 = np.asarray(theta0, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("theta0 must be a numeric array") from None
    if theta0.ndim != 1 or theta0.size == 0:
        raise InputError(f"theta0 must be a flat vector (p,), got shape {theta0.shape}")
    if not np.all(np.isfinite(theta0)):
        raise InputError("theta0 must be finite (found NaN or inf)")
    return theta0


def load_param(spec: str | Callable, theta0: Any, n_features: int) -> tuple[Parameterization, np.ndarray]:
    """(the parameterization, θ0) after checking that G(θ0) is a finite (d,) vector and JAX can trace G.

    ``spec``: a callable, ``FILE.py:G``, ``module:G`` or a registered form (see the module docstring).
    """
    theta0 = check_theta(theta0)
    d = int(n_features)
    expected = None
    if callable(spec):
        fn, name = spec, getattr(spec, "__name__", "G")
    else:
        spec = str(spec).strip()
        form = _registered(spec)
        if form is not None:
            fn, per, expected = form
            name = spec
            p_expected = d + 1 if spec == "neuron" else per * d
            if theta0.size != p_expected:
                raise InputError(f"form {spec!r} with d = {d} needs theta0 of {p_expected} entries, got {theta0.size}")
        else:
            fn, name = _import(spec), spec
    try:
        w0 = jax.jit(fn)(jnp.asarray(theta0))
        jax.jvp(jax.grad(lambda t: jnp.sum(fn(t))), (jnp.asarray(theta0),), (jnp.ones_like(jnp.asarray(theta0)),))
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - a user's function: one line
        msg = " ".join(str(err).split())[:200]
        raise InputError(f"G({name}) cannot be evaluated and differentiated by JAX at theta0: {type(err).__name__}: {msg}") from None
    w0 = np.asarray(w0)
    if w0.shape != (d,):
        raise InputError(f"G(theta0) must have shape ({d},) to match X with {d} columns, got {w0.shape}")
    if not np.all(np.isfinite(w0)):
        raise InputError("G(theta0) is not finite")
    return Parameterization(name, fn, int(theta0.size), d, expected), theta0


@dataclass(frozen=True, eq=False)
class ParamModel(Model):
    """The engine's model for w = G(θ): params θ (p,) start at θ0, f = X G(θ), end-to-end w = G(θ)."""

    param: Parameterization
    theta0: np.ndarray = field(repr=False)
    name: ClassVar[str] = "identify"

    @property
    def n_features(self) -> int:
        return self.param.n_features

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> jax.Array:
        return jnp.asarray(self.theta0)

    def predict(self, params: jax.Array, X: jax.Array) -> jax.Array:
        return X @ self.param.fn(params)

    def end_to_end(self, params: jax.Array) -> jax.Array:
        return self.param.fn(params)
