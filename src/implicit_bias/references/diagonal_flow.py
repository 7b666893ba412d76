"""The exact limit of gradient flow on a diagonal network w = u^D − v^D, square loss, any positive init.

For L(w) = ½‖Xw − y‖², X (n, d), and g(t) = Xᵀ(Xw − y) (d,), the flow u̇ = −D u^{D−1} g,
v̇ = +D v^{D−1} g integrates in closed form with ζ(t) ∈ rowspan(X) (d,) a rescaled −∫₀ᵗ g:

    D = 2:  u = u0 e^{ζ/2},                  v = v0 e^{−ζ/2}                 (ζ = −4∫g)
    D ≥ 3:  u = (u0^{2−D} − ζ)^{−1/(D−2)},   v = (v0^{2−D} + ζ)^{−1/(D−2)}   (ζ = −D(D−2)∫g)

since d(u^{2−D})/dt = D(D−2)g (and d(log u)/dt = −2g at D = 2). So the limit is w = h(Xᵀν) with
h(ζ) = u(ζ)^D − v(ζ)^D strictly increasing on the domain −v0^{2−D} < ζ < u0^{2−D}, and ν (n,)
solves X h(Xᵀν) = y. That is the gradient of the strictly convex dual

    Φ(ν) = Σ_i H((Xᵀν)_i) − ⟨y, ν⟩,   H = u² + v² (D = 2),   H = ((D−2)/2)(u² + v²) (D ≥ 3),

which is minimized by damped Newton (Hessian X diag(h') Xᵀ, h' = c(u^{2D−2} + v^{2D−2}), c = 1 at
D = 2 and D/(D−2) above, factored by a row-sorted QR) with a backtracking line search that keeps
ζ in the domain (H is a barrier there). Every quantity is evaluated from δu = log(u/u0) and δv = log(v/v0)
(w = 2(u0v0)^{D/2} e^{D(δu+δv)/2} sinh(D(log(u0/v0) + δu − δv)/2), ΔH through expm1), so nothing
cancels at large α and nothing overflows at small α. At depth D ≥ 3 and small α the flow ends
near the domain's edge, where the gap 1 − u0^{D−2}ζ ~ (α^D/|w|)^{(D−2)/D} is tiny and float64's ζ
resolves it only to eps/gap relative; so ν is carried in double-double and each Newton iteration
re-centres at it, the gaps computed from a compensated Bᵀν (:mod:`_compensated`).
Equivalently w = argmin Ψ(w) − ⟨∇Ψ(w0), w⟩ s.t. Xw = y with (Ψ*)' = h: a mirror-descent limit.
:func:`diagonal_flow_finish` finishes a trained depth-2 network by this flow from its last (|u|, |v|),
even when its layers have underflowed or span hundreds of orders of magnitude.

References: Woodworth et al., "Kernel and rich regimes in overparametrized models", COLT 2020,
Theorems 1 and 3; Azulay et al., "On the implicit bias of initialization shape", ICML 2021.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import LinAlgError, solve_triangular

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.metrics.diagonal_curvature import hessian_trace
from implicit_bias.references import _compensated
from implicit_bias.references.base import check_data

_ARMIJO = 1e-4
_EPS = np.finfo(float).eps


class _Branches:
    """u(ζ), v(ζ) and what follows from them, for fixed inits u0, v0 (d,) and depth D.

    The state is δu = log(u/u0), δv = log(v/v0) as functions of an increment dz over a base
    point ζ̄ (0 until :meth:`recenter`); log u itself is never formed, since adding log u0 to a
    small δ rounds it away at large α. At D ≥ 3 the base stores, per branch and coordinate,
    either the gap ḡ = 1 ∓ u0^{D−2}ζ̄ (when below ½, to full relative precision) or x̄ = ∓u0^{D−2}ζ̄.
    """

    def __init__(self, u0: np.ndarray, v0: np.ndarray, depth: int):
        self.D, self.has_u, self.has_v = depth, u0 > 0, v0 > 0
        self.both = self.has_u & self.has_v
        self.u0D, self.v0D = u0 ** depth, v0 ** depth
        self.u02, self.v02 = u0 ** 2, v0 ** 2
        self.u0p, self.v0p = u0 ** (2 * depth - 2), v0 ** (2 * depth - 2)
        with np.errstate(divide="ignore"):
            lu0, lv0 = np.log(u0), np.log(v0)
        self.sum0 = np.where(self.both, lu0 + lv0, 0.0)  # log(u0 v0)
        self.diff0 = np.where(self.both, lu0 - lv0, 0.0)  # log(u0/v0)
        k = max(depth - 2, 1)
        self.a, self.b = u0 ** k, v0 ** k  # u0^{D−2}, v0^{D−2} (unused at D = 2)
        self.c_h = 1.0 if depth == 2 else depth / (depth - 2)
        self.c_H = 1.0 if depth == 2 else (depth - 2) / 2.0
        self.recenter(np.zeros_like(u0), np.zeros_like(u0))

    def recenter(self, hi: np.ndarray, lo: np.ndarray) -> None:
        """Make ζ̄ = hi + lo (double-double) the base point of :meth:`logs` (D ≥ 3)."""
        pu, eu = _compensated.two_product(self.a, hi)
        pv, ev = _compensated.two_product(self.b, hi)
        self.xu, self.xv = -(pu + (eu + self.a * lo)), pv + (ev + self.b * lo)
        self.gu, self.gv = ((1.0 - pu) - eu) - self.a * lo, ((1.0 + pv) + ev) + self.b * lo
        self.near_u, self.near_v = self.gu < 0.5, self.gv < 0.5
        self.zeta_bar = hi + lo

    def logs(self, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(δu, δv) at ζ̄ + dz; NaN or +inf outside the domain."""
        if self.D == 2:
            return dz / 2, -dz / 2
        k = self.D - 2
        with np.errstate(invalid="ignore", divide="ignore"):
            lu = np.where(self.near_u, np.log(self.gu - self.a * dz), np.log1p(self.xu - self.a * dz))
            lv = np.where(self.near_v, np.log(self.gv + self.b * dz), np.log1p(self.xv + self.b * dz))
        return -lu / k, -lv / k

    @staticmethod
    def inside(du: np.ndarray, dv: np.ndarray) -> bool:
        return bool(np.all(~np.isnan(du) & ~np.isnan(dv) & (du < np.inf) & (dv < np.inf)))

    def w(self, du: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """u^D − v^D = 2(u0v0)^{D/2} e^{D(δu+δv)/2} sinh(D(log(u0/v0) + δu − δv)/2), without cancellation."""
        D = self.D
        with np.errstate(over="ignore", invalid="ignore"):
            stable = 2.0 * np.exp(D * (self.sum0 + du + dv) / 2) * np.sinh(D * (self.diff0 + du - dv) / 2)
            plain = (np.where(self.has_u, self.u0D * np.exp(D * du), 0.0)
                     - np.where(self.has_v, self.v0D * np.exp(D * dv), 0.0))
        return np.where(self.both, stable, plain)

    def h_prime(self, du: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """dw/dζ = c (u^{2D−2} + v^{2D−2})."""
        p = 2 * self.D - 2
        with np.errstate(over="ignore", invalid="ignore"):
            return self.c_h * (np.where(self.has_u, self.u0p * np.exp(p * du), 0.0)
                               + np.where(self.has_v, self.v0p * np.exp(p * dv), 0.0))

    def dH(self, du: np.ndarray, dv: np.ndarray, du2: np.ndarray, dv2: np.ndarray) -> tuple[float, float]:
        """(Σ_i H(ζ'_i) − H(ζ_i), Σ_i of the terms' magnitudes) from the states at ζ and ζ'."""
        with np.errstate(over="ignore", invalid="ignore"):
            hu = np.where(self.has_u, self.u02 * np.exp(2 * du) * np.expm1(2 * (du2 - du)), 0.0)
            hv = np.where(self.has_v, self.v02 * np.exp(2 * dv) * np.expm1(2 * (dv2 - dv)), 0.0)
        return float(self.c_H * np.sum(hu + hv)), float(self.c_H * np.sum(np.abs(hu) + np.abs(hv)))

    def potential(self, du: np.ndarray, dv: np.ndarray, zeta: np.ndarray) -> float:
        """The Bregman divergence D_Ψ(w, w0) at w = h(ζ), Ψ = H*: ⟨w, ζ⟩ − (H(ζ) − H(0)) (∇Ψ(w0) = 0)."""
        zero = np.zeros_like(zeta)
        return float(np.sum(self.w(du, dv) * zeta)) - self.dH(zero, zero, du, dv)[0]


def _inits(u0, v0, d: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        u0 = np.broadcast_to(np.asarray(u0, dtype=float), (d,)).copy()
        v0 = np.broadcast_to(np.asarray(v0, dtype=float), (d,)).copy()
    except ValueError:
        raise InputError(f"u0 and v0 must be scalars or arrays of shape ({d},)") from None
    if not (np.all(np.isfinite(u0)) and np.all(np.isfinite(v0))) or np.any(u0 < 0) or np.any(v0 < 0):
        raise InputError("u0 and v0 must be finite and non-negative")
    if np.any(u0 + v0 == 0):
        raise InputError("u0 and v0 must not both vanish on a coordinate (it would never move)")
    return u0, v0


def _newton_directions(B: np.ndarray, hp: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Newton directions for (B diag(h') Bᵀ) Δ = −F, without forming the product.

    R comes from a QR of diag(√h') Bᵀ with rows sorted by decreasing h' (row-wise backward stable),
    so J = RᵀR. Returns the full solution and, when J's eigenvalues spread over more than 1e12
    (off-support coordinates whose h' is ~α^{2D−2}), the solution truncated to the eigenvalues
    above 1e-12·max: the full one moves those coordinates by huge dual steps whose round-off
    ‖J‖·eps·‖Δ‖ swamps the support, the truncated one fixes the support's residual exactly.
    """
    order = np.argsort(-hp)
    R = np.linalg.qr(np.sqrt(hp[order])[:, None] * B.T[order], mode="r")
    if not np.all(np.isfinite(R)):
        return -np.linalg.lstsq((B * hp) @ B.T, F, rcond=None)[0], None
    _, sv, Vt = np.linalg.svd(R)
    keep = sv ** 2 > 1e-12 * sv[0] ** 2
    truncated = -Vt[keep].T @ ((Vt[keep] @ F) / sv[keep] ** 2) if not keep.all() else None
    try:
        if np.any(np.abs(np.diag(R)) == 0):
            raise LinAlgError("singular")
        return solve_triangular(R, solve_triangular(R, -F, trans="T")), truncated
    except (LinAlgError, ValueError):
        return -np.linalg.lstsq((B * hp) @ B.T, F, rcond=None)[0], truncated


def _line_search(br: _Branches, B, c, F, dz, du, dv, delta, use_phi: bool):
    """Backtracking from t = 1: accept a certain Armijo decrease of Φ or a decrease of ‖Bw − c‖."""
    step = B.T @ delta if br.D == 2 else sum(_compensated.dot2(B, delta))  # Δ may be huge off-support
    slope, F_norm = float(F @ delta), float(np.linalg.norm(F))
    t = 1.0
    for _ in range(80):
        du2, dv2 = br.logs(dz + t * step)
        if br.inside(du2, dv2):
            w2 = br.w(du2, dv2)
            if np.all(np.isfinite(w2)):
                dH, size = br.dH(du, dv, du2, dv2)
                linear = t * float(c @ delta)
                noise = 1e3 * _EPS * (size + abs(linear))  # Φ's decrease is only trusted above this
                by_phi = use_phi and dH - linear + noise <= _ARMIJO * t * slope
                with np.errstate(over="ignore"):
                    F2_norm = float(np.linalg.norm(B @ w2 - c))
                if by_phi or F2_norm <= (1 - _ARMIJO * t) * F_norm:
                    return t, dz + t * step, du2, dv2, w2, by_phi
        t /= 2
    return None


def _newton(br: _Branches, B: np.ndarray, c: np.ndarray, residual, target: float, max_iter: int):
    """Damped Newton on Φ until residual(w) ≤ target, a stall or max_iter; returns the best iterate.

    ν is kept as a double-double (hi, lo). At D ≥ 3 every iteration re-centres the branches at ν
    (ζ̄ = Bᵀν by :func:`_compensated.dot2`), so the trial points ν + tΔ are evaluated from small
    increments dz = tBᵀΔ and the gaps at the domain's edge keep full relative precision.
    """
    r, d = B.shape
    nu_hi, nu_lo, dz = np.zeros(r), np.zeros(r), np.zeros(d)
    du, dv = br.logs(dz)
    w = br.w(du, dv)
    res, it, stall = residual(w), 0, 0
    best = (res, w, nu_hi.copy(), dz.copy(), du, dv)  # ζ = dz while the base point is 0
    while res > target and it < max_iter and stall < 5:
        it += 1
        if br.D > 2:
            hi, lo = _compensated.dot2(B, nu_hi)
            br.recenter(hi, lo + B.T @ nu_lo)
            dz = np.zeros(d)
            du, dv = br.logs(dz)
            w = br.w(du, dv)
        F = B @ w - c
        full, truncated = _newton_directions(B, br.h_prime(du, dv), F)
        found = _line_search(br, B, c, F, dz, du, dv, full, use_phi=True)
        delta = full
        if truncated is not None and (found is None or not found[5]):  # no certain progress on Φ
            other = _line_search(br, B, c, F, dz, du, dv, truncated, use_phi=False)
            if other is not None and (found is None or residual(other[4]) < residual(found[4])):
                found, delta = other, truncated
        if found is None:
            break
        t, dz, du, dv, w, by_phi = found
        nu_hi, err = _compensated.two_sum(nu_hi, t * delta)
        nu_lo = nu_lo + err
        new_res = residual(w)
        # progress: a certain decrease of Φ (damped phase) or a halved residual (Newton's local phase);
        # neither for 5 iterations means float64's floor
        stall = 0 if (by_phi or new_res < 0.5 * res) else stall + 1
        res = new_res
        if res < best[0]:
            best = (res, w, nu_hi + nu_lo, (br.zeta_bar + dz) if br.D > 2 else dz.copy(), du, dv)
    res, w, nu, zeta, du, dv = best
    return w, nu, zeta, du, dv, res, it


def diagonal_flow_limit(X: np.ndarray, y: np.ndarray, u0, v0, depth: int = 2, *, rtol: float = 1e-12,
                        max_iter: int = 500) -> tuple[np.ndarray, dict]:
    """The limit w (d,) of gradient flow on ½‖X(u^D − v^D) − y‖² from u(0) = u0, v(0) = v0 (≥ 0, (d,) or scalar).

    Returns (w, details) with details {"zeta": Xᵀν (d,), "dual": ν (n,), "potential": the implicit
    regularizer's value (Bregman divergence of w from w0 = u0^D − v0^D), "newton_iterations",
    "residual": ‖Xw − y‖/‖y‖}. ReferenceFailure if Xw = y has no solution the flow can reach or
    Newton does not reach ``rtol``.

    References: Woodworth et al., COLT 2020, Theorems 1 and 3 (u0 = v0 = α).
    """
    X, y = check_data(X, y)
    d = X.shape[1]
    if isinstance(depth, bool) or int(depth) != depth or depth < 2:
        raise InputError(f"depth must be an integer ≥ 2, got {depth!r}")
    br = _Branches(*_inits(u0, v0, d), int(depth))
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    r = int(np.sum(s > s[0] * max(X.shape) * np.finfo(float).eps)) if s[0] > 0 else 0
    U, s, B = U[:, :r], s[:r], Vt[:r]  # X = U diag(s) B, rows of B orthonormal
    y_norm = float(np.linalg.norm(y))
    if np.linalg.norm(y - U @ (U.T @ y)) > 1e-9 * max(y_norm, np.finfo(float).tiny):
        raise ReferenceFailure("Xw = y has no solution (y is not in the range of X): no interpolating limit")
    c = (U.T @ y) / s  # Xw = y  ⇔  Bw = c
    w0 = br.w(*br.logs(np.zeros(d)))
    scale = max(y_norm, float(s[0] if r else 0.0) * float(np.linalg.norm(w0)))

    def residual(w: np.ndarray) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.linalg.norm(X @ w - y))

    w, nu, zeta, du, dv, res, it = _newton(br, B, c, residual, rtol * scale, max_iter)
    rel = res / scale if scale > 0 else 0.0
    if res > rtol * scale:
        raise ReferenceFailure(f"diagonal-network limit: damped Newton stopped after {it} iterations at "
                               f"relative residual {rel:.3g} > rtol {rtol:g} (no interpolator the flow can "
                               "reach, or an init scale too extreme for float64 at this depth)")
    return w, {"zeta": zeta, "dual": U @ (nu / s), "potential": br.potential(du, dv, zeta),
               "newton_iterations": it, "residual": rel}


def _flow_in_logs(X: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the noise-free flow d log u/dt = −2g, d log v/dt = 2g (g = Xᵀ(Xw − y)/n) until ‖Xw − y‖ ≤ target
    (Radau, rtol 1e-11): the same flow, carried in logarithms so that layers of 1e-300 neither underflow nor
    stall the solver."""
    n, d = X.shape
    z0 = np.r_[np.log(u), np.log(v)]

    def residual(z):
        with np.errstate(over="ignore", invalid="ignore"):
            return X @ (np.exp(2 * z[:d]) - np.exp(2 * z[d:])) - y

    def rhs(t, z):
        g = X.T @ residual(z) / n
        return np.r_[-2 * g, 2 * g]

    def close(t, z):
        return float(np.linalg.norm(residual(z))) - target

    close.terminal = True
    sol = solve_ivp(rhs, (0.0, 1e6), z0, method="Radau", rtol=1e-11, atol=1e-11, events=close)
    z = sol.y[:, -1]
    return np.exp(z[:d]), np.exp(z[d:])


def diagonal_flow_finish(X: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, float]:
    """(w (d,), tr ∇²L at w): the exact depth-2 gradient-flow limit from (|u|, |v|) (d,) each (w depends on u, v only
    through u², v², and the flow maps |u|, |v| as it maps u, v). When the final iterate is far from
    interpolating and its layers span hundreds of orders of magnitude, the flow is first integrated in
    logarithms until the residual is 1e-3‖y‖, and the exact limit is taken from there."""
    u, v = np.abs(u), np.abs(v)
    live = (u > 0) | (v > 0)  # a coordinate with u = v = 0 (underflowed) never moves: w_j = 0 exactly
    Xl, ul, vl = X[:, live], u[live], v[live]
    try:
        wl, _ = diagonal_flow_limit(Xl, y, ul, vl)
    except ReferenceFailure:
        ul, vl = _flow_in_logs(Xl, y, ul, vl, 1e-3 * float(np.linalg.norm(y)))
        wl, _ = diagonal_flow_limit(Xl, y, ul, vl)
        u, v = u.copy(), v.copy()
        u[live], v[live] = ul, vl
    w = np.zeros(X.shape[1])
    w[live] = wl
    p = u * v  # conserved by the flow
    a = np.sqrt(w * w + 4 * p * p)  # u² + v² at the limit
    return w, float(hessian_trace(X, np.sqrt(a), np.zeros_like(a)))
