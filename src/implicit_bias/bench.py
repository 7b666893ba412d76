"""The sweep benchmark: the engine against per-configuration loops and the hardware's floor.

Reference workload: the diagonal network w = u⊙u − v⊙v (:class:`DiagonalModel`), square
loss, n = 100, d = 1000, a 5-sparse w*, GD with a fixed step h, T steps, M configurations
(init scales × seeds). Per step and configuration the two products X(u²−v²) and Xᵀr cost
4·n·d flops and the update must at least read and write u and v (4·d numbers), so

    floor(M, T) = max(4 n d M T / matmul rate,  4 d M T · itemsize / bandwidth),

with the rate and bandwidth measured on the device (a large matrix product; a large
in-place elementwise update, bytes read + written). The per-configuration baselines (a
PyTorch autograd loop and a numpy loop, one configuration at a time, a Python loop over
steps, as the reference code is written) are timed on a few configurations and steps and
scaled to M and T; the hand-batched numpy version (all configurations as one matrix, in the
engine's dtype) is timed on ``batched_steps`` steps and scaled to T, interleaved with the
engine's runs (the minimum of ``repeats`` of each). Which numbers are extrapolated is said in
the table. ``workload="small"`` is the same sweep at n = 50, d = 200, T = 2000.

References: Woodworth et al. 2020 (kernel and rich regimes; the workload); Williams,
Waterman, Patterson 2009 (the roofline model).
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from implicit_bias import bench_baselines as base
from implicit_bias import memory
from implicit_bias.encoding import to_jsonable
from implicit_bias.errors import InputError


@dataclass(frozen=True)
class Workload:
    """Sizes of one benchmark run (full or quick, CPU or GPU)."""

    n: int = 100
    d: int = 1000
    sparsity: int = 5
    steps: int = 10_000
    step_size: float = 1e-3
    sweep: tuple[int, ...] = (1, 4, 16, 64, 256, 1024, 4096, 16384)
    loop_configs: int = 2          # configurations the per-configuration loops are timed on
    loop_steps: int = 1000         # steps they are timed for (scaled to T)
    batched_steps: int = 1000      # steps the hand-batched numpy version is timed for
    batched_max: int = 4096        # largest M the hand-batched numpy version is run at
    n_records: int = 32
    family_steps: int | None = None  # steps of the factorized and MLP sweeps (None: 500 quick, 2000 full)
    flow_features: int = 100        # d of the stiff least-squares problem the flow rows solve (n = d / 5)
    flow_horizon: float = 1e4
    probe_size: int | None = None   # matmul size of the device probe (None: 8192 on a GPU, 2048 on the CPU)
    repeats: int = 3                # interleaved timings of the engine and numpy-batched (the minimum is kept)
    repeat_below: float = 20.0      # seconds: an engine run longer than this is timed once


#: the sizes of a dry run (``benchmarks/gpu-suite --dry-run``): every code path, seconds on a CPU.
TINY = Workload(n=20, d=50, sparsity=2, steps=40, sweep=(1, 16), loop_configs=1, loop_steps=10, batched_steps=10,
                batched_max=16, n_records=4, family_steps=10, flow_features=10, flow_horizon=10.0, probe_size=128)


#: the names :func:`workload` takes: the reference sizes, and a smaller problem where per-step overheads show.
WORKLOADS = ("bench", "small")


def workload(device: str, quick: bool, tiny: bool = False, name: str = "bench") -> Workload:
    """The sizes for a device and mode (the CPU's full sweep stops at M = 4096); ``tiny``: :data:`TINY`.

    ``name="small"``: n = 50, d = 200, T = 2000 (quick: 500), M ∈ {64, 256, 1024, 4096}, the hand-batched
    numpy version timed on every step (nothing scaled)."""
    if name not in WORKLOADS:
        raise InputError(f"unknown benchmark workload {name!r}; valid: {', '.join(WORKLOADS)}")
    if tiny:
        return TINY
    if name == "small":
        steps = 500 if quick else 2000
        return Workload(n=50, d=200, steps=steps, sweep=(64, 256, 1024, 4096), loop_steps=200,
                        batched_steps=steps, batched_max=4096)
    if device == "gpu":
        return Workload(steps=2000, sweep=(1, 16, 256, 1024, 4096, 16384), loop_steps=200) if quick else Workload()
    if quick:
        return Workload(steps=2000, sweep=(1, 16, 256, 1024), loop_steps=200, batched_steps=200, batched_max=1024)
    return Workload(sweep=(1, 4, 16, 64, 256, 1024, 4096), batched_steps=500)


def _device(device: str):
    if device not in ("cpu", "gpu"):
        raise InputError(f"device must be cpu or gpu, got {device!r}")
    try:
        devs = jax.devices(device)
    except RuntimeError:
        devs = []
    if not devs:
        raise InputError("--device gpu: JAX sees no GPU (install the CUDA build of JAX; see benchmarks/README.md)")
    return devs[0]


def _timed(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Smallest wall time of ``repeats`` calls (after one warm-up), results waited for."""
    jax.block_until_ready(fn())
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t)
    return float(best)


def measure_device(dev, device: str, size: int | None = None) -> dict:
    """Matmul rate (flop/s, float32 and float64) and memory bandwidth (bytes/s) of ``dev``."""
    size = size or (8192 if device == "gpu" else 2048)
    out = {}
    for name, dt in (("float32", jnp.float32), ("float64", jnp.float64)):
        a = jax.device_put(jax.random.normal(jax.random.PRNGKey(0), (size, size), dt), dev)
        b = jax.device_put(jax.random.normal(jax.random.PRNGKey(1), (size, size), dt), dev)
        mm = jax.jit(lambda a, b: a @ b)
        out[f"matmul_flops_{name}"] = 2.0 * size ** 3 / _timed(lambda: mm(a, b))
    n_bw = (2 ** 28 if device == "gpu" else 2 ** 25) if size >= 2048 else 2 ** 20
    x = jax.device_put(jax.random.normal(jax.random.PRNGKey(2), (n_bw,), jnp.float32), dev)
    upd = jax.jit(lambda x: x * 1.0000001 + 1e-7, donate_argnums=0)
    holder = [x]

    def step():
        holder[0] = upd(holder[0])
        return holder[0]

    out["bandwidth_bytes"] = 2.0 * n_bw * 4 / _timed(step, repeats=5)
    return out


def xla_products(X: np.ndarray, configs: int, steps: int, dtype: str, dev) -> float:
    """Seconds per step of the engine's two products alone, :func:`bench_baselines.numpy_products` in XLA:
    U ← (U Xᵀ) X in a ``fori_loop``, compiled with the engine's options for ``dtype``
    (:func:`implicit_bias.compilation.compiler_options`), on ``dev``; the minimum of three runs."""
    from implicit_bias.compilation import compiler_options

    with jax.default_device(dev):
        Xn = jnp.asarray(base.spectrally_normalized(X, dtype))
        U = jnp.ones((configs, X.shape[1]), Xn.dtype)
        run = jax.jit(lambda U, X: jax.lax.fori_loop(0, steps, lambda i, U: (U @ X.T) @ X, U),
                      compiler_options=compiler_options(Xn.dtype)).lower(U, Xn).compile()
        return _timed(lambda: run(U, Xn)) / steps


def floors(w: Workload, M: int, steps: int, dev_rates: dict, dtype: str) -> dict:
    """FLOP and byte floors (seconds) of M configurations × ``steps`` steps."""
    item = 4 if dtype == "float32" else 8
    flops = 4.0 * w.n * w.d * M * steps
    nbytes = 4.0 * w.d * M * steps * item
    t_f, t_b = flops / dev_rates[f"matmul_flops_{dtype}"], nbytes / dev_rates["bandwidth_bytes"]
    return {"flops": flops, "bytes": nbytes, "floor_seconds": max(t_f, t_b),
            "floor_bound": "flops" if t_f >= t_b else "bytes"}


def _sweep_hparams(M: int) -> dict:
    """M configurations (M a power of two): init scales log-spaced in [1e-3, 0.5] × min(M, 4) seeds."""
    seeds = min(M, 4)
    return {"init_scale": np.tile(np.geomspace(1e-3, 0.5, M // seeds), seeds),
            "seed": np.repeat(np.arange(seeds), M // seeds)}


def _engine_rows(w: Workload, problem, dev, loops: dict, say) -> list[dict]:
    """Rows of the engine and of the hand-batched numpy version, per dtype and M: after one run that
    compiles, the two are timed alternately ``w.repeats`` times in the same dtype and the minimum of each
    is kept (an engine run longer than ``w.repeat_below`` seconds is timed once). Where numpy-batched runs,
    the two products alone are timed too, in XLA (:func:`xla_products`) and in numpy
    (:func:`bench_baselines.numpy_products`), on ``w.batched_steps`` steps scaled to T: an engine row's
    ``products_ratio_to_numpy`` (numpy's products / XLA's) below 1 says that XLA's matrix kernel alone is
    slower than OpenBLAS at that size, and ``kernel_limited`` that this is so where the engine is slower
    than numpy-batched."""
    import implicit_bias as ib
    from implicit_bias.models.diagonal import DiagonalModel

    model = DiagonalModel(w.d)
    rows = []
    for dtype in ("float64", "float32"):
        for M in w.sweep:
            say(f"engine and numpy-batched {dtype} M={M}")
            hp = _sweep_hparams(M)
            run = lambda: ib.train(model, ib.losses.square, ib.optim.GD(), problem, steps=w.steps,  # noqa: E731
                                   step_size=w.step_size, hparams=hp, dtype=dtype, n_records=w.n_records,
                                   description=f"engine {dtype} M={M}")
            batched = (lambda: base.numpy_batched(problem.X, problem.y, hp["init_scale"], w.step_size,  # noqa: E731
                                                  w.batched_steps, dtype=dtype) * w.steps) if M <= w.batched_max else None
            with jax.default_device(dev):
                res = run()
                engine_s, numpy_s = [res.run_seconds], []
                repeats = w.repeats if res.run_seconds < w.repeat_below else 1
                if repeats > 1:
                    engine_s = []  # the first run also allocated and warmed the program: keep interleaved runs only
                for _ in range(repeats):
                    if batched is not None:
                        numpy_s.append(batched())
                    if repeats > 1:
                        engine_s.append(run().run_seconds)
            seconds = min(engine_s)
            if numpy_s:
                products = {"numpy": min(base.numpy_products(problem.X, M, w.batched_steps, dtype) for _ in range(w.repeats)),
                            "xla": xla_products(problem.X, M, w.batched_steps, dtype, dev)}
                rows.append({"variant": f"numpy-batched-{dtype}", "dtype": dtype, "M": M, "steps": w.steps,
                             "seconds": min(numpy_s), "compile_seconds": 0.0,
                             "extrapolated": w.batched_steps < w.steps, "timings": len(numpy_s),
                             "products_seconds": products["numpy"] * w.steps})
            row = {"variant": f"engine-{dtype}", "dtype": dtype, "M": M, "steps": w.steps, "seconds": seconds,
                   "compile_seconds": res.compile_seconds, "extrapolated": False, "timings": len(engine_s),
                   "diverged": int(res.diverged.sum()), "chunks": res.info.get("chunks", 1),
                   "peak_bytes": res.info.get("peak_bytes")}
            for name, per_config in loops.items():
                row[f"speedup_vs_{name}"] = per_config * M / seconds
            if numpy_s:
                row["ratio_to_numpy_batched"] = min(numpy_s) / seconds
                row["products_seconds"] = products["xla"] * w.steps
                row["products_ratio_to_numpy"] = products["numpy"] / products["xla"]
                row["kernel_limited"] = bool(row["ratio_to_numpy_batched"] < 1 and row["products_ratio_to_numpy"] < 1)
            ref = "torch_loop" if "torch_loop" in loops else "numpy_loop"
            row["speedup"] = row.get(f"speedup_vs_{ref}")
            rows.append(row)
    ref = loops.get("torch_loop", loops.get("numpy_loop"))
    for row in rows:
        if row["variant"].startswith("numpy-batched"):
            row["speedup"] = ref * row["M"] / row["seconds"] if ref else None
    return rows


def _family_rows(w: Workload, quick: bool, dev, say) -> list[dict]:
    """One sweep each of the factorized model and a small MLP, through the same engine."""
    import implicit_bias as ib

    rows = []
    steps = w.family_steps or (500 if quick else 2000)
    hp = ib.grid(init_scale=np.geomspace(1e-2, 1.0, 16), seed=[0, 1, 2, 3])
    try:
        from implicit_bias.models.factorized import FactorizedModel
        from implicit_bias.problems.matrix import matrix_completion

        say("factorized sweep")
        p = matrix_completion((30, 30), 2, 300, seed=0)
        with jax.default_device(dev):
            r = ib.train(FactorizedModel((30, 30), depth=3, kind="completion"), ib.losses.square, ib.optim.GD(), p,
                         steps=steps, step_size=0.5, hparams=hp, description="factorized")
        rows.append({"family": "factorized (depth 3, 30x30 completion)", "M": r.n_configs, "steps": steps,
                     "seconds": r.run_seconds, "compile_seconds": r.compile_seconds, "diverged": int(r.diverged.sum())})
    except ImportError as err:
        rows.append({"family": "factorized", "skipped": f"not available: {err}"})
    try:
        from implicit_bias.models.mlp import MLP

        say("mlp sweep")
        p = ib.problems.gaussian_regression(64, 20, seed=0)
        hp_mlp = ib.grid(init_scale=np.geomspace(0.3, 1.5, 16), seed=[0, 1, 2, 3])
        with jax.default_device(dev):
            r = ib.train(MLP(20, widths=(64, 64)), ib.losses.square, ib.optim.GD(), p, steps=steps, step_size=0.05,
                         hparams=hp_mlp, description="mlp")
        rows.append({"family": "mlp (20-64-64-1 relu, n=64 regression)", "M": r.n_configs, "steps": steps,
                     "seconds": r.run_seconds, "compile_seconds": r.compile_seconds, "diverged": int(r.diverged.sum())})
    except ImportError as err:
        rows.append({"family": "mlp", "skipped": f"not available: {err}"})
    return rows


def _flow_rows(w: Workload, dev, say) -> list[dict]:
    """Gradient flow on stiff least squares to t = 1e4: explicit vs implicit vs the automatic pick."""
    import implicit_bias as ib
    from implicit_bias.models import LinearModel

    rows = []
    d = w.flow_features
    p = ib.problems.sparse_regression(max(2, d // 5), d, min(5, d), n_test=0, seed=0)
    ref = np.linalg.pinv(p.X) @ p.y
    for solver in ("tsit5", "kvaerno5", "auto"):
        say(f"flow {solver}")
        with jax.default_device(dev):
            r = ib.train(LinearModel(d), ib.losses.square, ib.optim.Flow(solver=solver, max_steps=100_000), p,
                         time_horizon=w.flow_horizon, hparams=ib.grid(init_scale=[0.0, 1.0]), n_records=8,
                         description=f"flow {solver}")
        err = np.linalg.norm(r.end_to_end[0] - ref) / np.linalg.norm(ref)
        rows.append({"solver": solver, "picked": r.info.get("solver", solver), "solver_steps": int(np.max(r.solver_steps)),
                     "seconds": r.run_seconds, "compile_seconds": r.compile_seconds, "relative_error": float(err)})
    return rows


def _chunk_check(w: Workload, problem, dev, say) -> dict:
    """A sweep larger than a (deliberately small) memory budget is chunked automatically, same numbers."""
    import implicit_bias as ib
    from implicit_bias.models.diagonal import DiagonalModel

    say("chunking check")
    M = 256  # a budget of about 32 configurations' state and records (float64): several chunks
    budget = 32 * memory.per_config_bytes(2 * w.d * 8, 8 * (w.d + 2), 9)
    kw = dict(steps=min(200, w.steps), step_size=w.step_size, hparams=_sweep_hparams(M), n_records=8)
    with jax.default_device(dev):
        whole = ib.train(DiagonalModel(w.d), ib.losses.square, ib.optim.GD(), problem, chunk_size=M, **kw)
        with memory.limited(budget):
            split = ib.train(DiagonalModel(w.d), ib.losses.square, ib.optim.GD(), problem, **kw)
    from implicit_bias.bench_memory import last_executable

    held = memory.program_bytes(last_executable())  # what one chunk's program really holds (XLA's buffers)
    diff = float(np.max(np.abs(whole.end_to_end - split.end_to_end)))
    return {"M": M, "budget_bytes": budget, "chunk_size": split.info["chunk_size"], "chunks": split.info["chunks"],
            "chunk_program_bytes": held, "chunk_fits_budget": None if held is None else bool(held <= budget),
            "max_abs_difference": diff, "identical": bool(diff == 0.0), "device_budget_bytes": memory.budget_bytes()}


def run_benchmark(device: str = "cpu", quick: bool = False, out_dir: str | Path | None = None,
                  progress: Callable[[str], None] | None = None, max_configs: int | None = None,
                  tiny: bool = False, workload_name: str = "bench") -> dict:
    """Run the benchmark on ``device`` and return the table (JSON-able); write it and a plot under ``out_dir``.

    Returns: {"machine", "workload", "rates", "baselines", "rows", "families", "flow",
    "chunking", "notes"}; each row: variant, dtype, M, steps, seconds, compile_seconds,
    speedup (over the per-configuration PyTorch loop, else the numpy loop), speedup_vs_*,
    ratio_to_numpy_batched (numpy-batched seconds in the same dtype / engine seconds), products_seconds and
    products_ratio_to_numpy (the two products alone, see :func:`_engine_rows`), kernel_limited, floor_seconds,
    floor_bound, fraction_of_floor (= seconds / floor), extrapolated, timings, peak_bytes. ``max_configs``
    caps the sweep's M (default: the workload's); ``tiny`` runs every part at the dry-run sizes
    :data:`TINY`; ``workload_name``: one of :data:`WORKLOADS`.
    """
    import implicit_bias as ib
    from implicit_bias.compilation import enable_compilation_cache

    say = progress or (lambda msg: None)
    load_start = _load()
    dev = _device(device)
    enable_compilation_cache()
    w = workload(device, quick, tiny, workload_name)
    if max_configs is not None:
        if max_configs < 1:
            raise InputError(f"max_configs must be positive, got {max_configs}")
        w = replace(w, sweep=tuple(m for m in w.sweep if m <= max_configs) or (1,))
    problem = ib.problems.sparse_regression(w.n, w.d, w.sparsity, n_test=0, seed=0)
    notes = [f"per-configuration loops timed on {w.loop_configs} configurations × {w.loop_steps} steps "
             f"and scaled to M × {w.steps} steps",
             f"hand-batched numpy (float64 and float32) timed on {w.batched_steps} steps and scaled to {w.steps} "
             f"(M ≤ {w.batched_max}), interleaved with the engine's runs, the minimum of {w.repeats} timings of each "
             f"(of one, where an engine run takes over {w.repeat_below:g} s)"]
    say("measuring the device")
    rates = measure_device(dev, device, w.probe_size)

    loops, rows = {}, []
    scales = _sweep_hparams(max(w.loop_configs, 1))["init_scale"][: w.loop_configs]
    for name, fn in (("torch_loop", base.torch_loop), ("numpy_loop", base.numpy_loop)):
        say(name)
        per_step = fn(problem.X, problem.y, scales, w.step_size, w.loop_steps, device=device)
        if per_step is None:
            notes.append("torch is not installed: the PyTorch baseline is skipped (pip install torch)")
            continue
        loops[name] = per_step * w.steps  # seconds per configuration for T steps
    ref = loops.get("torch_loop", loops.get("numpy_loop"))
    for M in w.sweep:
        for name, per_config in loops.items():
            rows.append({"variant": name.replace("_", "-"), "dtype": "float32" if name == "torch_loop" else "float64",
                         "M": M, "steps": w.steps, "seconds": per_config * M, "compile_seconds": 0.0,
                         "extrapolated": True, "speedup": ref / per_config})
    rows += _engine_rows(w, problem, dev, loops, say)
    # the rates again, after the runs: on a shared machine the better of the two is closer to the hardware
    say("measuring the device again")
    rates = {k: max(v, rates_end) for (k, v), rates_end in zip(rates.items(), measure_device(dev, device, w.probe_size).values())}
    for row in rows:  # floors for every row, from the final rates
        row.update(floors(w, row["M"], row["steps"], rates, row["dtype"]))
        row["fraction_of_floor"] = row["seconds"] / row["floor_seconds"]
    table = {
        "machine": {**_machine(dev), "load_average_1min_start": load_start}, "device": device, "quick": quick, "workload_name": workload_name,
        "workload": {k: getattr(w, k) for k in w.__dataclass_fields__},
        "rates": rates, "baselines": {k: {"seconds_per_config": v} for k, v in loops.items()},
        "rows": rows, "families": _family_rows(w, quick, dev, say), "flow": _flow_rows(w, dev, say),
        "chunking": _chunk_check(w, problem, dev, say), "peak_bytes": memory.peak_bytes(), "notes": notes,
    }
    table = to_jsonable(table)
    if out_dir is not None:
        from implicit_bias.bench_report import write_outputs

        write_outputs(table, Path(out_dir))
    return table


def _load() -> float | None:
    """The 1-minute load average (None where the system does not report it)."""
    import os

    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _machine(dev) -> dict:
    import os

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "jax": jax.__version__, "device": str(dev),
            "device_kind": getattr(dev, "device_kind", dev.platform), "load_average_1min": _load()}


__all__ = ["run_benchmark", "workload", "Workload", "WORKLOADS", "measure_device", "floors", "xla_products"]
