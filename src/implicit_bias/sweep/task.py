"""One chunk of a sweep as one call of :func:`implicit_bias.engine.train`: the unit a local thread or a
Ray task runs.

:func:`run_chunk` takes a :class:`Job` (what every chunk shares: components, problem, horizon) and a
chunk with its padded hyper-parameters, and returns a :class:`ChunkOutput`: the per-configuration
table (final loss, flags, norms of the end-to-end predictor w), the long metrics table and w itself.
Every chunk has the same shape, so a process compiles the program once and serves the other chunks
from :mod:`implicit_bias.compilation`'s cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from implicit_bias.sweep.chunks import Chunk


@dataclass(frozen=True)
class Job:
    """What every chunk of one sweep shares (picklable: it travels to Ray workers once)."""

    fingerprint: str
    model: Any
    loss: Any
    optimizer: Any
    problem: Any
    steps: int | None
    time_horizon: float | None
    n_records: int
    dtype: str
    axes: tuple[str, ...]


@dataclass
class ChunkOutput:
    """A finished chunk: ``final`` one row per configuration, ``metrics`` long format, ``w`` (m, ...)."""

    chunk: Chunk
    final: Any
    metrics: Any
    w: np.ndarray
    seconds: float
    compiled: bool


#: per-process memo: the first Job seen for a fingerprint (its objects key the compiled program).
_JOBS: dict[str, Job] = {}
#: per-process memo: one record function per (fingerprint, device), so each device has its own program.
_RECORDS: dict[tuple[str, Any], Any] = {}


def _record_for(job: Job, device: Any) -> Any:
    """None (the engine's default record) on one device; a distinct, equivalent record function per
    device otherwise, so that the engine's program cache keeps one executable per device."""
    if device is None:
        return None
    from implicit_bias.engine import default_record

    key = (job.fingerprint, device)
    if key not in _RECORDS:
        _RECORDS[key] = default_record(job.model, job.loss, True)
    return _RECORDS[key]


def norms(w: np.ndarray) -> dict[str, np.ndarray]:
    """Norms of each end-to-end predictor, w (m, d) or (m, d1, d2): ℓ2 (Frobenius), ℓ1 and, for matrices,
    the nuclear norm."""
    flat = w.reshape(len(w), -1)
    out = {"norm_w": np.linalg.norm(flat, axis=1), "norm_w_l1": np.abs(flat).sum(axis=1)}
    if w.ndim == 3:
        out["norm_w_nuclear"] = np.linalg.svd(w, compute_uv=False).sum(axis=1)
    return out


def run_chunk(job: Job, chunk: Chunk, hparams: dict[str, np.ndarray], device: Any = None) -> ChunkOutput:
    """Train the chunk's K configurations in one engine call; rows of padding are dropped."""
    import pandas as pd

    from implicit_bias.engine import train

    job = _JOBS.setdefault(job.fingerprint, job)
    start = time.perf_counter()
    out = train(job.model, job.loss, job.optimizer, job.problem, steps=job.steps, time_horizon=job.time_horizon,
                hparams=hparams, n_records=job.n_records, dtype=job.dtype, chunk_size=chunk.size,
                record=_record_for(job, device), description=f"sweep {chunk.name}")
    out = out.select(np.arange(chunk.n_configs))
    configs = np.arange(chunk.start, chunk.stop)
    w = np.asarray(out.end_to_end, dtype=np.float64)
    final = pd.DataFrame({"config": configs})
    for name in job.axes:
        final[name] = np.asarray(out.hparams[name])
    final["final_loss"] = np.asarray(out.final_loss, dtype=np.float64)
    final["converged"] = np.asarray(out.converged, dtype=bool)
    final["diverged"] = np.asarray(out.diverged, dtype=bool)
    final["diverged_at"] = np.asarray(out.diverged_at, dtype=np.float64)
    final["solver_ok"] = np.asarray(out.solver_ok, dtype=bool)
    final["solver_steps"] = np.asarray(out.solver_steps, dtype=np.int64)
    for name, values in norms(w).items():
        final[name] = values
    out.hparams = {k: v for k, v in out.hparams.items() if k in job.axes}
    metrics = out.metrics_frame()
    if len(metrics):
        metrics["config"] = metrics["config"].to_numpy() + chunk.start
    return ChunkOutput(chunk, final, metrics, w, time.perf_counter() - start,
                       compiled=not out.info.get("compile_cached", False))
