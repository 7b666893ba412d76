"""The identification test cases with exact answers (X = [[1, 2]] unless stated).

* T1 u⊙u − v⊙v, u0 = v0 = 1/√2, y = 4.5: w* = (3/4, 15/8), R(w*) = −11/32 + (9/8) log 2 (¼Q_α, α = 1/√2).
* T2 u⊙u, u0 = (1, 1), y = 10: entropy, w* = (2, 4); X = [[1, 1]], y = −1 is not interpolable (w ≥ 0).
* T3 u³ − v³, u0 = v0 = 1, y = 19424/1125: power D = 3, w* = (6272/3375, 208/27) (ν = 1/12).
* T4 G_i = ½θᵀA_iθ, A_i = P diag(Λ_i) Pᵀ, P a random rotation: commuting, not separable; the limit is the
  entropy projection w = Λz*, z* = argmin Σ ½(z log(z/z0) − z + z0) s.t. XΛz = y, z0 = ½(Pᵀθ0)².
* T5 w = a·v, θ0 = (0.8; 0.3, −0.2, 0.4), X = [[1,0,1],[0,1,−1]], y = (1, 2): time-warped mirror flow,
  w* = (1.38436845736258364, 1.61563154263741636, −0.38436845736258364).
* T6 w = W1ᵀa, 3 hidden units, d = 5, n = 2: hidden state; w∞ − W1(0)ᵀa∞ ∈ range(Xᵀ).

References: Woodworth et al., COLT 2020; Azulay et al., ICML 2021; Li, Wang, Lee & Arora, NeurIPS 2022.
"""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np

X12 = np.array([[1.0, 2.0]])
T1_W = np.array([0.75, 15 / 8])
T1_R = -11 / 32 + 9 / 8 * math.log(2)
T2_W = np.array([2.0, 4.0])
T3_Y = 19424 / 1125
T3_W = np.array([6272 / 3375, 208 / 27])
T5_W = np.array([1.38436845736258364, 1.61563154263741636, -0.38436845736258364])


@dataclass(frozen=True, eq=False)
class Case:
    """G (a registered name or a callable), θ0, X, y and the exact answer where there is one."""

    name: str
    G: Any
    theta0: np.ndarray
    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def t4_quadratic(seed: int = 0, d: int = 3, p: int = 4, n: int = 2):
    """(G, θ0, X, y, Λ (d, p), z0 (p,)) of T4: commuting non-diagonal quadratics with a reachable target."""
    rng = np.random.default_rng(seed)
    P, _ = np.linalg.qr(rng.standard_normal((p, p)))
    Lam = rng.uniform(0.5, 2.0, (d, p))
    A = np.einsum("pk,ik,qk->ipq", P, Lam, P)
    theta0 = rng.standard_normal(p)
    X = rng.standard_normal((n, d))
    z0 = 0.5 * (P.T @ theta0) ** 2
    y = X @ Lam @ (z0 * np.exp(rng.uniform(-0.5, 0.5, p)))  # a reachable target (z > 0)
    A_j = jnp.asarray(A)

    def G(theta):
        return 0.5 * jnp.einsum("ipq,p,q->i", A_j, theta, theta)

    return G, theta0, X, y, Lam, z0


def entropy_projection(X: np.ndarray, y: np.ndarray, Lam: np.ndarray, z0: np.ndarray) -> tuple[np.ndarray, str]:
    """(w = Λz*, status) with z* = argmin Σ ½(z log(z/z0) − z + z0) s.t. XΛz = y.

    cvxpy (exponential cone, Clarabel), then polished by Newton on its KKT system z = z0 e^{2(XΛ)ᵀν},
    XΛz = y (started from cvxpy's z); status "optimal" when the polished feasibility residual is below
    1e-12 (stationarity holds by construction, so this is the unique KKT point of a strictly convex problem).
    """
    import cvxpy as cp

    B = X @ Lam
    z = cp.Variable(z0.size)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum(cp.rel_entr(z, z0) - z + z0)), [B @ z == y])
    prob.solve(solver=cp.CLARABEL)
    if prob.status not in ("optimal", "optimal_inaccurate") or z.value is None:
        return np.full(Lam.shape[0], np.nan), str(prob.status)
    nu = np.linalg.lstsq(B.T, 0.5 * np.log(np.maximum(z.value, 1e-300) / z0), rcond=None)[0]
    for _ in range(50):
        zz = z0 * np.exp(2 * B.T @ nu)
        F = B @ zz - y
        if np.linalg.norm(F) <= 1e-13 * np.linalg.norm(y):
            break
        nu = nu - np.linalg.solve(2 * (B * zz) @ B.T, F)
    zz = z0 * np.exp(2 * B.T @ nu)
    ok = np.linalg.norm(B @ zz - y) <= 1e-12 * np.linalg.norm(y)  # stationarity holds by construction: the KKT point
    return Lam @ zz, "optimal" if ok else "not certified"


@lru_cache(maxsize=None)
def two_layer(units: int = 3, d: int = 5):
    """w = W1ᵀa with θ = (W1 (units·d, row-major), a (units,)) (one function per shape: compiled once)."""

    def G(theta):
        return theta[units * d:] @ theta[: units * d].reshape(units, d)

    return G


def t6_case(init_scale: float, seed: int = 0, units: int = 3, d: int = 5, n: int = 2) -> Case:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    theta0 = init_scale * rng.standard_normal(units * d + units)
    return Case(f"T6 (scale {init_scale:g})", two_layer(units, d), theta0, X, y, extra={"units": units})


def issue_cases(seed: int = 0) -> list[Case]:
    """T1–T5 (T6 is built per init scale by :func:`t6_case`)."""
    G4, th4, X4, y4, Lam, z0 = t4_quadratic(seed)
    return [
        Case("T1", "uu-vv", np.full(4, 1 / math.sqrt(2)), X12, np.array([4.5]), T1_W),
        Case("T2", "uu", np.ones(2), X12, np.array([10.0]), T2_W),
        Case("T3", "power", np.ones(4), X12, np.array([T3_Y]), T3_W),
        Case("T4", G4, th4, X4, y4, None, {"Lambda": Lam, "z0": z0}),
        Case("T5", "neuron", np.array([0.8, 0.3, -0.2, 0.4]), np.array([[1.0, 0, 1], [0, 1, -1]]), np.array([1.0, 2.0]), T5_W),
    ]
