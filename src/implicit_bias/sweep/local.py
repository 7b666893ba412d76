"""Run a sweep's chunks in this process, on every local device.

With one device the chunks run one after the other. With several (``jax.local_device_count() > 1``,
e.g. GPUs, or ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` on a CPU) one thread per device
takes chunks round-robin under ``jax.default_device``: each device runs its own copy of the same
compiled program (same numbers), while the engine's program stays unchanged. Finished chunks are
handed to ``on_done`` in the calling thread, in the order they finish.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable

from implicit_bias.sweep.chunks import Chunk, chunk_hparams
from implicit_bias.sweep.task import ChunkOutput, Job, run_chunk


def run_local(job: Job, hparams: dict, chunks: list[Chunk], on_done: Callable[[ChunkOutput], None],
              devices: list | None = None) -> None:
    """Run ``chunks`` of the sweep ``job`` on ``devices`` (default: every local device)."""
    import jax

    devices = list(devices) if devices is not None else jax.local_devices()
    if len(devices) <= 1:
        for chunk in chunks:
            on_done(run_chunk(job, chunk, chunk_hparams(hparams, chunk)))
        return

    def one(device, chunk: Chunk) -> ChunkOutput:
        with jax.default_device(device):
            return run_chunk(job, chunk, chunk_hparams(hparams, chunk), device=device)

    # one single-thread pool per device: a device runs its chunks in order, the devices at once
    pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sweep-device-{d.id}") for d in devices]
    pending: set = set()
    try:
        pending = {pools[i % len(devices)].submit(one, devices[i % len(devices)], c) for i, c in enumerate(chunks)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                on_done(fut.result())
    finally:
        for fut in pending:
            fut.cancel()
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
