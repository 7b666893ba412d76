"""Cost curves: time and memory of a sweep against d, n, T and M, each with its floor and fitted growth exponent.

Axes (every point is one ``train`` call through the engine, timed after compilation):

* d, n, T: the diagonal network w = u⊙u − v⊙v on sparse recovery (square loss, GD), the other sizes fixed.
  Floor per run: max(4 n d M T / matmul rate, bytes / bandwidth) with bytes = T·(4 d M + 2 n d·[X ∉ cache])·itemsize
  (u and v read and written each step; X read twice per step once it no longer fits the last-level cache).
* M at the paper sizes of the heaviest entries: deep matrix completion (100×100, depth 3, 2000 entries),
  random labels (64-1024-1 ReLU MLP on n = 1000, logistic), lazy-vs-rich (10-512-1 NTK MLP, n = 60).
  Floor: XLA's own flop count of one step of one configuration (value and gradient; ``cost_analysis``)
  × M × T at the matmul rate, or reading and writing the parameters each step, whichever is larger.
* P (parameters) for gradient flow: a linear model on least squares with n = 8, X_ij ~ N(0, 1/P), so the
  curvature stays put while P grows; Tsit5 against Kvaerno5 (implicit: a P×P Jacobian and its LU
  factorization each step, memory ∝ P², time ∝ P³ once the factorization dominates), and where
  ``Flow(solver="auto")`` (:func:`implicit_bias.optim.flow.choose_solver`) stops picking Kvaerno5.

Memory per point: bytes the compiled program holds (XLA's buffer assignment, :func:`memory.program_bytes`).
Growth: the least-squares slope of log cost against log size over the upper half of each axis (where fixed
overheads are amortized): 1 is linear; above ~1.25 names a super-linear term.

References: Williams, Waterman, Patterson 2009 (the roofline model); Hairer & Wanner, Solving ODEs II (the cost
of implicit Runge–Kutta steps); Woodworth et al. 2020, Arora et al. 2019, Zhang et al. 2017, Chizat et al. 2019
(the workloads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias import memory
from implicit_bias.bench_memory import last_executable
from implicit_bias.metrics.rates import fit_loglog_slope


@dataclass(frozen=True)
class CostSizes:
    """The sizes of every axis (full, quick or tiny)."""

    n: int = 100
    d: int = 1000
    M: int = 16
    steps: int = 1000
    d_axis: tuple[int, ...] = (100, 316, 1000, 3162, 10_000, 31_623, 100_000)
    n_axis: tuple[int, ...] = (10, 30, 100, 300, 1000, 3000)
    steps_axis: tuple[int, ...] = (100, 300, 1000, 3000, 10_000, 30_000)
    M_axis: tuple[int, ...] = (1, 4, 16, 64, 256)
    entry_steps: int = 200
    matrix_size: int = 100
    mlp_width: int = 1024
    mlp_samples: int = 1000
    flow_params: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024)
    flow_samples: int = 8
    flow_horizon: float = 1e5
    flow_configs: int = 2
    n_records: int = 16


def cost_sizes(quick: bool = False, tiny: bool = False) -> CostSizes:
    """Full sizes (tens of minutes on 2 cores), quick (a couple of minutes) or tiny (a dry run)."""
    if tiny:
        return CostSizes(n=10, d=50, M=2, steps=20, d_axis=(20, 50), n_axis=(5, 10), steps_axis=(10, 20), M_axis=(1, 2),
                         entry_steps=5, matrix_size=10, mlp_width=16, mlp_samples=20, flow_params=(4, 8),
                         flow_samples=2, flow_horizon=10.0, flow_configs=1, n_records=4)
    if quick:
        return CostSizes(M=8, steps=200, d_axis=(100, 1000, 10_000, 100_000), n_axis=(10, 100, 1000),
                         steps_axis=(100, 1000, 10_000), M_axis=(1, 4, 16), entry_steps=20, mlp_width=1024,
                         flow_params=(16, 64, 256), flow_configs=1)
    return CostSizes()


def llc_bytes() -> int:
    """Size of the last-level CPU cache (sysfs), 32 MiB when unknown."""
    from pathlib import Path

    sizes = []
    for f in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = f.read_text().strip().upper()
        mult = {"K": 1024, "M": 2 ** 20}.get(text[-1:], 1)
        try:
            sizes.append(int(text.rstrip("KM")) * mult)
        except ValueError:
            pass
    return max(sizes, default=32 * 2 ** 20)


def diagonal_floor(n: int, d: int, M: int, steps: int, itemsize: int, rates: dict, dtype: str, cache: int) -> dict:
    """FLOP and byte floor of the diagonal sweep (module docstring)."""
    flops = 4.0 * n * d * M * steps
    nbytes = steps * (4.0 * d * M + (2.0 * n * d if n * d * itemsize > cache else 0.0)) * itemsize
    return _floor(flops, nbytes, rates, dtype)


def _floor(flops: float, nbytes: float, rates: dict, dtype: str) -> dict:
    t_f, t_b = flops / rates[f"matmul_flops_{dtype}"], nbytes / rates["bandwidth_bytes"]
    return {"flops": flops, "bytes": nbytes, "floor_seconds": max(t_f, t_b), "floor_bound": "flops" if t_f >= t_b else "bytes"}


def step_flops(model: Any, loss: Any, problem: Any, hp: dict) -> float:
    """XLA's flop count of one GD step (value, gradient, update) of one configuration."""
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y)
    params = model.init({k: jnp.asarray(v) for k, v in hp.items()}, jax.random.PRNGKey(0))

    def step(p):
        value, g = jax.value_and_grad(lambda q: loss.value(model.predict(q, X), y))(p)
        return value, jax.tree_util.tree_map(lambda a, b: a - 1e-3 * b, p, g)

    cost = jax.jit(step).lower(params).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float((cost or {}).get("flops", 0.0))


def _timed_train(run: Callable[[], Any], repeats: int = 3) -> dict:
    """Run once (compiling), then again while the run is short; the best run time, compile time and footprint."""
    res = run()
    seconds, total = res.run_seconds, res.run_seconds
    for _ in range(repeats - 1):
        if total > 2.0:
            break
        again = run()
        seconds, total = min(seconds, again.run_seconds), total + again.run_seconds
    return {"seconds": float(seconds), "compile_seconds": float(res.compile_seconds),
            "footprint_bytes": memory.program_bytes(last_executable()), "diverged": int(np.sum(res.diverged)),
            "result": res}


def _diagonal_axis(name: str, values, sizes: CostSizes, rates: dict, dtype: str, say) -> dict:
    import implicit_bias as ib
    from implicit_bias.models.diagonal import DiagonalModel

    item, cache, points = np.dtype(dtype).itemsize, llc_bytes(), []
    for v in values:
        n, d, steps = (v if name == "n" else sizes.n), (v if name == "d" else sizes.d), (v if name == "T" else sizes.steps)
        say(f"costs: {name} = {v}")
        p = ib.problems.sparse_regression(n, d, min(5, d), n_test=0, seed=0)
        hp = {"init_scale": np.geomspace(1e-3, 0.5, sizes.M)}
        # a step size well inside GD's stability limit 2/λ_max (λ_max ≈ (1 + √(d/n))² for the mean square loss)
        h = 0.2 / (1.0 + np.sqrt(d / n)) ** 2
        pt = _timed_train(lambda: ib.train(DiagonalModel(d), ib.losses.square, ib.optim.GD(), p, steps=steps,
                                           step_size=h, hparams=hp, dtype=dtype, n_records=sizes.n_records,
                                           description=f"costs {name}={v}"))
        pt.pop("result")
        pt.update(x=v, n=n, d=d, M=sizes.M, steps=steps, **diagonal_floor(n, d, sizes.M, steps, item, rates, dtype, cache))
        points.append(pt)
    fixed = {"n": sizes.n, "d": sizes.d, "M": sizes.M, "T": sizes.steps}
    fixed.pop(name)
    return _summarize(name, points, expect=1.0, workload="diagonal network, sparse recovery, GD", fixed=fixed)


def _entry_workloads(sizes: CostSizes) -> list[tuple[str, Callable[[], tuple]]]:
    """(name, build) for the heavy entries: build() -> (model, loss, problem, step size, hparams of M)."""
    import implicit_bias as ib
    from implicit_bias.models.factorized import FactorizedModel
    from implicit_bias.models.mlp import MLP
    from implicit_bias.problems.matrix import matrix_completion
    from implicit_bias.problems.problem import Problem

    rng = np.random.default_rng(0)
    s = sizes.matrix_size

    def matrix():
        p = matrix_completion((s, s), min(5, s), min(2000, s * s // 5), seed=0)
        return (FactorizedModel((s, s), 3, init_scale=1e-2, kind="completion"), ib.losses.square, p, 0.1,
                lambda M: {"init_scale": np.geomspace(1e-3, 1e-1, M)})

    def labels():
        X = rng.standard_normal((sizes.mlp_samples, 64)) / 8.0
        p = Problem(X, np.where(rng.random(sizes.mlp_samples) < 0.5, -1.0, 1.0), name="random labels")
        return (MLP(64, (sizes.mlp_width,), activation="relu", bias=True), ib.losses.logistic, p, 1.0,
                lambda M: {"seed": np.arange(M)})

    def lazy():
        X = rng.standard_normal((60, 10))
        p = Problem(X / np.linalg.norm(X, axis=1, keepdims=True), rng.standard_normal(60), name="lazy vs rich")
        width = min(512, max(2, sizes.mlp_width // 2 * 2))
        return (MLP(10, (width,), activation="relu", parameterization="ntk", symmetric_init=True), ib.losses.square, p,
                0.1, lambda M: {"output_scale": np.geomspace(1.0, 100.0, M)})

    return [(f"deep-matrix-completion ({s}x{s}, depth 3)", matrix),
            (f"random-labels (64-{sizes.mlp_width}-1 MLP, n={sizes.mlp_samples})", labels),
            ("lazy-vs-rich (10-512-1 NTK MLP, n=60)", lazy)]


def _entries_axis(sizes: CostSizes, rates: dict, dtype: str, say) -> list[dict]:
    import implicit_bias as ib

    out = []
    for label, build in _entry_workloads(sizes):
        model, loss, p, h, hps = build()
        hp1 = {k: v[:1] for k, v in hps(1).items()}
        flops1 = step_flops(model, loss, p, {"seed": 0, **{k: v[0] for k, v in hp1.items()}})
        points = []
        for M in sizes.M_axis:
            say(f"costs: {label}, M = {M}")
            pt = _timed_train(lambda: ib.train(model, loss, ib.optim.GD(), p, steps=sizes.entry_steps, step_size=h,
                                               hparams=hps(M), dtype=dtype, n_records=sizes.n_records,
                                               record_end_to_end=False, description=f"costs {label} M={M}"))
            n_params = sum(int(np.prod(np.shape(x)[1:])) for x in jax.tree_util.tree_leaves(pt.pop("result").params))
            nbytes = 2.0 * n_params * np.dtype(dtype).itemsize * M * sizes.entry_steps
            pt.update(x=M, M=M, steps=sizes.entry_steps, n_params=n_params, step_flops=flops1,
                      **_floor(flops1 * M * sizes.entry_steps, nbytes, rates, dtype))
            points.append(pt)
        out.append(_summarize("M", points, expect=1.0, workload=label, fixed={"T": sizes.entry_steps}))
    return out


def _flow_axis(sizes: CostSizes, say) -> dict:
    import implicit_bias as ib
    from implicit_bias.models import LinearModel
    from implicit_bias.optim.flow import choose_solver, top_curvature

    rows, T = [], sizes.flow_horizon
    for P in sizes.flow_params:
        p = ib.problems.gaussian_regression(sizes.flow_samples, P, n_test=0, seed=0)
        model = LinearModel(P)
        X, y = jnp.asarray(p.X), jnp.asarray(p.y)
        objective = lambda q, X_, y_, hp: ib.losses.square.value(model.predict(q, X_), y_)  # noqa: E731
        zero = model.init({"init_scale": jnp.asarray(0.0)}, jax.random.PRNGKey(0))
        lam = float(top_curvature(objective, zero, X, y, {}, iterations=100))
        row = {"x": P, "n_params": P, "curvature": lam, "explicit_steps_needed": lam * T / 3.5,
               "auto_picks": choose_solver(lam, T, P)}
        for solver in ("tsit5", "kvaerno5"):
            say(f"costs: flow {solver}, P = {P}")
            pt = _timed_train(lambda: ib.train(model, ib.losses.square, ib.optim.Flow(solver=solver, max_steps=10 ** 6), p,
                                               time_horizon=T, hparams={"init_scale": np.linspace(0.0, 1.0, sizes.flow_configs)},
                                               n_records=sizes.n_records, description=f"costs flow {solver} P={P}"),
                              repeats=2)
            res = pt.pop("result")
            steps = int(np.max(res.solver_steps))
            row[solver] = {**pt, "solver_steps": steps, "seconds_per_step": pt["seconds"] / max(steps, 1),
                           "solved": bool(np.all(res.solver_ok))}
        rows.append(row)
    P = np.array([r["x"] for r in rows], dtype=float)
    top = _upper(len(P))
    fits = {}
    for solver in ("tsit5", "kvaerno5"):
        per_step = np.array([r[solver]["seconds_per_step"] for r in rows])
        mem = np.array([r[solver]["footprint_bytes"] or np.nan for r in rows], dtype=float)
        fits[solver] = {"slope_seconds_per_step": fit_loglog_slope(P[top], per_step[top]),
                        "slope_memory": fit_loglog_slope(P[top], mem[top])}
    lam = float(np.median([r["curvature"] for r in rows]))
    switch = 4.0 * (lam * T / (3.5 * 300.0) - 1.0)
    faster = [r["x"] for r in rows if r["kvaerno5"]["seconds"] < r["tsit5"]["seconds"]]
    return {"axis": "P", "workload": f"gradient flow, linear least squares n={sizes.flow_samples}, X ~ N(0, 1/P), "
                                     f"horizon {T:g}", "points": rows, "fits": fits,
            "auto_switch_params": switch,
            "note": (f"Flow(solver='auto') picks kvaerno5 while λ_max·T/3.5 > 300·(1 + P/4): "
                     + (f"below P ≈ {switch:.0f} here" if switch > 0 else "never here")
                     + f" (λ_max ≈ {lam:.3g}, T = {T:g}); measured: kvaerno5 faster than tsit5 at P = {faster or 'none'}")}


def _upper(count: int) -> slice:
    """The upper half of an axis (at least two points): where the fixed overheads are amortized."""
    return slice(count - max(2, count // 2 + 1), None)


def _summarize(axis: str, points: list[dict], expect: float, workload: str, fixed: dict) -> dict:
    x = np.array([p["x"] for p in points], dtype=float)
    top = _upper(len(x))
    secs = np.array([p["seconds"] for p in points])
    floor = np.array([p["floor_seconds"] for p in points])
    mem = np.array([p["footprint_bytes"] or np.nan for p in points], dtype=float)
    slope = fit_loglog_slope(x[top], secs[top])
    growth = "linear" if abs(slope - expect) <= 0.25 else ("super-linear" if slope > expect else "sub-linear")
    return {"axis": axis, "workload": workload, "fixed": fixed, "points": points,
            "slope_seconds": slope, "slope_floor": fit_loglog_slope(x[top], floor[top]),
            "slope_memory": fit_loglog_slope(x[top], mem[top]), "slope_over": [float(v) for v in x[top]],
            "growth": growth, "fraction_of_floor": [float(s / f) for s, f in zip(secs, floor)]}


def run_costs(device: str = "cpu", quick: bool = False, tiny: bool = False, progress: Callable[[str], None] | None = None,
              dtype: str = "float64", rates: dict | None = None,
              axes: tuple[str, ...] = ("d", "n", "T", "M", "flow", "memory")) -> dict:
    """Every cost curve (``axes``) on ``device``; returns {"sizes", "rates", "dtype", "axes": {name: curve},
    "memory": [per-configuration footprint against the chunker's estimate] (:mod:`implicit_bias.bench_memory`)}."""
    from implicit_bias.bench_memory import measure_footprints

    from implicit_bias.bench import _device, measure_device

    say = progress or (lambda msg: None)
    dev = _device(device)
    sizes = cost_sizes(quick, tiny)
    if rates is None:
        say("costs: measuring the device")
        rates = measure_device(dev, device)
    out: dict[str, Any] = {}
    with jax.default_device(dev):
        for name, values in (("d", sizes.d_axis), ("n", sizes.n_axis), ("T", sizes.steps_axis)):
            if name in axes:
                out[name] = _diagonal_axis(name, values, sizes, rates, dtype, say)
        if "M" in axes:
            out["M"] = _entries_axis(sizes, rates, dtype, say)
        if "flow" in axes:
            out["flow"] = _flow_axis(sizes, say)
        footprints = measure_footprints(quick=quick or tiny, progress=say) if "memory" in axes else []
    return {"device": device, "quick": quick, "tiny": tiny, "dtype": dtype, "rates": rates,
            "sizes": {k: getattr(sizes, k) for k in sizes.__dataclass_fields__}, "llc_bytes": llc_bytes(), "axes": out,
            "memory": footprints}
