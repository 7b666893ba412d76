"""Single-head softmax attention with a fixed value head: f(X) = vᵀXᵀ softmax(X q).

Inputs X (n, T, d): n sequences of T tokens in ℝ^d. The value head v (d,) is fixed (not trained),
so token t of sequence i carries the score γ_it = ⟨x_it, v⟩ and f_i = Σ_t s_it γ_it with
s_i = softmax(a_i), a_i = X_i q_i (T,). Three parameterizations of the attention logits:

* ``"p"``  (prompt attention, Tarzanagh et al. 2023a): q_i = p,        params {"p": (d,)};
* ``"W"``  (combined key-query matrix):              q_i = W z_i,    params {"W": (d, d)};
* ``"KQ"`` (key and query factors, width m):         q_i = K Qᵀ z_i, params {"K": (d, m), "Q": (d, m)};

with the query z_i = x_i1, the first token of the sequence (it is also one of the keys).
``end_to_end`` is p (d,), W or K Qᵀ (d, d).

Numerics: ∂f/∂a_t = s_t(γ_t − f) cancels catastrophically once one token dominates (γ_opt − f is
e^{−margin}, below rounding). The custom derivative writes it as differences of token scores,
∂f/∂a_t = Σ_u s_t s_u (γ_t − γ_u), each weight formed as exp(log s_t + log s_u) from log-softmax,
so every term keeps full relative precision. Weights below e^{−745} still underflow: keep the
token margins (x_opt − x_t)ᵀq below about 600 (the attention-svm entry stops there).

Initialization: p = 0 and W = 0 (``init_scale`` ignored); K, Q i.i.d. N(0, σ²) with
σ = ``init_scale`` (K = Q = 0 is a saddle that gradient methods never leave).

References: Tarzanagh, Li, Zhang, Oymak, "Max-margin token selection in attention mechanism",
NeurIPS 2023; Tarzanagh, Li, Thrampoulidis, Oymak, "Transformers as support vector machines", 2023.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model

PARAMS = ("p", "W", "KQ")


@jax.custom_vjp
def attend(a: jax.Array, gamma: jax.Array) -> jax.Array:
    """Σ_t softmax(a)_t γ_t over the last axis: a, γ (..., T) -> (...)."""
    return jnp.sum(jax.nn.softmax(a, axis=-1) * gamma, axis=-1)


def _attend_fwd(a, gamma):
    return attend(a, gamma), (a, gamma)


def _attend_bwd(res, g):
    """∂f/∂a_t = Σ_u s_t s_u (γ_t − γ_u) (weights in log space); ∂f/∂γ_t = s_t."""
    a, gamma = res
    log_s = jax.nn.log_softmax(a, axis=-1)
    pair = jnp.exp(log_s[..., :, None] + log_s[..., None, :])            # s_t s_u (..., T, T)
    diff = gamma[..., :, None] - gamma[..., None, :]                       # γ_t − γ_u
    da = jnp.sum(pair * diff, axis=-1)
    return g[..., None] * da, g[..., None] * jnp.exp(log_s)


attend.defvjp(_attend_fwd, _attend_bwd)


@dataclass(frozen=True)
class AttentionModel(Model):
    """f_i = Σ_t softmax(X_i q_i)_t ⟨x_it, v⟩ with q_i = p, W x_i1 or K Qᵀ x_i1 (see the module docstring).

    Attributes:
      n_features: token dimension d.
      value: the fixed head v (d,).
      param: "p", "W" or "KQ".
      width: m, the width of K and Q (default d).
      init_scale: std of K and Q at init ("KQ" only; ``hp["init_scale"]`` overrides it).
    """

    n_features: int
    value: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    param: str = "p"
    width: int | None = None
    init_scale: float = 1e-2
    name: ClassVar[str] = "attention"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="std σ of K and Q at init (KQ only; p = 0 and W = 0 otherwise)",
               low=0.0, low_open=True),
    )

    def __post_init__(self) -> None:
        d = self.n_features
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise InputError(f"n_features must be a positive integer, got {d!r}")
        if self.param not in PARAMS:
            raise InputError(f"unknown attention parameterization '{self.param}'; valid: {', '.join(PARAMS)}")
        v = np.ones(d) if self.value is None else np.asarray(self.value, dtype=float)
        if v.shape != (d,) or not np.all(np.isfinite(v)):
            raise InputError(f"the value head v must be a finite vector of shape ({d},), got {v.shape}")
        object.__setattr__(self, "value", v)
        if self.width is not None and (int(self.width) != self.width or self.width < 1):
            raise InputError(f"width must be a positive integer, got {self.width}")
        if not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise InputError(f"init scale must be positive, got {self.init_scale}")

    def __hash__(self) -> int:  # the compile cache keys on the model; v is an array
        return hash((self.n_features, self.param, self.width, self.init_scale, self.value.tobytes()))

    def __eq__(self, other) -> bool:
        return isinstance(other, AttentionModel) and hash(self) == hash(other)

    @property
    def m(self) -> int:
        return int(self.width) if self.width is not None else self.n_features

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        d = self.n_features
        if self.param == "p":
            return {"p": jnp.zeros(d)}
        if self.param == "W":
            return {"W": jnp.zeros((d, d))}
        sigma = self.hparam(hp, "init_scale")
        kk, kq = jax.random.split(key)
        return {"K": sigma * jax.random.normal(kk, (d, self.m)), "Q": sigma * jax.random.normal(kq, (d, self.m))}

    def end_to_end(self, params: dict) -> jax.Array:
        """p (d,) or W = K Qᵀ (d, d)."""
        if self.param == "p":
            return params["p"]
        if self.param == "W":
            return params["W"]
        return params["K"] @ params["Q"].T

    def logits(self, params: dict, X: jax.Array) -> jax.Array:
        """a (n, T): a_it = ⟨x_it, q_i⟩."""
        if X.ndim != 3 or X.shape[-1] != self.n_features:
            raise InputError(f"attention expects X of shape (n, T, {self.n_features}), got {X.shape}")
        if self.param == "p":
            return X @ params["p"]
        q = X[:, 0, :] @ self.end_to_end(params).T                          # q_i = W z_i, (n, d)
        return jnp.einsum("ntd,nd->nt", X, q)

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        gamma = X @ jnp.asarray(self.value, dtype=X.dtype)
        return attend(self.logits(params, X), gamma)


def _factory(n_features: int, param: str | None = None, width: int | None = None, init_scale: float | None = None,
             value=None) -> AttentionModel:
    """CLI factory: tokens X (n, T, d) with d = ``n_features``; v defaults to the all-ones vector."""
    opts = {k: v for k, v in dict(param=param, width=width, init_scale=init_scale, value=value).items() if v is not None}
    return AttentionModel(n_features, **opts)


def _example():
    """The KQ form (width 2) on three sequences of three tokens in ℝ⁴, v = e₁: token opt_i scores y_i x₁ = 2,
    the others 0."""
    from implicit_bias.problems import Problem

    rng = np.random.default_rng(0)
    n, T, d = 3, 3, 4
    y = np.array([1.0, -1.0, 1.0])
    X = rng.standard_normal((n, T, d))
    X[:, :, 0] = 0.0
    X[np.arange(n), [0, 2, 1], 0] = 2.0 * y
    return AttentionModel(d, value=np.eye(d)[0], param="KQ", width=2, init_scale=0.1), Problem(X, y, name="tokens")


register_model("attention", _factory, summary="single-head attention f(X) = vᵀXᵀ softmax(Xq), q = p, W x₁ or KQᵀx₁ (v fixed)",
               example=_example)
