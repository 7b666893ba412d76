"""Matrix references: the minimum nuclear norm and the minimum Frobenius norm consistent with 𝒜(W) = y.

    nuclear-norm:   argmin ‖W‖_* = Σ σ_i(W)  s.t. 𝒜(W) = y      (optionally W ⪰ 0: min tr W)
    min-frobenius:  W0 + 𝒜⁺(y − 𝒜(W0))                       (depth 1: the kernel / lazy answer)
    commuting-flow-limit: the exact depth-2 flow limit from (α/√d)·I when the A_i commute (→ nuclear-norm as α → 0)

𝒜 is sensing (⟨A_i, W⟩) or completion (W[r_i, c_i]), see :mod:`implicit_bias.problems.matrix`.

The nuclear norm is solved as a conic program through cvxpy. Exact equality is solved in
the dual, max ⟨ν, y⟩ s.t. ‖𝒜*(ν)‖₂ ≤ 1 (λ_max(𝒜*ν) ≤ 1 for W ⪰ 0), whose PSD cone has
only m free variables; W is read off the PSD constraint's multiplier. Clarabel (interior
point) is used while d1 + d2 ≤ ``CLARABEL_MAX_DIM``; beyond that SCS on the primal. With a
tolerance the primal |𝒜(W) − y| ≤ tol is solved instead. Every solution is certified:
constraint residual, dual feasibility ‖𝒜*ν‖₂ and the duality gap ‖W‖_* − ⟨ν, y⟩.

The minimizer need not be unique (e.g. with commuting measurements); ``tie_break="frobenius"``
then returns the minimizer of least Frobenius norm (a second program on the optimal face,
within ``face_rtol``).

References: Recht, Fazel, Parrilo 2010 (nuclear norm minimization; SDP form); Gunasekar,
Woodworth, Bhojanapalli, Neyshabur, Srebro 2017 (Implicit regularization in matrix factorization).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.references.base import Reference, ReferenceSpec, given, register

#: above this d1 + d2 the interior-point solver's dense PSD blocks get slow: use SCS.
CLARABEL_MAX_DIM = 80
#: a certificate passes when residual, dual infeasibility and relative gap are below these.
RESIDUAL_RTOL = 1e-6
GAP_RTOL = 1e-5


def _operator(X: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix | np.ndarray:
    """The measurement operator as an (m, d1·d2) matrix acting on row-major vec(W)."""
    X = np.asarray(X)
    d1, d2 = shape
    if X.ndim == 3:
        if X.shape[1:] != (d1, d2):
            raise InputError(f"A has shape {X.shape}, expected (m, {d1}, {d2})")
        return X.reshape(X.shape[0], d1 * d2).astype(float)
    if X.ndim != 2 or X.shape[1] != 2 or not np.issubdtype(X.dtype, np.integer):
        raise InputError(f"completion indices must be an integer (m, 2) array, got {X.shape} {X.dtype}")
    if X.min() < 0 or X[:, 0].max() >= d1 or X[:, 1].max() >= d2:
        raise InputError(f"completion indices out of range for shape {shape}")
    m = X.shape[0]
    return sp.csr_matrix((np.ones(m), (np.arange(m), X[:, 0] * d2 + X[:, 1])), shape=(m, d1 * d2))


def _matrix_data(X: Any, y: Any, shape: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    try:
        d1, d2 = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError(f"shape must be (d1, d2), got {shape!r}") from None
    y = np.asarray(y, dtype=float)
    X = np.asarray(X)
    if y.ndim != 1 or y.shape[0] != X.shape[0] or y.size == 0:
        raise InputError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    if not np.all(np.isfinite(y)) or (X.ndim == 3 and not np.all(np.isfinite(X))):
        raise InputError("the measurements must be finite")
    return X, y, (d1, d2)


def _certify(W: np.ndarray, nu: np.ndarray | None, Aop, y: np.ndarray, psd: bool) -> dict[str, Any]:
    """Residual of 𝒜(W) = y, dual feasibility of ν and the relative duality gap."""
    d1, d2 = W.shape
    res = Aop @ W.reshape(-1) - y
    obj = float(np.trace(W)) if psd else float(np.linalg.svd(W, compute_uv=False).sum())
    scale = max(float(np.abs(y).max()), 1e-300)
    info: dict[str, Any] = {"residual": float(np.abs(res).max()), "relative_residual": float(np.abs(res).max()) / scale}
    if nu is not None:
        Z = (Aop.T @ nu).reshape(d1, d2)
        if psd:
            Z = 0.5 * (Z + Z.T)
            dual_norm = float(np.linalg.eigvalsh(Z)[-1])
            info["min_eigenvalue"] = float(np.linalg.eigvalsh(0.5 * (W + W.T))[0])
        else:
            dual_norm = float(np.linalg.norm(Z, 2))
        dual_obj = float(nu @ y)
        info.update(dual_norm=dual_norm, dual_objective=dual_obj,
                    relative_gap=abs(obj - dual_obj) / max(abs(obj), 1e-300))
    return info


def _solve_dual(Aop, y: np.ndarray, shape: tuple[int, int], psd: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """max ⟨ν, y⟩ s.t. ‖𝒜*ν‖₂ ≤ 1 (or 𝒜*ν ⪯ I); W is the multiplier of the PSD constraint."""
    import cvxpy as cp

    d1, d2 = shape
    nu = cp.Variable(len(y))
    Z = cp.reshape(Aop.T @ nu, (d1, d2), order="C")
    if psd:
        con = np.eye(d1) - 0.5 * (Z + Z.T) >> 0
    else:
        con = cp.bmat([[np.eye(d1), Z], [Z.T, np.eye(d2)]]) >> 0
    prob = cp.Problem(cp.Maximize(y @ nu), [con])
    with warnings.catch_warnings():  # "may be inaccurate": the certificate below decides
        warnings.simplefilter("ignore", UserWarning)
        prob.solve(solver="CLARABEL")
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise ReferenceFailure(_status_message(prob.status))
    M = np.asarray(con.dual_value)
    if psd:
        W = 0.5 * (M + M.T)
    else:
        B = M[:d1, d1:]
        # W = ±2·B (cvxpy's sign convention): keep the one that satisfies the constraints.
        W = min((2 * B, -2 * B), key=lambda V: np.abs(Aop @ V.reshape(-1) - y).max())
    return W, np.asarray(nu.value), prob.status


def _solve_primal(Aop, y: np.ndarray, shape: tuple[int, int], psd: bool, tolerance: float, solver: str,
                  extra=None) -> tuple[np.ndarray, np.ndarray | None, str, Any]:
    """min ‖W‖_* (tr W, W ⪰ 0) s.t. |𝒜(W) − y| ≤ tol (= when tol = 0); ``extra(W)`` adds constraints."""
    import cvxpy as cp

    d1, d2 = shape
    W = cp.Variable((d1, d2), PSD=True) if psd else cp.Variable((d1, d2))
    res = Aop @ cp.reshape(W, (d1 * d2,), order="C") - y
    cons = [res == 0] if tolerance == 0 else [cp.abs(res) <= tolerance]
    objective = cp.trace(W) if psd else cp.normNuc(W)
    if extra is not None:
        objective, more = extra(W, objective)
        cons = cons + more
    prob = cp.Problem(cp.Minimize(objective), cons)
    kwargs = {"eps": 1e-9, "max_iters": 100_000} if solver == "SCS" else {}
    with warnings.catch_warnings():  # "may be inaccurate": the certificate decides
        warnings.simplefilter("ignore", UserWarning)
        prob.solve(solver=solver, **kwargs)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise ReferenceFailure(_status_message(prob.status))
    nu = None
    if tolerance == 0 and extra is None and cons[0].dual_value is not None:
        nu = -np.asarray(cons[0].dual_value, dtype=float)
        if nu @ y < 0:  # cvxpy's sign convention for equality multipliers
            nu = -nu
    return np.asarray(W.value, dtype=float), nu, prob.status, prob.value


def _status_message(status: str) -> str:
    if status in ("unbounded", "infeasible", "infeasible_inaccurate", "unbounded_inaccurate"):
        return ("no matrix satisfies the observations exactly (solver status " + status + "); "
                "give a tolerance for noisy or inconsistent data")
    return f"the nuclear-norm program was not solved (solver status {status})"


def min_nuclear_norm(X: np.ndarray, y: np.ndarray, shape, *, psd: bool = False, tolerance: float = 0.0,
                     solver: str = "auto", tie_break: str | None = None, face_rtol: float = 1e-7) -> Reference:
    """The minimum nuclear norm matrix consistent with the observations.

    Args:
      X: sensing matrices A (m, d1, d2), or completion indices (m, 2) int.
      y: (m,) observations.
      shape: (d1, d2).
      psd: restrict to symmetric W ⪰ 0 (then ‖W‖_* = tr W): what W = UUᵀ can express.
      tolerance: 0 for exact equality, else max_i |𝒜(W)_i − y_i| ≤ tolerance.
      solver: "auto", "CLARABEL" or "SCS".
      tie_break: None, or "frobenius" for the least-Frobenius minimizer on the optimal face.

    Returns a Reference with solution W (d1, d2), objective ‖W‖_*, status and info
    {residual, dual_norm, relative_gap, singular_values (arrays), solver, certified}.
    """
    X, y, shape = _matrix_data(X, y, shape)
    if tolerance < 0 or not np.isfinite(tolerance):
        raise InputError(f"tolerance must be >= 0, got {tolerance}")
    if tie_break not in (None, "frobenius"):
        raise InputError(f"tie_break must be None or 'frobenius', got {tie_break!r}")
    if psd and shape[0] != shape[1]:
        raise InputError(f"psd needs a square shape, got {shape}")
    if solver not in ("auto", "CLARABEL", "SCS"):
        raise InputError(f"solver must be auto, CLARABEL or SCS, got {solver!r}")
    Aop = _operator(X, shape)
    small = sum(shape) <= CLARABEL_MAX_DIM
    chosen = ("CLARABEL" if small else "SCS") if solver == "auto" else solver
    if tolerance == 0 and chosen == "CLARABEL":
        W, nu, status = _solve_dual(Aop, y, shape, psd)
        how = "CLARABEL (dual)"
    else:
        W, nu, status, _ = _solve_primal(Aop, y, shape, psd, tolerance, chosen)
        how = f"{chosen} (primal)"
    info = _certify(W, nu, Aop, y, psd)
    objective = float(np.trace(W)) if psd else float(np.linalg.svd(W, compute_uv=False).sum())
    if tie_break == "frobenius":
        import cvxpy as cp

        bound = objective * (1 + face_rtol) + 1e-12

        def on_face(V, _):
            return cp.sum_squares(V), [(cp.trace(V) if psd else cp.normNuc(V)) <= bound]

        W, _, status, _ = _solve_primal(Aop, y, shape, psd, tolerance, "CLARABEL" if small else "SCS", extra=on_face)
        info.update({f"first_stage_{k}": v for k, v in info.items()})
        info.update(_certify(W, None, Aop, y, psd), tie_break="frobenius", face_rtol=face_rtol)
        objective = float(np.trace(W)) if psd else float(np.linalg.svd(W, compute_uv=False).sum())
    s = np.linalg.svd(W, compute_uv=False)
    ok_res = info["relative_residual"] <= max(RESIDUAL_RTOL, 0.0) if tolerance == 0 else \
        info["residual"] <= tolerance * (1 + 1e-6) + RESIDUAL_RTOL * np.abs(y).max()
    ok_gap = info.get("first_stage_relative_gap", info.get("relative_gap", 0.0)) <= GAP_RTOL
    info.update(solver=how, psd=psd, tolerance=tolerance, certified=bool(ok_res and ok_gap),
                rank_1e6=int(np.sum(s > 1e-6 * max(s[0], 1e-300))))
    return Reference("nuclear-norm", W, objective, "optimal" if info["certified"] else f"{status} (uncertified)",
                     arrays={"singular_values": s}, info=info)


def min_frobenius_matrix(X: np.ndarray, y: np.ndarray, shape, W0: np.ndarray | None = None) -> Reference:
    """W0 + 𝒜⁺(y − 𝒜(W0)): the consistent matrix nearest W0 in Frobenius norm (W0 = 0 by default).

    Gradient flow on the depth-1 model from W0 converges here. For completion it is W0 with
    the observed entries overwritten; for sensing the pseudo-inverse of the (m, d1·d2) operator.
    """
    X, y, shape = _matrix_data(X, y, shape)
    d1, d2 = shape
    W0 = np.zeros(shape) if W0 is None else np.asarray(W0, dtype=float)
    if W0.shape != shape:
        raise InputError(f"the initial matrix must have shape {shape}, got {W0.shape}")
    Aop = _operator(X, shape)
    if X.ndim == 2:
        W = W0.copy()
        W[X[:, 0], X[:, 1]] = y
        status, solver = "optimal", "closed form"
    else:
        r = y - Aop @ W0.reshape(-1)
        delta = np.linalg.lstsq(Aop, r, rcond=None)[0]
        delta += np.linalg.lstsq(Aop, r - Aop @ delta, rcond=None)[0]
        W = W0 + delta.reshape(d1, d2)
        status, solver = "optimal", "numpy lstsq (min-norm)"
    info = _certify(W, None, Aop, y, False)
    if info["relative_residual"] > 1e-9:
        status = "least-squares"
        info["note"] = "no matrix satisfies the observations: W is the least-squares point nearest W0"
    info["solver"] = solver
    return Reference("min-frobenius", W, float(np.linalg.norm(W - W0)), status,
                     arrays={"singular_values": np.linalg.svd(W, compute_uv=False)}, info=info)


def commuting_flow_limit(A: np.ndarray, y: np.ndarray, init_scale: float) -> Reference:
    """The exact limit of depth-2 gradient flow on W = W_2 W_1 from W_j = √c·I, c = α/√d, for commuting A_i.

    With symmetric, pairwise commuting A_i = Q diag(g_i) Qᵀ the flow keeps W = Q diag(v) Qᵀ with
    v(t) = c·exp(−Gᵀs(t)) (G_ij = g_ij, s_i ∝ ∫ r_i): mirror descent with the entropy, whose limit is
    the Bregman projection  v = argmin Σ_j v_j log(v_j/c) − v_j  s.t.  G v = y,  i.e. v = c·exp(Gᵀμ)
    with μ maximizing μᵀy − c Σ_j exp((Gᵀμ)_j). Solved by damped Newton on μ, continued from c = 1
    down to c (warm starts keep every stage in Newton's basin). As α → 0 it tends to the minimum
    trace (= nuclear norm) PSD solution.

    References: Gunasekar et al. 2017, §4 (commuting measurements); Woodworth et al. 2020 (the
    entropy potential of squared parameterizations).
    """
    A, y = np.asarray(A, dtype=float), np.asarray(y, dtype=float)
    if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] != y.shape[0]:
        raise InputError(f"commuting flow limit needs square sensing matrices A (m, d, d) and y (m,), "
                         f"got {A.shape}, {y.shape}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(y))):
        raise InputError("the sensing matrices A and the measurements y must be finite")
    if not init_scale > 0:
        raise InputError(f"init scale must be positive, got {init_scale}")
    m, d, _ = A.shape
    scale = max(float(np.abs(A).max()), 1e-300)
    if np.abs(A - np.swapaxes(A, 1, 2)).max() > 1e-10 * scale:
        raise InputError("commuting flow limit needs symmetric sensing matrices")
    commutator = max((float(np.abs(A[i] @ A[j] - A[j] @ A[i]).max()) for i in range(m) for j in range(i)), default=0.0)
    if commutator > 1e-10 * scale ** 2:
        raise InputError("the sensing matrices do not commute")
    mix = np.einsum("m,mij->ij", np.random.default_rng(0).standard_normal(m), A)
    _, Q = np.linalg.eigh(0.5 * (mix + mix.T))
    G = np.einsum("ji,mjk,ki->mi", Q, A, Q)
    log_c = float(np.log(init_scale / np.sqrt(d)))
    mu, iterations = np.zeros(m), 0

    def dual(mu: np.ndarray, lc: float) -> float:
        with np.errstate(over="ignore"):
            return float(np.exp(G.T @ mu + lc).sum() - mu @ y)

    tol = 1e-13 * max(1.0, float(np.abs(y).max()))
    for lc in np.linspace(0.0, log_c, max(2, int(np.ceil(abs(log_c) / 2)) + 1)):
        for _ in range(200):
            v = np.exp(G.T @ mu + lc)
            g = G @ v - y
            if np.abs(g).max() <= tol:
                break
            step = np.linalg.lstsq((G * v) @ G.T, g, rcond=None)[0]
            t, f0 = 1.0, dual(mu, lc)
            while not dual(mu - t * step, lc) <= f0 - 0.25 * t * float(g @ step) and t > 1e-14:
                t *= 0.5
            mu, iterations = mu - t * step, iterations + 1
    v = np.exp(G.T @ mu + log_c)
    W = (Q * v) @ Q.T
    residual = float(np.abs(G @ v - y).max())
    ok = residual <= 1e-9 * max(1.0, float(np.abs(y).max()))
    return Reference("commuting-flow-limit", W, float(v.sum()), "optimal" if ok else "not converged",
                     arrays={"eigenvalues": v}, info={"residual": residual, "newton_iterations": iterations,
                                                     "init_scale": float(init_scale), "solver": "Newton on the dual"})


def _problem_data(problem: Any, name: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    meta = getattr(problem, "meta", {}) or {}
    if meta.get("kind") not in ("sensing", "completion") or "shape" not in meta:
        raise InputError(f"reference '{name}' needs a matrix problem (an .npz with A, y or rows, cols, values, shape)")
    return problem.X, problem.y, tuple(meta["shape"])


def _compute_nuclear(problem: Any, **options: Any) -> Reference:
    opts = given(options, NUCLEAR_SPEC.options, NUCLEAR_SPEC.name)
    X, y, shape = _problem_data(problem, NUCLEAR_SPEC.name)
    psd = bool(opts.get("psd", problem.meta.get("psd", False)))
    return min_nuclear_norm(X, y, shape, psd=psd, tolerance=float(opts.get("tolerance", 0.0)),
                            tie_break=opts.get("tie_break"))


def _compute_frobenius(problem: Any, **options: Any) -> Reference:
    opts = given(options, FROBENIUS_SPEC.options, FROBENIUS_SPEC.name)
    X, y, shape = _problem_data(problem, FROBENIUS_SPEC.name)
    return min_frobenius_matrix(X, y, shape, W0=opts.get("init"))


def _example_nuclear():
    """Six Gaussian measurements of a rank-one 3×3 matrix."""
    from implicit_bias.problems.matrix import matrix_sensing

    return matrix_sensing((3, 3), 1, 6, n_test=0, seed=0), {}


def _example_frobenius():
    """Five observed entries of a rank-one 3×3 matrix."""
    from implicit_bias.problems.matrix import matrix_completion

    return matrix_completion((3, 3), 1, 5, seed=0), {}


def _example_commuting():
    """Two commuting symmetric measurements of a rank-one 3×3 PSD matrix, α = 0.1."""
    from implicit_bias.problems.matrix import matrix_sensing

    return matrix_sensing((3, 3), 1, 2, operator="commuting", psd=True, n_test=0, seed=0), {"init_scale": 0.1}


NUCLEAR_SPEC = register(ReferenceSpec(
    "nuclear-norm", "minimum nuclear norm matrix with 𝒜(W) = y (cvxpy conic program, certified)",
    _compute_nuclear, options=("psd", "tolerance", "tie_break"), example=_example_nuclear))
def _compute_commuting(problem: Any, **options: Any) -> Reference:
    opts = given(options, COMMUTING_SPEC.options, COMMUTING_SPEC.name)
    X, y, _ = _problem_data(problem, COMMUTING_SPEC.name)
    if "init_scale" not in opts:
        raise InputError("reference 'commuting-flow-limit' needs the init scale --init-scale (‖W(0)‖_F)")
    if np.asarray(X).ndim != 3:
        raise InputError("reference 'commuting-flow-limit' needs sensing data (A, y)")
    return commuting_flow_limit(X, y, float(opts["init_scale"]))


COMMUTING_SPEC = register(ReferenceSpec(
    "commuting-flow-limit",
    "exact limit of depth-2 flow from (α/√d)·I with commuting symmetric sensing (entropy mirror map)",
    _compute_commuting, options=("init_scale",), example=_example_commuting))
FROBENIUS_SPEC = register(ReferenceSpec(
    "min-frobenius", "W0 + 𝒜⁺(y − 𝒜(W0)): the depth-1 (kernel) limit of a matrix problem",
    _compute_frobenius, options=("init",), example=_example_frobenius))
