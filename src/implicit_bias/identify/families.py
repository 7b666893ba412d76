"""Recognised families of the potential Q (commuting G): fitted from ∇Q(μ) = G(ψ(θ0; μ)) on coordinate rays.

Along μ = t·e_i a separable potential moves only w_i, and w_i(t) = h_i(t) is the derivative of a
one-dimensional Q_i. The families (parameters fitted per coordinate, then summarised):

* ``Q_alpha`` (hypentropy):  h(t) = a e^{ct} − b e^{−ct}, a, b > 0 (u⊙u − v⊙v: a = u0², b = v0², c = 4;
  u⊙v: a = ((u0+v0)/2)², b = ((u0−v0)/2)², c = 2). α = (ab)^{1/4} is Woodworth's scale when a = b.
  Closed form: s(t) = h(t) − h(−t) = 2(a+b) sinh(ct), so s(2t)/s(t) = 2 cosh(ct).
* ``entropy``: the same with b = 0 (u⊙u: w ≥ 0, R = Σ (w log(w/w0) − w + w0)/c).
* ``power`` (depth D ≥ 3): h(t) = (A − κt)^{−q} − (B + κt)^{−q}, q = D/(D−2) (u^D − v^D: A = u0^{2−D},
  B = v0^{2−D}, κ = D(D−2)); the dual domain −B/κ < t < A/κ is bounded.
* ``quadratic-entropy``: G_i = ½θᵀA_iθ with commuting symmetric A_i = P diag(Λ_i) Pᵀ (not separable):
  Q(μ) = ¼ Σ_k φ_k² e^{2⟨λ_k, μ⟩}, φ = Pᵀθ0, so w = Λz with z = ½φ² ⊙ e^{2Λᵀμ}: an entropy in z.
* ``quadratic``: G linear (∂G constant): Q(μ) = ⟨μ, w0⟩ + ½ μᵀ∂G∂Gᵀμ (an ℓ2 geometry).

A family is reported only when it reproduces every sample to ``FIT_TOL`` (relative).

References: Woodworth et al., COLT 2020 (Q_α, depth D); Azulay et al., ICML 2021 (u⊙v, shape);
Li, Wang, Lee & Arora, NeurIPS 2022 (commuting quadratic parameterizations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import least_squares

from implicit_bias.identify.potential import natural_step, psi

FIT_TOL = 1e-8
#: sample points on a coordinate ray, in units of a fifth of :func:`natural_step` (inside the dual
#: domain of every power family up to D = 8); ±1 and ±2 fit the hyperbolic family, all validate.
MULTIPLES = (-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0)


@dataclass
class Family:
    """A recognised potential family with its fitted parameters (per coordinate where they vary)."""

    name: str  # "Q_alpha", "entropy", "power", "quadratic-entropy", "quadratic" or "unrecognised"
    params: dict = field(default_factory=dict)
    fit_error: float = float("nan")
    separable: bool | None = None
    unbounded_dual_domain: bool | None = None

    def summary(self) -> dict:
        out = {"name": self.name, "fit_error": self.fit_error, "separable": self.separable,
               "unbounded_dual_domain": self.unbounded_dual_domain}
        for k, v in self.params.items():
            v = np.asarray(v)
            out[k] = float(v) if v.ndim == 0 else (float(np.median(v)) if v.size > 16 else v.tolist())
        return out


def _fit_hyperbolic(t: np.ndarray, h: np.ndarray, h0: float) -> tuple[float, float, float, float]:
    """(a, b, c, max relative error) for h(t) = a e^{ct} − b e^{−ct} sampled at ±t1, ±2t1."""
    t1 = t[t > 0].min()
    hp, hm = h[np.isclose(t, t1)][0], h[np.isclose(t, -t1)][0]
    hp2, hm2 = h[np.isclose(t, 2 * t1)][0], h[np.isclose(t, -2 * t1)][0]
    s1, s2 = hp - hm, hp2 - hm2
    ratio = s2 / (2 * s1) if s1 != 0 else np.nan
    if not (np.isfinite(ratio) and ratio > 1):
        return np.nan, np.nan, np.nan, np.inf
    c = float(np.arccosh(ratio) / t1)
    total, diff = s1 / (2 * np.sinh(c * t1)), h0
    a, b = (total + diff) / 2, (total - diff) / 2
    model = lambda tt: a * np.exp(c * tt) - b * np.exp(-c * tt)  # noqa: E731
    scale = max(np.max(np.abs(h - h0)), np.finfo(float).tiny)
    return a, b, c, float(np.max(np.abs(model(t) - h)) / scale)


def _fit_power(t: np.ndarray, h: np.ndarray, depth: int) -> tuple[np.ndarray, float]:
    """((A, B, κ), max relative error) for h(t) = (A − κt)^{−q} − (B + κt)^{−q}, q = D/(D−2)."""
    q = depth / (depth - 2)
    scale = max(np.max(np.abs(h - h[np.argmin(np.abs(t))])), np.finfo(float).tiny)

    def model(z, tt):
        A, B, k = np.exp(z)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return (A - k * tt) ** (-q) - (B + k * tt) ** (-q)

    def resid(z):
        r = (model(z, t) - h) / scale
        return np.where(np.isfinite(r), r, 1e6)

    slope = (h[t > 0].min() - h[t < 0].max()) / (t[t > 0].min() - t[t < 0].max())
    best = (None, np.inf)
    for k0 in (depth * (depth - 2), 1.0):
        base = max(slope / (2 * q * k0), 1e-300) ** (-1 / (q + 1))  # A = B with h'(0) = 2qκA^{−q−1}
        sol = least_squares(resid, np.log([base, base, k0]), xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=2000)
        err = float(np.max(np.abs(resid(sol.x))))
        if err < best[1]:
            best = (np.exp(sol.x), err)
    return best


def _coordinates(d: int, seed: int) -> np.ndarray:
    if d <= 6:
        return np.arange(d)
    return np.sort(np.random.default_rng(seed).choice(d, 6, replace=False))


@partial(jax.jit, static_argnums=0)
def _hessian_jacobian(G: Callable, theta: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.hessian(G)(theta), jax.jacfwd(G)(theta)


def _quadratic(G: Callable, theta0: np.ndarray) -> Family | None:
    """G_i = ½θᵀA_iθ (+ linear part zero) with commuting A_i, or G linear: the two non-separable families."""
    th = jnp.asarray(theta0)
    H0, J0 = (np.asarray(a) for a in _hessian_jacobian(G, th))  # (d, p, p), (d, p)
    rng = np.random.default_rng(1)
    other = th + jnp.asarray(rng.standard_normal(theta0.size))
    if not np.allclose(np.asarray(_hessian_jacobian(G, other)[0]), H0, rtol=1e-12, atol=1e-12 * max(np.abs(H0).max(), 1e-300)):
        return None
    if not np.any(H0):
        return Family("quadratic", {"ntk": J0 @ J0.T}, 0.0, separable=bool(np.allclose(J0 @ J0.T, np.diag(np.diag(J0 @ J0.T)))),
                      unbounded_dual_domain=True)
    w_check = np.asarray(G(th)) - 0.5 * np.einsum("ipq,p,q->i", H0, theta0, theta0)
    if np.max(np.abs(w_check)) > 1e-10 * max(np.max(np.abs(np.asarray(G(th)))), 1e-300):
        return None  # an affine offset or linear term: not the homogeneous quadratic family
    mix = np.tensordot(rng.standard_normal(H0.shape[0]), H0, axes=1)
    _, P = np.linalg.eigh(mix)
    Lam = np.einsum("pk,ipq,qk->ik", P, H0, P)  # (d, p) eigenvalues of each A_i in the common basis
    off = max(np.max(np.abs(P.T @ H0[i] @ P - np.diag(Lam[i]))) for i in range(H0.shape[0]))
    err = off / max(np.abs(H0).max(), 1e-300)
    if err > FIT_TOL:
        return None
    phi = P.T @ theta0
    return Family("quadratic-entropy", {"Lambda": Lam, "z0": 0.5 * phi ** 2, "basis": P}, float(err),
                  separable=False, unbounded_dual_domain=True)


def recognise(G: Callable, theta0: np.ndarray, *, seed: int = 0) -> Family:
    """The potential family of a commuting G at θ0 (see the module docstring), or ``unrecognised``."""
    w0 = np.asarray(G(jnp.asarray(theta0)))
    d = w0.size
    coords = _coordinates(d, seed)
    samples, separable = [], True
    for i in coords:
        e = np.zeros(d)
        e[i] = 1.0
        h = 0.2 * natural_step(G, theta0, e)
        if h == 0:
            return Family("unrecognised", {"reason": f"coordinate {i} does not move"}, separable=None)
        ts, hs = [], []
        for m in MULTIPLES:
            theta, _, ok = psi(G, theta0, m * h * e)
            if not ok:
                return Family("unrecognised", {"reason": "psi not solvable on a coordinate ray"})
            w = np.asarray(G(jnp.asarray(theta)))
            moved = w - w0
            others = np.delete(moved, i)
            if np.linalg.norm(others) > 1e-9 * max(np.linalg.norm(moved), 1e-300):
                separable = False
            ts.append(m * h)
            hs.append(w[i])
        samples.append((np.asarray(ts), np.asarray(hs), w0[i]))
    if not separable:
        quad = _quadratic(G, theta0)
        if quad is not None:
            return quad
        return Family("unrecognised", {"reason": "potential not separable and G not a commuting quadratic"},
                      separable=False)
    hyper = [_fit_hyperbolic(t, h, h0) for t, h, h0 in samples]
    err = max(f[3] for f in hyper)
    if err <= FIT_TOL:
        a, b, c = (np.array([f[k] for f in hyper]) for k in range(3))
        rel_b = np.minimum(np.abs(a), np.abs(b)) / np.maximum(np.abs(a) + np.abs(b), 1e-300)
        if np.all(rel_b <= 1e-10):
            return Family("entropy", {"a": np.maximum(a, b), "sign": np.sign(a - b), "c": c, "coordinates": coords},
                          err, separable=True, unbounded_dual_domain=True)
        return Family("Q_alpha", {"alpha": (a * b) ** 0.25, "a": a, "b": b, "c": c, "coordinates": coords},
                      err, separable=True, unbounded_dual_domain=True)
    best = None
    for depth in range(3, 9):
        fits = [_fit_power(t, h, depth) for t, h, _ in samples]
        e = max(f[1] for f in fits)
        if best is None or e < best[1]:
            best = (depth, e, np.array([f[0] for f in fits]))
    if best[1] <= FIT_TOL:
        depth, e, P = best
        return Family("power", {"depth": depth, "A": P[:, 0], "B": P[:, 1], "kappa": P[:, 2], "coordinates": coords},
                      e, separable=True, unbounded_dual_domain=False)
    return Family("unrecognised", {"reason": "separable, but no family fits", "best_error": min(err, best[1])},
                  min(err, best[1]), separable=True)
