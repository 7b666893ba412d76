"""CP tensor factorization: W = Σ_{r=1}^R w_r¹ ⊗ w_r² ⊗ ⋯ ⊗ w_r^N, an order-N tensor of shape (k,)*N.

params {"factors": (N, R, k)}: factors[n, r] = w_r^n. The component W_r = w_r¹ ⊗ ⋯ ⊗ w_r^N has
‖W_r‖ = Π_n ‖w_r^n‖. ``end_to_end`` builds W with one einsum ("ra,rb,rc->abc" at N = 3).

Predictions (tensor completion): X (m, N) integer index tuples, f_i = W[X_i] = Σ_r Π_n w_r^n[X_in],
computed from the gathered factor entries without forming W. See :mod:`implicit_bias.problems.tensor`.

Initializations at scale σ = ``init_scale`` (``hp["init_scale"]`` overrides it):

* "balanced": w_r^n = σ g_r^n/‖g_r^n‖ (g Gaussian): every factor of every component has norm σ, so
  ‖W_r(0)‖ = σ^N and the balance ‖w_r^n‖² − ‖w_r^{n'}‖² = 0 is conserved by gradient flow;
* "gaussian": i.i.d. N(0, σ²/k) entries (norms ≈ σ, but not balanced).

``init_tilt`` = τ (default 0; ``hp["init_tilt"]`` overrides it) then scales factor n by e^{τ(n − (N−1)/2)}:
the components and their norms ‖W_r‖ are unchanged, the factors unbalanced (a control for the balanced-init
theorem).

Under gradient flow from a balanced init, d‖W_r‖/dt = N ‖W_r‖^{2−2/N} ⟨−∇L(W), Ŵ_r⟩ (Razin, Maman
& Cohen 2021, Theorem 1): see :func:`norm_dynamics`.

References: Razin, Maman, Cohen, "Implicit regularization in tensor factorization", ICML 2021.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.models.base import Model
from implicit_bias.models.registry import register_model

INITS = ("balanced", "gaussian")
_LETTERS = "abcdefghijklmnopq"


@dataclass(frozen=True)
class TensorModel(Model):
    """Order-N CP factorization with R components of dimension k (see the module docstring)."""

    order: int = 3
    rank: int = 10
    dim: int = 5
    init_scale: float = 1e-2
    init_kind: str = "balanced"
    init_tilt: float = 0.0
    name: ClassVar[str] = "tensor"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam("init_scale", float, doc="scale σ of every factor at init", low=0.0, low_open=True),
        HParam("init_tilt", float,
               doc="tilt τ: factor n scaled by e^{τ(n − (N−1)/2)} (same components, unbalanced factors)"),
    )

    def __post_init__(self) -> None:
        for what, value, lo in (("order", self.order, 2), ("rank", self.rank, 1), ("dim", self.dim, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
                raise InputError(f"tensor {what} must be an integer >= {lo}, got {value!r}")
        if self.order > len(_LETTERS):
            raise InputError(f"tensor order must be at most {len(_LETTERS)}, got {self.order}")
        if self.init_kind not in INITS:
            raise InputError(f"unknown tensor init '{self.init_kind}'; valid: {', '.join(INITS)}")
        if not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise InputError(f"init scale must be positive, got {self.init_scale}")
        if not np.isfinite(self.init_tilt):
            raise InputError(f"init tilt must be a finite number, got {self.init_tilt}")

    @property
    def n_features(self) -> int:
        """Number of entries k^N of the end-to-end tensor."""
        return int(self.dim) ** int(self.order)

    @property
    def shape(self) -> tuple[int, ...]:
        return (int(self.dim),) * int(self.order)

    def init(self, hp: Mapping[str, jax.Array], key: jax.Array) -> dict:
        sigma = self.hparam(hp, "init_scale")
        g = jax.random.normal(key, (self.order, self.rank, self.dim))
        if self.init_kind == "balanced":
            F = sigma * g / jnp.linalg.norm(g, axis=-1, keepdims=True)
        else:
            F = sigma * g / np.sqrt(self.dim)
        tilt = self.hparam(hp, "init_tilt")  # factor n scaled by e^{τ(n − (N−1)/2)}: same ‖W_r‖, unbalanced
        scale = jnp.exp(tilt * (jnp.arange(self.order) - (self.order - 1) / 2.0))
        return {"factors": F * scale[:, None, None]}

    def end_to_end(self, params: dict) -> jax.Array:
        """W (k, ..., k) = Σ_r w_r¹ ⊗ ⋯ ⊗ w_r^N by einsum."""
        letters = _LETTERS[: self.order]
        spec = ",".join(f"r{c}" for c in letters) + "->" + letters
        F = params["factors"]
        return jnp.einsum(spec, *[F[n] for n in range(self.order)])

    def entries(self, params: dict, X: jax.Array) -> jax.Array:
        """(R, m): the entry X_i of each component W_r."""
        if X.ndim != 2 or X.shape[1] != self.order:
            raise InputError(f"tensor completion expects X = (m, {self.order}) index tuples, got {X.shape}")
        F = params["factors"]
        out = F[0][:, X[:, 0]]
        for n in range(1, self.order):
            out = out * F[n][:, X[:, n]]
        return out

    def predict(self, params: dict, X: jax.Array) -> jax.Array:
        return jnp.sum(self.entries(params, X), axis=0)

    def component_norms(self, params: dict) -> jax.Array:
        """‖W_r‖ = Π_n ‖w_r^n‖, shape (R,)."""
        return jnp.prod(jnp.linalg.norm(params["factors"], axis=-1), axis=0)


def norm_dynamics(model: TensorModel, params: dict, X: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(d‖W_r‖/dt along −∇_θ L, N ‖W_r‖^{2−2/N} ⟨−∇L(W), Ŵ_r⟩), both (R,), for L = (1/2m)‖f(X) − y‖².

    The left side is the chain rule through the factors (Σ_n ‖W_r‖ ⟨w_r^n, −∇_{w_r^n}L⟩/‖w_r^n‖²); the right
    side uses only the end-to-end gradient ∇L(W) (nonzero on the observed entries, residual/m) and
    ‖W_r‖: equal for every r exactly when the factors of W_r are balanced.
    """
    N = model.order
    m = X.shape[0]

    def loss(p):
        return 0.5 * jnp.mean((model.predict(p, X) - y) ** 2)

    grads = jax.grad(loss)(params)["factors"]                               # (N, R, k)
    F = params["factors"]
    sq = jnp.sum(F * F, axis=-1)                                            # ‖w_r^n‖², (N, R)
    norms = jnp.prod(jnp.sqrt(sq), axis=0)
    lhs = norms * jnp.sum(jnp.sum(F * -grads, axis=-1) / sq, axis=0)
    residual = model.predict(params, X) - y
    inner = -(model.entries(params, X) @ residual) / m / norms              # ⟨−∇L(W), Ŵ_r⟩
    rhs = N * norms ** (2.0 - 2.0 / N) * inner
    return lhs, rhs


def _factory(n_features: int, order: int | None = None, rank: int | None = None, dim: int | None = None,
             init_scale: float | None = None, init: str | None = None, shape=None, kind=None) -> TensorModel:
    """CLI factory: order and dim default to the problem's tensor shape (``shape`` from the data)."""
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if len(set(shape)) != 1:
            raise InputError(f"the tensor model needs a cubical tensor (all dims equal), got shape {shape}")
        order = order if order is not None else len(shape)
        dim = dim if dim is not None else shape[0]
        if (order, dim) != (len(shape), shape[0]):
            raise InputError(f"--order/--dim ({order}, {dim}) do not match the data's tensor shape {shape}")
    if order is None or dim is None:
        raise InputError("the tensor model needs --order and --dim (or a tensor-completion .npz with a shape)")
    opts = {k: v for k, v in dict(rank=rank, init_scale=init_scale, init_kind=init).items() if v is not None}
    return TensorModel(order=int(order), dim=int(dim), **opts)


def _example():
    """Order 3, dimension 2, two components, on five observed entries of a rank-one tensor."""
    from implicit_bias.problems.tensor import tensor_completion

    return TensorModel(order=3, rank=2, dim=2, init_scale=0.3), tensor_completion(3, 2, 1, 5, seed=0)


register_model("tensor", _factory, summary="order-N CP factorization W = Σ_r w_r¹⊗⋯⊗w_r^N (tensor completion)",
               example=_example)
