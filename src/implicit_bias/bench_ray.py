"""What Ray costs a sweep: the overhead per chunk, the scaling from one to two local workers, and what
that predicts for a cluster.

* overhead: many tiny chunks (a few configurations, a few steps) run in this process, then as Ray
  tasks on one local worker, both warm (compiled). Overhead per chunk o = (Ray time − local time) / chunks.
* driver: the time the driver spends per finished chunk (fetching it and writing its files), d.
* scaling: a small real workload (8 chunks of 64 configurations of a diagonal-network sweep, n = 50,
  d = 200, 2000 steps) on ``local:1`` and ``local:2``,
  each timed after every worker has compiled; speedup = t1 / t2.
* projection: a chunk that computes for t_c seconds keeps a worker busy a fraction t_c / (t_c + o); the
  driver handles at most 1/d chunks a second, so W workers stay fed while W·d ≤ t_c + o, i.e. chunks
  must compute at least t_c ≥ W·d − o. :func:`project` evaluates this for 64 nodes.

``implicit-bias bench --ray`` prints the table (``--quick``: fewer chunks). Ray is imported lazily.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _sweep(n_configs: int, steps: int, chunk: int, n: int = 10, d: int = 20) -> Any:
    """A diagonal-network sweep over init scales on a Gaussian regression (n samples, d features)."""
    from implicit_bias.sweep import SweepSpec, resolve

    return resolve(SweepSpec(model="diagonal", problem="gaussian-regression",
                             problem_options={"n_samples": n, "n_features": d}, steps=steps, n_records=4,
                             chunk_size=chunk, grid={"init_scale": f"logspace(-2,0,{n_configs})", "step_size": "0.02"}))


def _local_per_chunk(sweep: Any, repeats: int = 3) -> float:
    from implicit_bias.sweep.api import make_job
    from implicit_bias.sweep.chunks import chunk_hparams, plan
    from implicit_bias.sweep.task import run_chunk

    job, chunks = make_job(sweep), plan(sweep.n_configs, sweep.chunk_size)
    run_chunk(job, chunks[0], chunk_hparams(sweep.hparams, chunks[0]))  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for c in chunks:
            run_chunk(job, c, chunk_hparams(sweep.hparams, c))
        times.append((time.perf_counter() - start) / len(chunks))
    return min(times)


def _ray_time(ray: Any, sweep: Any, workers: int, repeats: int = 3) -> tuple[float, float]:
    """(seconds for all chunks as tasks, best of ``repeats``; seconds per chunk the driver spends writing)."""
    from implicit_bias.sweep import store
    from implicit_bias.sweep.api import make_job
    from implicit_bias.sweep.chunks import chunk_hparams, plan
    from implicit_bias.sweep.ray_backend import _chunk_task, start_ray

    job, chunks = make_job(sweep), plan(sweep.n_configs, sweep.chunk_size)
    start_ray(ray, {"num_cpus": workers}, f"local:{workers}")
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_chunk_task)
        ref = ray.put(job)
        args = [(c, chunk_hparams(sweep.hparams, c)) for c in chunks]
        ray.get([remote.remote(ref, c, h) for c, h in args[: 4 * workers]] if len(args) >= 4 * workers
                else [remote.remote(ref, *args[0]) for _ in range(4 * workers)])  # every worker compiles
        best, writes = float("inf"), []
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            (out / store.CHUNKS).mkdir()
            (out / store.METRICS).mkdir()
            for _ in range(repeats):
                start = time.perf_counter()
                pending = [remote.remote(ref, c, h) for c, h in args]
                while pending:
                    done, pending = ray.wait(pending, num_returns=1)
                    t0 = time.perf_counter()
                    store.write_chunk(out, ray.get(done[0]))
                    writes.append(time.perf_counter() - t0)
                best = min(best, time.perf_counter() - start)
        return best, statistics.median(writes)
    finally:
        ray.shutdown()


def project(overhead: float, driver: float, chunk_seconds: float, nodes: int = 64,
            workers_per_node: tuple[int, ...] = (1, 16)) -> list[dict[str, float]]:
    """Predicted efficiency on ``nodes`` nodes: worker busy fraction t_c/(t_c+o), and whether one driver
    keeps W workers fed (W·d ≤ t_c + o); the smallest chunk time that does."""
    rows = []
    for per_node in workers_per_node:
        W = nodes * per_node
        busy = chunk_seconds / (chunk_seconds + max(overhead, 0.0))
        demand = W / (chunk_seconds + max(overhead, 0.0))  # chunks per second the workers finish
        fed = min(1.0, (1.0 / driver) / demand) if driver > 0 else 1.0
        rows.append({"nodes": nodes, "workers": W, "chunk_seconds": chunk_seconds, "worker_busy": busy,
                     "driver_limited_fraction": fed, "efficiency": busy * fed,
                     "min_chunk_seconds": max(0.0, W * driver - max(overhead, 0.0))})
    return rows


def run_ray_bench(quick: bool = False) -> dict[str, Any]:
    """Measure Ray's per-chunk overhead and 1 → 2 worker scaling; project to 64 nodes."""
    from implicit_bias.sweep.ray_backend import import_ray

    ray = import_ray()
    n_tiny = 16 if quick else 64
    tiny = _sweep(n_configs=4 * n_tiny, steps=20, chunk=4)
    local_tiny = _local_per_chunk(tiny)
    ray_tiny, driver = _ray_time(ray, tiny, workers=1)
    overhead = ray_tiny / n_tiny - local_tiny
    work = _sweep(n_configs=8 * 64, steps=500 if quick else 2000, chunk=64, n=50, d=200)
    local_work = _local_per_chunk(work, repeats=1)
    t1, _ = _ray_time(ray, work, workers=1, repeats=2)
    t2, _ = _ray_time(ray, work, workers=2, repeats=2)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"load_average_1min": load, "cpu_count": os.cpu_count(), "ray": ray.__version__,
            "tiny": {"chunks": n_tiny, "configs_per_chunk": 4, "steps": 20, "local_seconds_per_chunk": local_tiny,
                     "ray_seconds_per_chunk": ray_tiny / n_tiny, "overhead_seconds_per_chunk": overhead,
                     "driver_seconds_per_chunk": driver},
            "scaling": {"chunks": 8, "configs_per_chunk": 64, "steps": work.spec.steps,
                        "local_seconds_per_chunk": local_work, "ray_1_worker_seconds": t1, "ray_2_workers_seconds": t2,
                        "speedup": t1 / t2},
            "projection_64_nodes": project(overhead, driver, chunk_seconds=local_work)}


def format_ray(table: dict[str, Any]) -> str:
    t, s = table["tiny"], table["scaling"]
    lines = [f"Ray {table['ray']} on {table['cpu_count']} CPUs (load average {table['load_average_1min']:.2f})",
             f"tiny chunks ({t['chunks']} × {t['configs_per_chunk']} configurations, {t['steps']} steps): "
             f"local {1e3 * t['local_seconds_per_chunk']:.2f} ms/chunk, Ray {1e3 * t['ray_seconds_per_chunk']:.2f} ms/chunk, "
             f"overhead {1e3 * t['overhead_seconds_per_chunk']:.2f} ms/chunk; driver writes {1e3 * t['driver_seconds_per_chunk']:.2f} ms/chunk",
             f"scaling ({s['chunks']} chunks × {s['configs_per_chunk']} configurations, {s['steps']} steps, "
             f"{s['local_seconds_per_chunk']:.3f} s/chunk locally): 1 worker {s['ray_1_worker_seconds']:.2f} s, "
             f"2 workers {s['ray_2_workers_seconds']:.2f} s, speedup {s['speedup']:.2f}"]
    for row in table["projection_64_nodes"]:
        lines.append(f"64 nodes, {row['workers']} workers, chunks of {row['chunk_seconds']:.3f} s: efficiency "
                     f"{row['efficiency']:.2f} (worker busy {row['worker_busy']:.2f}, driver keeps up "
                     f"{row['driver_limited_fraction']:.2f}); chunks of ≥ {row['min_chunk_seconds']:.2f} s keep every worker fed")
    return "\n".join(lines)
