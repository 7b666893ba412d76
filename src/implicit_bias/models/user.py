"""A user's own parameterization, trained without editing the package: ``--model FILE.py:factory``.

``factory(n_features, **options)`` returns any object with

* ``init(key, hp) -> params``: the initial parameters, a pytree of arrays; ``hp`` maps every declared
  hyper-parameter to a scalar (the swept value, else its default);
* ``end_to_end(params) -> w`` (d,): the linear predictor the parameters express (then f = X w), and/or
  ``predict(params, X) -> f`` (n,) for a predictor that is not linear in x;
* optionally ``hparams``: a dict name -> default of the quantities a sweep may vary (default
  ``{"init_scale": 1.0}``), or a tuple of :class:`~implicit_bias.hparams.HParam`.

For example w = a·(b ⊙ c), a scalar a and two vectors b, c::

    import jax.numpy as jnp

    class TripleProduct:
        hparams = {"init_scale": 0.1}

        def __init__(self, n_features):
            self.d = n_features

        def init(self, key, hp):
            s = hp["init_scale"]
            return {"a": s, "b": s * jnp.ones(self.d), "c": s * jnp.ones(self.d)}

        def end_to_end(self, params):
            return params["a"] * params["b"] * params["c"]

    def factory(n_features):
        return TripleProduct(n_features)

:func:`user_model` wraps such an object in a :class:`UserModel` (a :class:`~implicit_bias.models.base.Model`)
after checking it: what is missing, or an initialization or predictor of the wrong shape, is one
:class:`~implicit_bias.errors.InputError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import available_models
from implicit_bias.plugins import is_reference, load_callable


def _declarations(spec: Any, where: str) -> tuple[HParam, ...]:
    if isinstance(spec, Mapping):
        out = []
        for name, default in spec.items():
            if not str(name).isidentifier():
                raise InputError(f"{where}: hyper-parameter name {name!r} is not an identifier")
            try:
                value = float(default)
            except (TypeError, ValueError):
                raise InputError(f"{where}: hyper-parameter {name!r} needs a numeric default, got {default!r}") from None
            out.append(HParam(str(name), float, value, "declared by the user's model"))
        return tuple(out)
    if isinstance(spec, (tuple, list)) and all(isinstance(h, HParam) for h in spec):
        return tuple(spec)
    raise InputError(f"{where}: hparams must be a dict name -> default or a tuple of HParam, got {type(spec).__name__}")


@dataclass(frozen=True, eq=False)
class UserModel(Model):
    """A user's parameterization (see the module docstring) as a :class:`Model`."""

    n_features: int
    impl: Any = field(repr=False)
    name: str = "user"
    hparams: tuple[HParam, ...] = ()

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> Any:
        full = {h.name: jnp.asarray(self.hparam(hp, h.name)) for h in self.hparams}
        return jax.tree_util.tree_map(jnp.asarray, self.impl.init(key, full))

    def end_to_end(self, params: Any) -> jax.Array:
        if _has(self.impl, "end_to_end"):
            return self.impl.end_to_end(params)
        return jnp.concatenate([jnp.ravel(x) for x in jax.tree_util.tree_leaves(params)])

    def predict(self, params: Any, X: jax.Array) -> jax.Array:
        if _has(self.impl, "predict"):
            return self.impl.predict(params, X)
        return X @ self.impl.end_to_end(params)


def _has(obj: Any, name: str) -> bool:
    """Whether the user's object defines the callable ``name`` (the interface is checked once, on load)."""
    return callable(getattr(type(obj), name, None)) or callable(vars(obj).get(name) if hasattr(obj, "__dict__") else None)


def user_model(impl: Any, n_features: int, name: str = "user") -> UserModel:
    """``impl`` checked and wrapped: init, and end_to_end or predict, traced once at the declared defaults."""
    where = f"model {name}"
    missing = [m for m in ("init",) if not _has(impl, m)]
    if not (_has(impl, "end_to_end") or _has(impl, "predict")):
        missing.append("end_to_end or predict")
    if missing:
        raise InputError(f"{where} lacks {' and '.join(missing)} (see implicit_bias.models.user for the interface)")
    declared = vars(type(impl)).get("hparams", vars(impl).get("hparams") if hasattr(impl, "__dict__") else None)
    hparams = _declarations({"init_scale": 1.0} if declared is None else declared, where)
    d = int(n_features)
    model = UserModel(d, impl, name, hparams)
    def traced(what: str, fn: Callable, *args: Any) -> Any:
        try:
            return jax.eval_shape(fn, *args)
        except InputError:
            raise
        except Exception as err:  # noqa: BLE001 - the user's code: one line saying where it failed
            raise InputError(f"{where}: {what} fails when traced at the declared defaults: "
                             f"{type(err).__name__}: {err}") from None

    params = traced("init(key, hp)", lambda k: model.init({}, k), jax.random.PRNGKey(0))
    if _has(impl, "end_to_end") and not _has(impl, "predict"):
        w = traced("end_to_end(params)", model.end_to_end, params)
        if tuple(w.shape) != (d,):
            raise InputError(f"{where}: end_to_end(params) must return shape ({d},), got {tuple(w.shape)}")
    f = traced("predict(params, X)", lambda p: model.predict(p, jnp.zeros((3, d))), params)
    if tuple(f.shape) != (3,):
        raise InputError(f"{where}: predict(params, X) must return shape (n,), got {tuple(f.shape)} for n = 3")
    return model


def model_factory(name: str) -> Callable[..., Model]:
    """``factory(n_features, **options) -> Model`` for a registered name or a user's ``FILE.py:factory``."""
    if is_reference(name):
        fn = load_callable(name, flag="--model")

        def factory(n_features: int, **options: Any) -> Model:
            try:
                impl = fn(n_features, **options)
            except TypeError as err:
                raise InputError(f"--model {name}: {err}") from None
            return impl if isinstance(impl, Model) else user_model(impl, n_features, name=name)

        factory.__signature__ = _user_signature(fn)  # its options are the user's factory's keywords
        return factory
    models = available_models()
    if name not in models:
        raise InputError(f"unknown model '{name}'; valid: {', '.join(models)}, or FILE.py:factory")
    return models[name].factory


def _user_signature(fn: Callable) -> Any:
    import inspect

    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return inspect.Signature([inspect.Parameter("n_features", inspect.Parameter.POSITIONAL_OR_KEYWORD)])


__all__ = ["UserModel", "user_model", "model_factory"]
