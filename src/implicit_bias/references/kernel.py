"""Kernel regression with the empirical neural tangent kernel: where the linearized model converges.

For a model f(θ; x) with parameters θ (P,) at θ0, J = ∂f(θ0; X)/∂θ (n, P) and the empirical NTK
K(x, x') = ⟨∇f(θ0; x), ∇f(θ0; x')⟩. Gradient descent or flow on the square loss of the
linearization f(θ0) + J(θ − θ0) keeps θ − θ0 ∈ rowspan(J) and converges to

    θ* = θ0 + J⁺(y − f0),   f0 = f(θ0; X),
    f*(x) = f(θ0; x) + K(x, X) c,   c = K(X, X)⁻¹(y − f0),

the interpolator of the residual with minimum RKHS norm ‖f* − f0‖_K = ‖θ* − θ0‖ = √(cᵀKc)
(closed form; no training). The pseudo-inverse is taken through the SVD of J
(:func:`implicit_bias.references.min_l2_interpolator`), not by inverting K, which squares the
condition number.

References: Jacot, Gabriel, Hongler, "Neural tangent kernel", NeurIPS 2018; Lee et al., "Wide neural
networks of any depth evolve as linear models under gradient descent", NeurIPS 2019.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from implicit_bias.errors import InputError
from implicit_bias.keys import seed_keys
from implicit_bias.models.linearized import LinearizedModel
from implicit_bias.models.mlp import make_mlp
from implicit_bias.references.base import Reference, ReferenceSpec, check_data, given, register
from implicit_bias.references.min_l2 import min_l2_interpolator

OPTIONS = ("widths", "activation", "bias", "init_scale", "output_scale", "parameterization", "leaky_slope", "seed")


def _base(model: Any, params0: Any) -> tuple[Any, Any]:
    """(network, its parameters θ0): a linearized model is replaced by the network it expands."""
    if isinstance(model, LinearizedModel):
        return model.base, (params0["theta0"] if isinstance(params0, dict) and "theta0" in params0 else params0)
    return model, params0


def _flat_function(model: Any, params0: Any) -> tuple[Callable[[jax.Array, jax.Array], jax.Array], jax.Array]:
    """(g(θ_flat, X) = f(θ; X), θ0_flat) over the trainable parameters (an MLP's output scale stays fixed)."""
    model, params0 = _base(model, params0)
    params0 = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=jnp.float64), params0)
    flat0, unravel = ravel_pytree(model.trainable(params0))

    def g(theta: jax.Array, X: jax.Array) -> jax.Array:
        return model.predict(model.with_trainable(params0, unravel(theta)), X)

    return g, flat0


def empirical_ntk(model: Any, params0: Any, X1: np.ndarray, X2: np.ndarray | None = None) -> np.ndarray:
    """K(X1, X2) = J(X1) J(X2)ᵀ (n1, n2) at θ0, over the trainable parameters."""
    g, flat0 = _flat_function(model, params0)
    J1 = np.asarray(jax.jacrev(g)(flat0, jnp.asarray(X1, dtype=jnp.float64)))
    J2 = J1 if X2 is None else np.asarray(jax.jacrev(g)(flat0, jnp.asarray(X2, dtype=jnp.float64)))
    return J1 @ J2.T


def ntk_kernel_interpolator(model: Any, params0: Any, X: np.ndarray, y: np.ndarray) -> Reference:
    """θ* = θ0 + J⁺(y − f(θ0; X)): the min-RKHS-norm interpolator with the empirical NTK at θ0.

    Args:
      model: an MLP (or any model; a ``LinearizedModel`` is replaced by its base network).
      params0: θ0, the model's parameters (for a linearized model its params or its base's).
      X: (n, d) training inputs; y: (n,) targets.

    Returns a Reference with solution θ* (P,) (flattened trainable parameters, the same vector as
    ``model.end_to_end``), objective ‖θ* − θ0‖ = ‖f* − f0‖_K, arrays {theta0, coefficients c (n,),
    kernel K (n, n), f0 (n,)} and info {rank, residual, relative_residual, condition, n_params}.
    Predictions on new inputs: :func:`ntk_predict`.
    """
    X, y = check_data(X, y)
    g, flat0 = _flat_function(model, params0)
    Xj = jnp.asarray(X)
    J = np.asarray(jax.jacrev(g)(flat0, Xj))
    f0 = np.asarray(g(flat0, Xj))
    ref = min_l2_interpolator(J, y - f0)
    delta = ref.solution
    K = J @ J.T
    coefficients = np.linalg.lstsq(J.T, delta, rcond=None)[0]  # δ = Jᵀc, δ ∈ rowspan(J)
    s = np.linalg.svd(J, compute_uv=False)
    info = {"rank": ref.info["rank"], "residual": ref.info["residual"],
            "relative_residual": ref.info["relative_residual"], "consistent": ref.info["consistent"],
            "condition": float(s[0] / s[ref.info["rank"] - 1]) if ref.info["rank"] else float("inf"),
            "n_params": int(flat0.size), "solver": "numpy-svd of the Jacobian"}
    return Reference("ntk-kernel-regression", np.asarray(flat0) + delta, float(np.linalg.norm(delta)), ref.status,
                     arrays={"theta0": np.asarray(flat0), "coefficients": coefficients, "kernel": K, "f0": f0},
                     info=info)


def ntk_predict(model: Any, params0: Any, reference: Reference, X_new: np.ndarray) -> np.ndarray:
    """f*(X_new) = f(θ0; X_new) + J(θ0; X_new)(θ* − θ0) (n_new,), by one jvp."""
    g, flat0 = _flat_function(model, params0)
    delta = jnp.asarray(reference.solution) - flat0
    f0, df = jax.jvp(lambda t: g(t, jnp.asarray(X_new, dtype=jnp.float64)), (flat0,), (delta,))
    return np.asarray(f0 + df)


def initial_params(model: Any, seed: int = 0, hp: dict | None = None) -> Any:
    """θ0 exactly as the engine draws it for ``seed`` (:func:`implicit_bias.keys.seed_keys`)."""
    k_init, _ = seed_keys(int(seed))
    return model.init(hp or {}, k_init)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, OPTIONS, SPEC.name)
    seed = opts.pop("seed", 0)
    if isinstance(seed, bool) or not float(seed).is_integer():
        raise InputError(f"seed must be an integer, got {seed!r}")
    model = make_mlp(problem.n_features, **opts)
    params0 = initial_params(model, int(seed))
    ref = ntk_kernel_interpolator(model, params0, problem.X, problem.y)
    if problem.has_test:
        arrays = {**ref.arrays, "predictions_test": ntk_predict(model, params0, ref, problem.X_test)}
        return Reference(ref.name, ref.solution, ref.objective, ref.status, arrays=arrays, info=ref.info)
    return ref


SPEC = register(ReferenceSpec(
    name="ntk-kernel-regression",
    summary="min-RKHS-norm interpolator with the empirical NTK of an mlp at init: θ0 + J⁺(y − f(θ0))",
    compute=_compute,
    options=OPTIONS,
))
