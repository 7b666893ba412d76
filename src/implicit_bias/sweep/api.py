"""Run a resolved sweep into a run directory: references, chunks (local or Ray), assembly, figure.

Order of work: check the directory (refuse another spec unless ``force``), solve the references (bad
options fail here, before training), write ``config.json`` (status "running"), run the chunks not yet
finished, each written as it comes back, then assemble ``final.parquet`` sorted by configuration, add
the distances, draw the figure and mark ``config.json`` complete. Interrupted at any point, the same
command with ``resume=True`` runs only the missing chunks and gives the same table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from implicit_bias.sweep import store
from implicit_bias.sweep.chunks import plan
from implicit_bias.sweep.spec import ResolvedSweep
from implicit_bias.sweep.task import ChunkOutput, Job


def make_job(sweep: ResolvedSweep) -> Job:
    return Job(sweep.fingerprint(), sweep.model, sweep.loss, sweep.optimizer, sweep.problem,
               steps=None if sweep.is_flow else sweep.spec.steps, time_horizon=sweep.spec.time if sweep.is_flow else None,
               n_records=sweep.spec.n_records, dtype=sweep.spec.dtype, axes=tuple(sweep.axes))


def _end_to_end_shape(sweep: ResolvedSweep) -> tuple[int, ...]:
    import jax
    import jax.numpy as jnp

    from implicit_bias.keys import seed_keys

    hp = {k: jnp.asarray(v[0]) for k, v in sweep.hparams.items()}
    hp.setdefault("seed", jnp.asarray(0))
    shape = jax.eval_shape(lambda h: sweep.model.end_to_end(sweep.model.init(h, seed_keys(h["seed"])[0])), hp)
    return tuple(shape.shape)


def _record(sweep: ResolvedSweep, status: str, **extra: Any) -> dict[str, Any]:
    from implicit_bias.store.serialize import machine, utc_now, versions

    return {"experiment": "sweep", "kind": "sweep", "config": sweep.record(), "fingerprint": sweep.fingerprint(),
            "status": status, "created": utc_now(), "versions": versions(), "machine": machine(),
            "n_configs": sweep.n_configs, "chunk_size": sweep.chunk_size, **extra}


def run_sweep(sweep: ResolvedSweep, out: str | Path, *, resume: bool = False, force: bool = False,
              ray: str | None = None, on_start: Callable[[int], None] | None = None, on_chunk: Callable[[ChunkOutput], None] | None = None,
              devices: list | None = None, task: Callable | None = None, figure: bool = True) -> dict[str, Any]:
    """Run ``sweep`` into ``out``; returns a summary (chunks computed and skipped, files, counts).

    ``on_start`` gets the number of configurations kept from before; ``on_chunk`` is called after each chunk is written (a progress bar; an exception there stops the
    sweep, leaving the finished chunks for ``resume``). ``devices`` restricts local execution;
    ``task`` replaces the chunk function inside Ray workers.
    """
    from implicit_bias.sweep.references import check_shapes, compute_references, distances

    out = Path(out)
    fp = sweep.fingerprint()
    store.check_target(out, fp, resume=resume, force=force)
    if ray is not None:
        from implicit_bias.sweep.ray_backend import import_ray, parse_address

        import_ray()
        parse_address(ray)
    refs = compute_references(sweep.spec.references, sweep.problem, sweep.model, sweep.hparams)
    if refs:
        check_shapes(refs, _end_to_end_shape(sweep))

    start = time.perf_counter()
    store.prepare(out, fp, resume=resume)
    chunks = plan(sweep.n_configs, sweep.chunk_size)
    done_before = store.finished(out, chunks)
    todo = [c for c in chunks if c.index not in done_before]
    store.write_record(out, _record(sweep, "running", n_chunks=len(chunks)))
    if on_start is not None:
        on_start(sum(c.n_configs for c in chunks if c.index in done_before))
    computed: list[int] = []
    compiles = 0

    def on_done(output: ChunkOutput) -> None:
        nonlocal compiles
        store.write_chunk(out, output)
        computed.append(output.chunk.index)
        compiles += int(output.compiled)
        if on_chunk is not None:
            on_chunk(output)

    job = make_job(sweep)
    backend: dict[str, Any] = {"backend": "local"}
    if todo:
        if ray is not None:
            from implicit_bias.sweep.ray_backend import run_ray

            backend = {"backend": "ray", "address": ray, **run_ray(job, sweep.hparams, todo, on_done, ray, task=task)}
        else:
            import jax

            from implicit_bias.sweep.local import run_local

            used = list(devices) if devices is not None else jax.local_devices()
            backend["devices"] = len(used)
            run_local(job, sweep.hparams, todo, on_done, devices=used)

    table, w = store.assemble(out, chunks)
    for ref in refs:
        table[ref.column] = distances(ref, w)
        store.save_npz(out / f"reference_{ref.name}.npz", ref.to_npz())
    if len(refs) == 1:
        table["dist_to_reference"] = table[refs[0].column]
    final_path = store.write_final(out, table)
    figures = []
    if figure:
        from implicit_bias.sweep.figure import sweep_figure

        figures = sweep_figure(table, sweep.axes, out / store.FIGURES / "sweep")
    seconds = time.perf_counter() - start
    summary = {"run_dir": str(out), "n_configs": sweep.n_configs, "n_chunks": len(chunks),
               "chunk_size": sweep.chunk_size, "computed": sorted(computed), "skipped": sorted(done_before),
               "programs_compiled": compiles, "n_diverged": int(table["diverged"].sum()),
               "n_converged": int(table["converged"].sum()), "n_solver_failed": int((~table["solver_ok"]).sum()),
               "references": [r.summary() for r in refs], "final": str(final_path),
               "figures": [str(p) for p in figures], "wall_time": seconds, **backend}
    store.write_record(out, _record(sweep, "complete", n_chunks=len(chunks), wall_time=seconds,
                                    references=[r.summary() for r in refs], execution=backend,
                                    figures=[Path(p).relative_to(out).as_posix() for p in figures]))
    return summary
