"""The independent check: gradient flow on θ trained by the engine, and its limit (or direction).

Square loss: the engine's :class:`~implicit_bias.optim.Flow` (loss (1/2n)‖XG(θ) − y‖², a constant
time change of the plain flow, same path) is run to a horizon T = 50n/λ_min(K), K the empirical NTK
at the predicted limit (or at θ0), and lengthened tenfold (twice at most) until ‖XG(θ_T) − y‖ ≤
``FLOW_RESIDUAL``·‖y‖. Exp/logistic losses: the loss-normalized flow dθ/ds = −∇ log L (same path) to a
long horizon; the answer is a direction, w(s)/‖w(s)‖.

References: Kidger 2021 (diffrax); Lyu & Li, ICLR 2020 (the loss-normalized flow of homogeneous models).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from implicit_bias.engine import train
from implicit_bias.identify.param import ParamModel, Parameterization
from implicit_bias.identify.structure import field_rows
from implicit_bias.losses import get_loss
from implicit_bias.optim import Flow
from implicit_bias.problems.problem import Problem

#: the flow has converged when ‖Xw_T − y‖ ≤ this · ‖y‖.
FLOW_RESIDUAL = 1e-10
FLOW_RTOL, FLOW_ATOL = 1e-12, 1e-14


@dataclass(frozen=True, eq=False)
class PathRecord:
    """Records the loss, w = G(θ) and θ (hashable by identity, so the compiled program is reused)."""

    model: ParamModel

    def __call__(self, params, hp, data):
        w = self.model.end_to_end(params)
        r = data["X"] @ w - data["y"]
        return {"loss": 0.5 * jnp.mean(r * r), "w": w, "theta": params}


@dataclass
class FlowRun:
    """The engine's flow: times (R,), path w (R, d), θ (R, p), final w, θ, residual, horizon, solver."""

    times: np.ndarray
    w_path: np.ndarray
    theta_path: np.ndarray
    w: np.ndarray
    theta: np.ndarray
    residual: float
    horizon: float
    solver_ok: bool
    solver: str
    seconds: float


def ntk_min_eig(param: Parameterization, theta: np.ndarray, X: np.ndarray) -> float:
    Jf = field_rows(param.fn, jnp.asarray(theta), X)
    return float(np.linalg.eigvalsh(Jf @ Jf.T)[0])


def run_flow(param: Parameterization, theta0: np.ndarray, X: np.ndarray, y: np.ndarray, *, loss: str = "square",
             horizon: float, n_records: int = 40, retries: int = 2, solver: str = "tsit5") -> FlowRun:
    """Gradient flow on θ from θ0 through :func:`implicit_bias.engine.train` (float64)."""
    model = ParamModel(param, np.asarray(theta0))
    problem = Problem(np.asarray(X, float), np.asarray(y, float), name="identify")
    classification = loss != "square"
    flow = Flow(solver=solver, rtol=FLOW_RTOL, atol=FLOW_ATOL, time_change="loss" if classification else None,
                max_steps=400_000)
    record = PathRecord(model)
    T, seconds = float(horizon), 0.0
    for attempt in range(retries + 1):
        res = train(model, get_loss(loss), flow, problem, time_horizon=T, n_records=n_records, record=record,
                    description="identify: gradient flow")
        seconds += res.compile_seconds + res.run_seconds
        w = np.asarray(res.end_to_end[0])
        resid = float(np.linalg.norm(X @ w - y)) / max(float(np.linalg.norm(y)), np.finfo(float).tiny)
        if classification or (resid <= FLOW_RESIDUAL and bool(res.solver_ok[0])) or attempt == retries:
            break
        T *= 10.0
    return FlowRun(np.asarray(res.steps), np.asarray(res.records["w"][0]), np.asarray(res.records["theta"][0]),
                   w, np.asarray(res.params[0]), resid, T, bool(res.solver_ok[0]),
                   str(res.info.get("solver", solver)), seconds)


def horizon_for(param: Parameterization, theta_end: np.ndarray, X: np.ndarray) -> float:
    """50n/λ_min(K(θ_end)): about 25 e-foldings of the slowest mode of the mean-normalized loss."""
    lam = ntk_min_eig(param, theta_end, X)
    n = X.shape[0]
    return 50.0 * n / lam if lam > 0 else 1e6


def homogeneity_degree(param: Parameterization, theta: np.ndarray) -> float | None:
    """D when G(cθ) = c^D G(θ) at c = 2 and c = 3 (to 1e-10), at a random point near θ, else None."""
    rng = np.random.default_rng(0)
    th = jnp.asarray(theta + 0.5 * (1.0 + np.abs(theta)) * rng.standard_normal(theta.shape))
    w = np.asarray(param.fn(th))
    w2, w3 = np.asarray(param.fn(2 * th)), np.asarray(param.fn(3 * th))
    i = int(np.argmax(np.abs(w)))
    if w[i] == 0:
        return None
    D = float(np.log2(abs(w2[i] / w[i])))
    Dr = round(D)
    if Dr >= 1 and np.allclose(w2, 2.0 ** Dr * w, rtol=1e-10, atol=0) and np.allclose(w3, 3.0 ** Dr * w, rtol=1e-10, atol=0):
        return float(Dr)
    return None
