"""``identify``: what does gradient flow on θ implicitly minimize for a user's w = G(θ)?

    ident = identify("uu-vv", theta0, X, y)            # or a callable, "file.py:G", "module:G"
    ident.verdict, ident.limit.solution, ident.family, ident.scores, ident.claims

Pipeline: degenerate test at θ0 → sampled brackets at θ0 and at reachable points ψ(θ0; t·r) (random
rays in ℝ^d and in range(Xᵀ)) → verdict → (commuting) the potential's family and table → the
predicted limit by the dual in ℝⁿ (square loss) or the direction branch (exp/logistic) → the
independent check: gradient flow through the engine, brackets along its path, distance to the
prediction → candidate regularizers scored at the flow's limit → claims.

References: Li, Wang, Lee & Arora, NeurIPS 2022; Azulay et al., ICML 2021; Pesme, Dragomir &
Flammarion, NeurIPS 2024; Woodworth et al., COLT 2020.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import jax.numpy as jnp
import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.identify import direction as dirn
from implicit_bias.identify.candidates import Score, neuron_grad, score_candidates
from implicit_bias.identify.dual import DualSolution, solve_dual
from implicit_bias.identify.families import Family, recognise
from implicit_bias.identify.flowcheck import FLOW_RESIDUAL, FlowRun, homogeneity_degree, horizon_for, run_flow
from implicit_bias.identify.param import Parameterization, load_param
from implicit_bias.identify.potential import PotentialTable, natural_step, psi, tabulate
from implicit_bias.identify.structure import Structure, field_rows, measure
from implicit_bias.identify.verdict import TRAPS, VERDICTS, decide, explain
from implicit_bias.references.base import Reference, check_data
from implicit_bias.results import Claim, at_most, is_true

#: the flow's limit and the prediction agree to this (relative distance).
LIMIT_TOL = 1e-6
#: the dual equation is solved to this relative residual.
DUAL_RTOL = 1e-12


@dataclass
class Identification:
    """Everything ``identify`` found (see the module docstring); ``claims`` decide the exit code."""

    param: str
    loss: str
    verdict: str
    explanation: str
    w0: np.ndarray
    structure: Structure | None = None
    family: Family | None = None
    table: PotentialTable | None = None
    limit: Reference | None = None
    dual: DualSolution | None = None
    refused: DualSolution | None = None  # hidden state: the dual answer that was not given (diagnostic)
    flow: FlowRun | None = None
    scores: list[Score] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    branch: str = ""
    interpolable: bool | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def all_hold(self) -> bool:
        return all(c.holds for c in self.claims)

    def summary(self) -> dict[str, Any]:
        """One JSON-able object (the CLI's ``--json``)."""
        s = self.structure
        return {
            "param": self.param, "loss": self.loss, "verdict": self.verdict, "explanation": self.explanation,
            "branch": self.branch, "interpolable": self.interpolable,
            "structure": None if s is None else {
                "tolerance": s.tolerance, "commuting": s.commuting, "involutive": s.involutive,
                "data_involutive": s.data_involutive, "exact_all_pairs_max": s.exact_max,
                "worst": {k: s.worst(k) for k in ("commuting", "relative", "involutive", "data_involutive")},
                "points": len(s.points)},
            "family": None if self.family is None else self.family.summary(),
            "potential_table": None if self.table is None else self.table.rows(),
            "limit": None if self.limit is None else {**self.limit.summary(), "w": self.limit.solution.tolist()},
            "flow": None if self.flow is None else {
                "w": self.flow.w.tolist(), "residual": self.flow.residual, "horizon": self.flow.horizon,
                "solver": self.flow.solver, "solver_ok": self.flow.solver_ok},
            "fits": [sc.row() for sc in self.scores],
            "claims": [c.to_dict() for c in self.claims], "all_hold": self.all_hold,
            "notes": self.notes, "traps": list(TRAPS), "seconds": self.seconds,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """Arrays for ``--save``: limit, flow w and path, dual variables, per-point brackets, fit table."""
        out: dict[str, np.ndarray] = {"w0": self.w0, "verdict": np.array(self.verdict)}
        if self.limit is not None:
            out["limit"] = self.limit.solution
        if self.dual is not None:
            out.update(dual_nu=self.dual.nu, dual_mu=self.dual.mu, theta_limit=self.dual.theta)
        if self.flow is not None:
            out.update(flow_w=self.flow.w, flow_theta=self.flow.theta, flow_times=self.flow.times, flow_path=self.flow.w_path)
        if self.structure is not None:
            out.update(self.structure.table())
        if self.scores:
            out["fit_candidates"] = np.array([s.name for s in self.scores])
            for key in ("kkt_residual", "path_residual", "distance_to_minimizer", "gap"):
                out[f"fit_{key}"] = np.array([s.row()[key] for s in self.scores], dtype=float)
        return out

    def figure(self):
        from implicit_bias.identify.figure import identification_figure

        return identification_figure(self)


def _sample_points(G: Callable, theta0: np.ndarray, X: np.ndarray, rng: np.random.Generator, rays: int):
    """θ0 and ψ(θ0; m·t·r) for m = 1, 2 on random rays r in ℝ^d and in range(Xᵀ) (the reachable set)."""
    points = [("theta0", theta0)]
    n, d = X.shape
    for k in range(rays):
        for kind, r in (("ray", rng.standard_normal(d)), ("data-ray", X.T @ rng.standard_normal(n))):
            r = r / np.linalg.norm(r)
            t = natural_step(G, theta0, r)
            for m in (1.0, 2.0):
                theta, _, ok = psi(G, theta0, m * t * r)
                if ok:
                    points.append((f"{kind}{k}:{m:g}", theta))
    return points


def _prediction(dual: DualSolution, verdict: str) -> Reference:
    info = {"residual": dual.residual, "newton_iterations": dual.iterations, "solver": dual.method,
            "verdict": verdict, "certificate": "X w = y to the residual; grad R(w) - grad R(w0) = X^T nu exactly "
            "(w = G(psi(theta0; X^T nu)))"}
    return Reference("identify", dual.w, dual.objective if verdict == "mirror-flow" else float("nan"), dual.status,
                     arrays={"dual": dual.nu, "mu": dual.mu, "theta": dual.theta}, info=info)


def identify(G: Any, theta0: Any, X: Any, y: Any, loss: str = "square", *, expect: str | None = None,
             flow_check: bool = True, groups: Any = None, candidates: dict | None = None, seed: int = 0,
             rays: int = 1, horizon: float | None = None) -> Identification:
    """Identify the implicit regularizer of gradient flow on θ for w = G(θ) (θ (p,) → w (d,)), X (n, d), y (n,).

    Args:
      G: a callable, ``"FILE.py:G"``, ``"module:G"`` or a registered form (see :mod:`.param`).
      theta0: θ0 (p,). loss: "square", "exp" or "logistic".
      expect: a verdict the result must match (a claim). flow_check: train the flow through the engine.
      groups: (d,) group labels (adds the group-norm candidate). candidates: name -> ∇R, extra candidates.
      seed: the structure test's random rays and pairs. rays: random rays of each kind.
      horizon: the flow's time horizon (default from the NTK at the predicted limit).
    """
    X, y = check_data(X, y)
    if loss not in ("square", "exp", "logistic"):
        raise InputError(f"loss must be square, exp or logistic, got {loss!r}")
    if loss != "square" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputError("exp/logistic losses need labels y in {-1, +1}")
    if expect is not None and expect not in VERDICTS:
        raise InputError(f"--expect must be one of {', '.join(VERDICTS)}, got {expect!r}")
    start = time.perf_counter()
    param, theta0 = load_param(G, theta0, X.shape[1])
    fn = param.fn
    w0 = np.asarray(fn(jnp.asarray(theta0)))
    ident = Identification(param.name, loss, "degenerate", "", w0)
    claims: list[Claim] = []

    Jf0 = field_rows(fn, jnp.asarray(theta0), X)
    K0 = Jf0 @ Jf0.T
    rank_X = np.linalg.matrix_rank(X)
    eig = np.linalg.eigvalsh(K0)
    rank_K = int(np.sum(eig > 1e-12 * eig[-1])) if eig[-1] > 0 else 0
    if rank_K < rank_X:
        ident.explanation = explain("degenerate")
        claims.append(at_most("degenerate: rank of the NTK at theta0 below rank(X)", rank_K, rank_X - 1,
                              f"rank(X) = {rank_X}: the flow cannot move in every data direction", kind="sanity"))
        if expect is not None:
            claims.append(is_true(f"verdict is {expect}", expect == "degenerate", "verdict degenerate"))
        ident.claims, ident.seconds = claims, {"total": time.perf_counter() - start}
        return ident

    rng = np.random.default_rng(seed)
    points = _sample_points(fn, theta0, X, rng, rays)
    structure = measure(fn, points, X, seed=seed)
    verdict = decide(structure, False)
    t_struct = time.perf_counter()
    if verdict == "mirror-flow":
        ident.family = recognise(fn, theta0, seed=seed)
        d = X.shape[1]
        table_rays = np.eye(d)[: min(d, 3)]
        ident.table = tabulate(fn, theta0, table_rays)

    dual, refused = None, None
    if loss == "square":
        if verdict != "hidden-state":
            dual = solve_dual(fn, theta0, X, y, commuting=verdict == "mirror-flow", rtol=DUAL_RTOL)
            ident.interpolable = dual.status != "not interpolable"
        elif X.shape[0] <= 10:
            refused = solve_dual(fn, theta0, X, y, commuting=False, rtol=DUAL_RTOL)
    t_dual = time.perf_counter()

    flow = None
    if flow_check and ident.interpolable is not False:
        T = horizon or horizon_for(param, dual.theta if dual is not None and dual.status == "optimal" else theta0, X)
        if loss != "square":
            T = horizon or 200.0
        flow = run_flow(param, theta0, X, y, loss=loss, horizon=T)
        idx = np.unique(np.linspace(1, len(flow.times) - 1, 3).astype(int))
        more = measure(fn, [(f"flow t={flow.times[i]:.3g}", flow.theta_path[i]) for i in idx], X, seed=seed + 1)
        structure = Structure(structure.points + more.points,
                              None if structure.exact_max is None else max(structure.exact_max, more.exact_max or 0.0))
        new = decide(structure, False)
        if new != verdict:
            ident.notes.append(f"the flow's path changed the verdict from {verdict} to {new}")
            verdict = new
            if loss == "square" and verdict != "hidden-state":
                dual = solve_dual(fn, theta0, X, y, commuting=verdict == "mirror-flow", rtol=DUAL_RTOL)
            elif verdict == "hidden-state":
                refused, dual = dual, None
    t_flow = time.perf_counter()
    ident.structure, ident.verdict, ident.explanation, ident.dual, ident.flow = structure, verdict, explain(verdict), dual, flow
    ident.refused = refused

    extra = dict(candidates or {})
    if param.name == "neuron":
        extra["neuron"] = neuron_grad(float(theta0[0] ** 2 - theta0[1:] @ theta0[1:]))
    if flow is not None and (loss == "square" and flow.residual <= 1e-6):
        ident.scores = score_candidates(X, y, flow.w, w0, flow.w_path, groups=groups, extra=extra)
        if X.shape[1] - rank_X <= 2:
            ident.notes.append(f"the data can hardly identify a regularizer: range(X^T) leaves only "
                               f"{X.shape[1] - rank_X} direction(s) for the KKT residual (n close to d)")

    if loss == "square":
        ident.branch = "argmin D_R(w, w0) s.t. Xw = y (square loss)"
        if dual is not None:
            ident.limit = _prediction(dual, verdict)
            if dual.status == "not interpolable":
                slopes = dual.info.get("ray_slopes", [np.nan])
                claims.append(at_most("dual unbounded below: saturated slope along the escape ray", max(slopes), 0.0,
                                      "y is outside the range the flow can reach: not interpolable"))
            else:
                claims.append(at_most("dual equation solved: relative residual", dual.residual, 1e-10, dual.method,
                                      kind="guard"))
        else:
            ident.notes.append("hidden-state: the dual answer is refused")
            if refused is not None and flow is not None and refused.status == "optimal":
                gap = float(np.linalg.norm(refused.w - flow.w) / np.linalg.norm(flow.w))
                ident.notes.append(f"the refused dual answer would be {100 * gap:.3g}% off the flow's limit")
        if flow is not None:
            claims.append(at_most("flow converged: relative residual", flow.residual, FLOW_RESIDUAL,
                                  f"engine gradient flow ({flow.solver}) to t = {flow.horizon:.3g}", kind="guard"))
            if dual is not None and dual.status == "optimal":
                dist = float(np.linalg.norm(flow.w - dual.w) / max(np.linalg.norm(dual.w), 1e-300))
                claims.append(at_most("flow limit = predicted limit: relative distance", dist, LIMIT_TOL,
                                      "independent check: gradient flow through the engine"))
    else:
        _direction_claims(ident, param, theta0, X, y, claims)
    if expect is not None:
        claims.append(is_true(f"verdict is {expect}", verdict == expect, f"verdict {verdict}"))
    ident.claims = claims
    ident.seconds = {"structure": t_struct - start, "dual": t_dual - t_struct, "flow": t_flow - t_dual,
                     "total": time.perf_counter() - start}
    return ident


def _direction_claims(ident: Identification, param: Parameterization, theta0, X, y, claims: list[Claim]) -> None:
    """The exp/logistic branch: predicted direction (or the KKT check) against the engine's flow."""
    from implicit_bias.metrics.kkt import kkt_residual

    fam = ident.family.name if ident.family is not None else None
    ntk = ident.family.params.get("ntk") if ident.family is not None else None
    degree = homogeneity_degree(param, theta0) if fam not in ("Q_alpha", "entropy", "quadratic") else None
    branch, ref = dirn.predicted_direction(fam, X, y, ident.w0, ntk, degree)
    ident.branch, ident.limit = branch, ref
    flow = ident.flow
    if flow is None:
        return
    margins = y * (X @ flow.w)
    claims.append(at_most("flow separates the data: -min margin", -float(np.min(margins)), 0.0, kind="guard"))
    if ref is not None:
        claims.append(at_most("flow direction = predicted direction: 1 - cos", dirn.alignment(flow.w, ref.solution), 1e-2,
                              "the direction converges at a logarithmic rate"))
    elif degree is not None and np.min(margins) > 0:
        import jax

        fn = param.fn

        def kkt_at(theta):
            q = y * (X @ np.asarray(fn(jnp.asarray(theta))))
            if np.min(q) <= 0:
                return float("nan")
            grads = np.asarray(jax.vmap(lambda x, s: jax.grad(lambda t: s * (x @ fn(t)))(jnp.asarray(theta)))(
                jnp.asarray(X), jnp.asarray(y)))
            return kkt_residual(np.asarray(theta), q, grads, int(degree)).total

        mid, end = kkt_at(flow.theta_path[len(flow.times) // 2]), kkt_at(flow.theta)
        ident.notes.append(f"KKT residual (max-margin in theta) {mid:.3g} at t = {flow.times[len(flow.times) // 2]:.3g}, "
                           f"{end:.3g} at t = {flow.times[-1]:.3g}")
        claims.append(at_most("KKT residual of theta(t) for max-margin in theta decreases (end - middle)", end - mid, 0.0,
                              "Lyu & Li 2020: the direction tends to a KKT point (slowly)"))
