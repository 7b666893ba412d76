"""Candidate regularizers scored at the flow's limit: which R makes w∞ a KKT point of min R s.t. Xw = y?

For a strictly convex R the limit of a mirror flow from w0 satisfies ∇R(w∞) − ∇R(w0) ∈ range(Xᵀ). The
scale-free KKT residual of a candidate is

    r(R) = ‖P⊥(∇R(w∞) − ∇R(w0))‖ / ‖∇R(w∞) − ∇R(w0)‖,   P⊥ = I − X⁺X   (0 for the right R),

minimised over a subgradient where R is not differentiable (ℓ1, group, nuclear: origin-centred forms,
the small-initialization limits) and over the candidate's parameter (Q_α's α, ℓp's p, the depth-3
power potential's α) where it has one. Each candidate is also compared with its exact minimizer from
:mod:`implicit_bias.references` (distance and relative gap in R) and scored along the flow's path
(the same residual at every recorded w(t): a mirror flow keeps it at 0 all the way).

References: Gunasekar et al., "Characterizing implicit bias in terms of optimization geometry", ICML
2018 (mirror-descent KKT conditions); Woodworth et al., COLT 2020 (Q_α); Rudoler et al. (gradient
matching: fitting a regularizer to the flow's gradients — the closest prior estimator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.optimize import least_squares, lsq_linear

from implicit_bias.errors import ReferenceFailure


@dataclass
class Score:
    """One candidate's fit: KKT residual at w∞, along the path, and against its exact minimizer."""

    name: str
    kkt: float
    params: dict = field(default_factory=dict)
    path: float = float("nan")
    distance: float = float("nan")
    gap: float = float("nan")
    reference: str = ""

    def row(self) -> dict:
        return {"candidate": self.name, "kkt_residual": self.kkt, "path_residual": self.path,
                "distance_to_minimizer": self.distance, "gap": self.gap, "reference": self.reference,
                **{k: float(v) for k, v in self.params.items()}}


def complement(X: np.ndarray) -> np.ndarray:
    """An orthonormal basis (d, d − r) of the null space of X (the directions P⊥ keeps)."""
    _, s, Vt = np.linalg.svd(X, full_matrices=True)
    r = int(np.sum(s > s[0] * max(X.shape) * np.finfo(float).eps)) if s.size and s[0] > 0 else 0
    return Vt[r:].T


def residual(N: np.ndarray, g: np.ndarray) -> float:
    """‖P⊥ g‖/‖g‖ with P⊥ = N Nᵀ (NaN when g = 0 or is not finite)."""
    norm = float(np.linalg.norm(g))
    if not (norm > 0 and np.all(np.isfinite(g))):
        return float("nan")
    return float(np.linalg.norm(N.T @ g)) / norm


def _support(w: np.ndarray) -> np.ndarray:
    return np.abs(w) > 1e-7 * max(float(np.max(np.abs(w))), np.finfo(float).tiny)


def l1_residual(N: np.ndarray, w: np.ndarray) -> float:
    """min over z ∈ ∂‖w‖₁ of ‖P⊥ z‖/‖z‖ (off the support z_i ∈ [−1, 1]; bounded least squares)."""
    S = _support(w)
    fixed = N.T[:, S] @ np.sign(w[S])
    if np.all(S):
        return residual(N, np.sign(w))
    sol = lsq_linear(N.T[:, ~S], -fixed, bounds=(-1.0, 1.0), lsmr_tol="auto", tol=1e-14)
    z = np.sign(w).astype(float)
    z[~S] = sol.x
    return residual(N, z)


def _fit_scalar(score_vec: Callable[[float], np.ndarray], grid: np.ndarray) -> tuple[float, float]:
    """(x̂, residual) minimising ‖score_vec(x)‖ over a log grid, then least squares in log x inside the grid."""
    vals = [float(np.linalg.norm(score_vec(x))) if np.all(np.isfinite(score_vec(x))) else np.inf for x in grid]
    x0 = float(grid[int(np.argmin(vals))])

    def f(z):
        r = score_vec(math.exp(z[0]))
        return np.where(np.isfinite(r), r, 1e3)

    lo, hi = math.log(float(grid.min())), math.log(float(grid.max()))
    sol = least_squares(f, [math.log(x0)], bounds=([lo], [hi]), xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=200)
    x = math.exp(sol.x[0])
    return x, float(np.linalg.norm(score_vec(x)))


def _kkt_vec(N: np.ndarray, grad_R: Callable[[np.ndarray], np.ndarray], w: np.ndarray, w0: np.ndarray) -> np.ndarray:
    g = grad_R(w) - grad_R(w0)
    norm = float(np.linalg.norm(g))
    return (N.T @ g) / norm if norm > 0 else np.full(N.shape[1], np.nan)


def grad_q_alpha(alpha: float) -> Callable[[np.ndarray], np.ndarray]:
    """∇Q_α(w) = arcsinh(w/(2α²)) (Woodworth et al. 2020)."""
    return lambda w: np.arcsinh(np.asarray(w) / (2 * alpha ** 2))


def grad_power3(alpha: float) -> Callable[[np.ndarray], np.ndarray]:
    """The mirror map ζ(w) of u³ − v³ from u0 = v0 = α: w = (1/α − 3ζ)^{−3} − (1/α + 3ζ)^{−3}, |ζ| < 1/(3α)."""

    def h(z):
        return (1 / alpha - 3 * z) ** -3.0 - (1 / alpha + 3 * z) ** -3.0

    def inv(w):
        w = np.asarray(w, dtype=float)
        lo, hi = np.full(w.shape, -1 / (3 * alpha)), np.full(w.shape, 1 / (3 * alpha))
        for _ in range(200):
            mid = (lo + hi) / 2
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                below = h(mid) < w
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return (lo + hi) / 2

    return inv


def neuron_grad(delta: float) -> Callable[[np.ndarray], np.ndarray]:
    """∇R of the single hidden unit w = a·v: R(w) = ⅓√((δ+s)/2)(s − 2δ), s = √(δ² + 4‖w‖²), δ = a0² − ‖v0‖²."""

    def grad(w):
        w = np.asarray(w, dtype=float)
        r2 = float(w @ w)
        s = math.sqrt(delta ** 2 + 4 * r2)
        # d/d(r²) of ⅓ √((δ+s)/2) (s − 2δ) with ds/d(r²) = 2/s
        m = math.sqrt((delta + s) / 2)
        dR = (1 / 3) * ((1 / (4 * m)) * (s - 2 * delta) + m) * (2 / s)
        return 2 * dR * w

    return grad


def score_candidates(X: np.ndarray, y: np.ndarray, w: np.ndarray, w0: np.ndarray, path: np.ndarray | None = None,
                     *, groups: np.ndarray | None = None, extra: dict | None = None) -> list[Score]:
    """Every candidate's score at the limit w (d,) from w0, ranked by KKT residual (best first).

    ``path``: recorded w(t) (R, d) for the path residual; ``extra``: name -> ∇R for candidates of
    the user's own (scored like ℓ2, without a reference).
    """
    with np.errstate(all="ignore"):
        return _score_all(X, y, w, w0, path, groups, extra)


def _score_all(X, y, w, w0, path, groups, extra) -> list[Score]:
    from implicit_bias.references import min_l1_interpolator, min_l2_interpolator, q_alpha_interpolator
    from implicit_bias.references.q_alpha import q_alpha_regularizer

    N = complement(X)
    scores: list[Score] = []
    moving = [] if path is None else [p for p in path if np.linalg.norm(p - w0) > 1e-6 * np.linalg.norm(w - w0)]

    def along(grad_R):
        vals = [float(np.linalg.norm(_kkt_vec(N, grad_R, p, w0))) for p in moving]
        vals = [v for v in vals if np.isfinite(v)]
        return max(vals) if vals else float("nan")

    def compare(score: Score, make_ref: Callable, R: Callable | None = None) -> Score:
        try:
            ref = make_ref()
        except (ReferenceFailure, ValueError) as err:
            score.reference = f"none ({' '.join(str(err).split())[:60]})"
            return score
        score.distance = float(np.linalg.norm(w - ref.solution) / max(np.linalg.norm(ref.solution), 1e-300))
        if R is not None:
            score.gap = float((R(w) - R(ref.solution)) / max(abs(R(ref.solution)), 1e-300))
        score.reference = ref.name
        return score

    # ℓ2 from w0: argmin ‖w − w0‖ s.t. Xw = y
    ident = lambda v: np.asarray(v, dtype=float)  # noqa: E731
    scores.append(compare(Score("l2", residual(N, w - w0), path=along(ident)),
                          lambda: min_l2_interpolator(X, y, w0), lambda v: 0.5 * float((v - w0) @ (v - w0))))
    # ℓ1 (origin-centred; the small-initialization limit)
    scores.append(compare(Score("l1", l1_residual(N, w), path=max([l1_residual(N, p) for p in moving], default=float("nan"))),
                          lambda: min_l1_interpolator(X, y), lambda v: float(np.abs(v).sum())))
    # Q_α with fitted α
    scale = max(float(np.max(np.abs(w))), 1e-300)
    alpha, _ = _fit_scalar(lambda a: _kkt_vec(N, grad_q_alpha(a), w, w0), np.sqrt(scale) * np.logspace(-4, 2, 25))
    s = Score("Q_alpha", float(np.linalg.norm(_kkt_vec(N, grad_q_alpha(alpha), w, w0))), {"alpha": alpha},
              path=along(grad_q_alpha(alpha)))
    if np.allclose(w0, 0, atol=1e-12 * scale):
        s = compare(s, lambda: q_alpha_interpolator(X, y, alpha), lambda v: q_alpha_regularizer(v, alpha))
    else:
        s.reference = "none (w0 != 0)"
    scores.append(s)
    # entropy (w > 0 and w0 > 0 only)
    if np.all(w > 0) and np.all(w0 > 0):
        scores.append(Score("entropy", residual(N, np.log(w / w0)), path=along(np.log), reference="none"))
    else:
        scores.append(Score("entropy", float("nan"), reference="none (needs w > 0 and w0 > 0)"))
    # ℓp with fitted p ∈ (1, 4]
    lp = lambda p: (lambda v: np.sign(v) * np.abs(v) ** (p - 1))  # noqa: E731
    p_hat, r_p = _fit_scalar(lambda p: _kkt_vec(N, lp(1 + p), w, w0), np.logspace(-3, math.log10(3), 20))
    scores.append(Score("lp", r_p, {"p": 1 + p_hat}, path=along(lp(1 + p_hat)), reference="none"))
    # depth-3 power potential with fitted α (its exact minimizer: the depth-3 diagonal network's limit)
    scale3 = max(float(np.max(np.abs(w))), 1e-300) ** (1 / 3)
    a3, r3 = _fit_scalar(lambda a: _kkt_vec(N, grad_power3(a), w, w0), scale3 * np.logspace(-3, 1, 17))
    s3 = Score("power-3", r3, {"alpha": a3}, path=along(grad_power3(a3)))
    if np.allclose(w0, 0, atol=1e-12 * max(float(np.max(np.abs(w))), 1e-300)):
        s3 = compare(s3, lambda: q_alpha_interpolator(X, y, a3, depth=3))
    else:
        s3.reference = "none (w0 != 0)"
    scores.append(s3)
    if groups is not None:
        scores.append(_group_score(X, y, N, w, np.asarray(groups), compare))
    for name, grad_R in (extra or {}).items():
        scores.append(Score(name, float(np.linalg.norm(_kkt_vec(N, grad_R, w, w0))), path=along(grad_R), reference="none"))
    return sorted(scores, key=_rank_key)


def _rank_key(s: Score) -> tuple[bool, float]:
    """Finite scores first, by the larger of the limit's and the path's residual."""
    worst = max(s.kkt, s.path) if np.isfinite(s.path) else s.kkt
    return (not np.isfinite(worst), worst)


def _group_score(X, y, N, w, groups, compare) -> Score:
    """Group ℓ2,1 norm: z_g = w_g/‖w_g‖ on active groups, ‖z_g‖ ≤ 1 free elsewhere (SOCP, cvxpy)."""
    import cvxpy as cp

    from implicit_bias.references.group_norm import min_group_norm_interpolator

    labels = np.unique(groups)
    norms = {g: float(np.linalg.norm(w[groups == g])) for g in labels}
    top = max(norms.values()) if norms else 0.0
    z = cp.Variable(w.size)
    cons = []
    for g in labels:
        idx = np.flatnonzero(groups == g)
        if norms[g] > 1e-7 * top:
            cons.append(z[idx] == w[idx] / norms[g])
        else:
            cons.append(cp.norm(z[idx], 2) <= 1)
    prob = cp.Problem(cp.Minimize(cp.norm(N.T @ z, 2)), cons)
    prob.solve(solver=cp.CLARABEL)
    kkt = residual(N, np.asarray(z.value)) if z.value is not None else float("nan")
    return compare(Score("group", kkt), lambda: min_group_norm_interpolator(X, y, groups),
                   lambda v: float(sum(np.linalg.norm(v[groups == g]) for g in labels)))
