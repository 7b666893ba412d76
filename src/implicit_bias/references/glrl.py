"""Greedy low-rank learning (GLRL): the α → 0 limit of gradient flow on symmetric W = UUᵀ.

For symmetric sensing f(W) = (1/2m) Σ_i (⟨A_i, W⟩ − y_i)², GLRL (Li, Luo & Lyu 2021) builds W rank by rank:

    W_0 = 0; for k = 1, 2, ...:
        λ₁ ≥ λ₂ top eigenvalues of −∇f(W_{k−1}), u₁ the top eigenvector
        if λ₁ ≤ 0: stop (W_{k−1} ⪰ 0 minimizes the convex f over the PSD cone)
        U ← [U_{k−1}, ε u₁]; run gradient flow U̇ = −∇_U f(UUᵀ) = −2∇f(UUᵀ)U in rank k to its limit;
        W_k = UUᵀ

(ε → 0; here ε = ``escape``). Each flow is integrated with scipy (LSODA), then polished by Newton's
method on g(U) = f(UUᵀ) to an exact critical point, which is certified a strict local minimum of the
rank-k problem: ‖∇g‖ tiny and the Hessian positive definite apart from the k(k−1)/2 zero eigenvalues
of the rotations U ↦ UO. The eigengap λ₁ − λ₂ > 0 at every escape makes u₁ (and so the path) well
defined. These are the conditions under which the paper proves that gradient flow from a small init
follows GLRL; without them (ties, degenerate minima) it need not.

This module is independent of the engine: numpy, scipy.integrate and a dense Hessian.

References: Li, Luo, Lyu, "Towards resolving the implicit bias of gradient descent for matrix
factorization: greedy low-rank learning", ICLR 2021.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, given, register

#: gradient norm (relative to ‖∇g(U at escape)‖) that counts as a critical point after polishing.
GRAD_TOL = 1e-10


def _check(A: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    A, y = np.asarray(A, dtype=float), np.asarray(y, dtype=float)
    if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] == 0:
        raise InputError(f"GLRL needs square sensing matrices A (m, d, d), got {A.shape}")
    if y.shape != (A.shape[0],):
        raise InputError(f"y must have shape ({A.shape[0]},), got {y.shape}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(y))):
        raise InputError("A and y must be finite")
    if np.abs(A - np.swapaxes(A, 1, 2)).max() > 1e-12 * max(1.0, np.abs(A).max()):
        raise InputError("GLRL needs symmetric sensing matrices A_i = A_iᵀ")
    return A, y


class _Objective:
    """g(U) = f(UUᵀ) with its gradient and dense Hessian (vec(U) row-major)."""

    def __init__(self, A: np.ndarray, y: np.ndarray) -> None:
        self.A, self.y, self.m, self.d = A, y, A.shape[0], A.shape[1]

    def residual(self, W):
        return np.einsum("mij,ij->m", self.A, W) - self.y

    def value(self, U):
        r = self.residual(U @ U.T)
        return 0.5 * float(r @ r) / self.m

    def grad_W(self, W):
        return np.einsum("m,mij->ij", self.residual(W), self.A) / self.m

    def grad(self, U):
        return 2.0 * self.grad_W(U @ U.T) @ U

    def hessian(self, U):
        d, k = U.shape
        J = 2.0 * np.einsum("mij,jk->mik", self.A, U).reshape(self.m, d * k)   # ∂⟨A_i, UUᵀ⟩/∂U
        G = self.grad_W(U @ U.T)
        return J.T @ J / self.m + 2.0 * np.kron(G, np.eye(k))


def _flow(obj: _Objective, U0: np.ndarray, horizon: float, rtol: float) -> np.ndarray:
    d, k = U0.shape
    sol = solve_ivp(lambda t, u: -obj.grad(u.reshape(d, k)).reshape(-1), (0.0, horizon), U0.reshape(-1),
                    method="LSODA", rtol=rtol, atol=rtol * 1e-3)
    if not sol.success:
        raise ReferenceFailure(f"GLRL: rank-{k} gradient flow failed: {sol.message}")
    return sol.y[:, -1].reshape(d, k)


def _polish(obj: _Objective, U: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Newton steps on g (least-squares solve: the Hessian is singular along rotations)."""
    d, k = U.shape
    for _ in range(iterations):
        g = obj.grad(U).reshape(-1)
        if np.linalg.norm(g) < 1e-15:
            break
        step = np.linalg.lstsq(obj.hessian(U), g, rcond=1e-12)[0]
        U = U - step.reshape(d, k)
    return U


def glrl(A: Any, y: Any, *, escape: float = 1e-6, max_rank: int | None = None, horizon: float | None = None,
         rtol: float = 1e-10) -> Reference:
    """The GLRL limit W = UUᵀ (d, d) for symmetric sensing y_i = ⟨A_i, W*⟩.

    Returns a Reference with solution W, objective f(W) (the final loss), arrays {"U": U,
    "eigengaps", "escape_eigenvalues", "min_curvatures"} (per stage) and info {stages (the rank reached),
    stopped (True when −∇f(W) ⪯ 0 certified the end), min_eigengap, min_curvature, loss}.
    ReferenceFailure when a stage is not a certified strict local minimum.
    """
    A, y = _check(A, y)
    obj = _Objective(A, y)
    d = A.shape[1]
    max_rank = d if max_rank is None else int(max_rank)
    U = np.zeros((d, 0))
    gaps, lams, curvs = [], [], []
    stopped = False
    for k in range(1, max_rank + 1):
        evals, evecs = np.linalg.eigh(-obj.grad_W(U @ U.T))
        lam1, lam2 = float(evals[-1]), float(evals[-2]) if d > 1 else -np.inf
        if lam1 <= 1e-10 * max(1.0, np.abs(evals).max()):
            stopped = True
            break
        gaps.append(lam1 - lam2)
        lams.append(lam1)
        U0 = np.hstack([U, escape * evecs[:, -1:]])
        T = horizon if horizon is not None else 20.0 * np.log(1.0 / escape) / lam1 + 50.0 / lam1
        U = _polish(obj, _flow(obj, U0, T, rtol))
        grad = float(np.linalg.norm(obj.grad(U)))
        scale = max(float(np.linalg.norm(obj.grad_W(np.zeros((d, d))))), 1e-300)
        hess = np.sort(np.linalg.eigvalsh(obj.hessian(U)))
        n_rot = k * (k - 1) // 2
        if grad > GRAD_TOL * scale or (n_rot and np.abs(hess[:n_rot]).max() > 1e-7 * max(1.0, hess[-1])):
            raise ReferenceFailure(f"GLRL: the rank-{k} flow did not end at a critical point (‖∇g‖ = {grad:.2e})")
        curv = float(hess[n_rot])
        curvs.append(curv)
        if curv <= 1e-9 * max(1.0, hess[-1]):
            raise ReferenceFailure(f"GLRL: rank-{k} limit is not a strict local minimum (curvature {curv:.2e})")
    W = U @ U.T
    info = {"stages": int(U.shape[1]), "stopped": bool(stopped), "min_eigengap": float(min(gaps)) if gaps else 0.0,
            "min_curvature": float(min(curvs)) if curvs else 0.0, "loss": obj.value(U), "escape": float(escape)}
    return Reference("glrl", W, obj.value(U), "optimal",
                     arrays={"U": U, "eigengaps": np.asarray(gaps), "escape_eigenvalues": np.asarray(lams),
                             "min_curvatures": np.asarray(curvs)}, info=info)


def _compute(problem: Any, **options: Any) -> Reference:
    opts = given(options, SPEC.options, SPEC.name)
    return glrl(problem.X, problem.y, **({"max_rank": opts["max_rank"]} if "max_rank" in opts else {}))


def _example():
    """Six symmetric Gaussian measurements of a rank-one 3×3 PSD matrix."""
    from implicit_bias.problems.matrix import matrix_sensing

    return matrix_sensing((3, 3), 1, 6, psd=True, n_test=0, seed=0), {}


SPEC = register(ReferenceSpec(
    name="glrl",
    summary="greedy low-rank learning: escape along the top eigenvector of −∇f, rank-k flow, repeat (certified)",
    compute=_compute,
    options=("max_rank",),
    example=_example,
))
