"""Run a sweep's chunks as Ray tasks (``--ray ADDRESS|auto|local:N``); the driver writes what comes back.

Each chunk is one task (``max_retries``: a task whose worker dies is run again elsewhere); the job (model,
optimizer, problem) is put in Ray's object store once. A worker process keeps what it compiled: the
chunks it runs after its first are served from the in-process cache, and every worker reads and fills
the persistent compilation cache. ``local:N`` starts a private Ray on this machine with N worker CPUs
and stops it at the end; ``auto`` or an address joins a running cluster (``ray start --head``) and
disconnects at the end.

Ray is an optional dependency (``pip install 'implicit-bias[distributed]'``), imported only here.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

from implicit_bias.errors import InputError
from implicit_bias.sweep.chunks import Chunk, chunk_hparams
from implicit_bias.sweep.task import ChunkOutput, Job, run_chunk

#: how often a chunk is retried when its worker process dies.
MAX_RETRIES = 3
#: environment the workers inherit (x64, CPU pinning, compilation cache), when set on the driver.
_ENV = ("JAX_PLATFORMS", "IMPLICIT_BIAS_X64", "IMPLICIT_BIAS_CACHE", "JAX_ENABLE_X64", "XLA_FLAGS",
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "EQX_ON_ERROR")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'implicit-bias[distributed]'") from None
    return ray


def parse_address(address: str) -> dict[str, Any]:
    """``local:N`` -> start a local Ray with N CPUs; ``auto`` or ``HOST:PORT``/``ray://...`` -> join it."""
    if address.startswith("local:"):
        try:
            n = int(address.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(f"--ray local:N needs a positive number of workers, got {address!r}")
        return {"num_cpus": n}
    if not address:
        raise InputError("--ray needs an address, auto, or local:N")
    return {"address": address}


def _chunk_task(job: Job, chunk: Chunk, hparams: dict, task: Callable | None = None) -> ChunkOutput:
    """What a worker runs: the compilation cache on, then the chunk."""
    import implicit_bias  # noqa: F401 - float64 and EQX_ON_ERROR before anything else
    from implicit_bias.cli_support import use_compilation_cache

    use_compilation_cache()
    return (task or run_chunk)(job, chunk, hparams)


def start_ray(ray: Any, init: dict[str, Any], address: str) -> None:
    """``ray.init`` with the workers' environment (x64, platform, caches) and without a dashboard."""
    env = {k: os.environ[k] for k in _ENV if k in os.environ}
    try:
        with warnings.catch_warnings():  # Ray forks helper processes then execs them: JAX's fork warning is moot
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            ray.init(**init, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                     runtime_env={"env_vars": env} if env else None)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise InputError(f"cannot start or reach Ray at {address!r}: {str(err).splitlines()[0]}") from None


def run_ray(job: Job, hparams: dict, chunks: list[Chunk], on_done: Callable[[ChunkOutput], None], address: str, *,
            max_retries: int = MAX_RETRIES, task: Callable | None = None) -> dict[str, Any]:
    """Run ``chunks`` as Ray tasks at ``address``; ``on_done`` gets each result in the driver as it arrives.

    ``task`` replaces :func:`run_chunk` inside the workers (same signature), e.g. to inject faults."""
    ray = import_ray()
    init = parse_address(address)
    started = not ray.is_initialized()
    if started:
        start_ray(ray, init, address)
    try:
        remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(_chunk_task)
        job_ref = ray.put(job)
        pending = {remote.remote(job_ref, c, chunk_hparams(hparams, c), task): c for c in chunks}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                on_done(ray.get(ref))
        return {"workers": int(ray.cluster_resources().get("CPU", 0))}
    except ray.exceptions.RayError as err:
        raise InputError(f"a Ray task failed after {max_retries} retries: {str(err).splitlines()[0]}") from None
    finally:
        if started:
            ray.shutdown()  # stops a local Ray; only disconnects from a cluster
