"""A sweep's run directory: chunk files written atomically, resumed by what exists, assembled at the end.

Layout (a public interface)::

    RUN/config.json                 experiment "sweep", config (resolved spec), fingerprint, versions,
                                    machine, status ("running" | "complete"), chunks, references, figures
    RUN/claims.json                 [] (a sweep makes no claims; ``implicit-bias runs`` lists it)
    RUN/chunks/chunk-00012.parquet  one row per configuration of chunk 12 (written last: the chunk's
                                    completion mark)
    RUN/chunks/chunk-00012.npz      config (m,), w (m, ...) end-to-end predictors
    RUN/metrics.parquet/chunk-00012.parquet   long format: series, config, step, metric, value, <axes>
    RUN/final.parquet               every chunk's rows, sorted by config, with distances to references
    RUN/reference_<name>.npz        w (k, ...) per distinct reference option set, options, objective
    RUN/figures/sweep.png (.pdf)

A chunk is finished exactly when ``chunks/<name>.parquet`` exists; every file is moved into place by an
atomic rename, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.store.atomic import atomic_path, write_json_atomic, write_parquet_atomic
from implicit_bias.sweep.chunks import Chunk

CONFIG, CLAIMS, CHUNKS, METRICS, FINAL, FIGURES = ("config.json", "claims.json", "chunks", "metrics.parquet",
                                                   "final.parquet", "figures")


def chunk_paths(out: Path, chunk: Chunk) -> dict[str, Path]:
    return {"final": out / CHUNKS / f"{chunk.name}.parquet", "w": out / CHUNKS / f"{chunk.name}.npz",
            "metrics": out / METRICS / f"{chunk.name}.parquet"}


def _artifacts(out: Path) -> list[Path]:
    return [out / CHUNKS, out / METRICS, out / FINAL, out / FIGURES, out / CLAIMS, *out.glob("reference_*.npz")]


def read_record(out: Path) -> dict[str, Any] | None:
    """The sweep's config.json, or None when absent or unreadable."""
    try:
        record = json.loads((out / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def check_target(out: Path, fingerprint: str, *, resume: bool, force: bool) -> None:
    """Refuse (InputError) a directory holding something else: another run, another sweep spec, or
    files that are not a run, unless ``force``. Nothing is written here."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out} exists and is not a directory")
    record = read_record(out)
    if record is None:
        if any(out.iterdir()) and not force:
            raise InputError(f"{out} exists and is not a sweep directory; use --force or another --out")
        return
    if record.get("fingerprint") != fingerprint and not force:
        what = "a different sweep" if record.get("experiment") == "sweep" else f"a run of {record.get('experiment')}"
        raise InputError(f"{out} holds {what}; use --force to overwrite, or another --out")


def prepare(out: Path, fingerprint: str, *, resume: bool) -> None:
    """Make ``out`` ready: keep finished chunks when resuming the same spec, else clear old artifacts."""
    record = read_record(out) if out.exists() else None
    keep = resume and record is not None and record.get("fingerprint") == fingerprint
    if not keep and out.exists():
        (out / CONFIG).unlink(missing_ok=True)
        for path in _artifacts(out):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    else:
        (out / FINAL).unlink(missing_ok=True)  # rewritten from the chunks at the end
    (out / CHUNKS).mkdir(parents=True, exist_ok=True)
    (out / METRICS).mkdir(parents=True, exist_ok=True)


def finished(out: Path, chunks: Iterable[Chunk]) -> set[int]:
    """Indices of the chunks whose completion mark exists."""
    return {c.index for c in chunks if chunk_paths(out, c)["final"].is_file()}


def save_npz(target: Path, arrays: dict[str, Any]) -> Path:
    """An .npz written atomically."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    return target


def write_chunk(out: Path, output: Any) -> None:
    """The chunk's metrics partition and predictors, then its table (the completion mark)."""
    paths = chunk_paths(out, output.chunk)
    if len(output.metrics):
        write_parquet_atomic(paths["metrics"], output.metrics)
    save_npz(paths["w"], {"config": output.final["config"].to_numpy(), "w": output.w})
    write_parquet_atomic(paths["final"], output.final)


def assemble(out: Path, chunks: list[Chunk]) -> tuple[Any, np.ndarray]:
    """(table of every configuration sorted by config, w (M, ...) in the same order) from the chunk files."""
    import pandas as pd
    import pyarrow.parquet as pq

    frames, ws = [], []
    for c in chunks:
        paths = chunk_paths(out, c)
        frames.append(pq.read_table(paths["final"]).to_pandas())
        with np.load(paths["w"], allow_pickle=False) as f:
            if not np.array_equal(f["config"], frames[-1]["config"].to_numpy()):
                raise InputError(f"{paths['w']} does not match {paths['final']}; rerun without --resume")
            ws.append(np.asarray(f["w"]))
    table = pd.concat(frames, ignore_index=True)
    order = np.argsort(table["config"].to_numpy(), kind="stable")
    return table.iloc[order].reset_index(drop=True), np.concatenate(ws)[order]


def write_final(out: Path, table: Any) -> Path:
    return write_parquet_atomic(out / FINAL, table)


def write_record(out: Path, record: dict[str, Any]) -> Path:
    write_json_atomic(out / CLAIMS, [])
    return write_json_atomic(out / CONFIG, record)


def read_final(run: Path) -> Any:
    """final.parquet of a sweep directory as a DataFrame (InputError when missing)."""
    import pyarrow.parquet as pq

    path = Path(run) / FINAL if Path(run).is_dir() else Path(run)
    if not path.is_file():
        raise InputError(f"no {FINAL} in {run} (is it a finished sweep directory?)")
    try:
        return pq.read_table(path).to_pandas()
    except Exception as err:  # noqa: BLE001 - an unreadable file is one line
        raise InputError(f"cannot read {path}: {err}") from None
