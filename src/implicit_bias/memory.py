"""Device memory: how much a sweep may use, how many configurations fit at once, the peak used.

The engine runs M configurations as one batched program. Its footprint grows like
M · (per-configuration bytes): the parameters and optimizer state a few times over (the
state, the copy kept at the start of a recording segment, the gradients, the new iterate)
plus the records, R points × (record size). When that exceeds the memory available on
the device, the sweep is split into chunks of one compiled shape (same numbers).

* GPU: ``jax.devices()[0].memory_stats()`` (``bytes_limit``, ``bytes_in_use``, ``peak_bytes_in_use``).
* CPU: ``MemAvailable`` from /proc/meminfo; the peak is the process's maximum resident set size.

References: JAX documentation, "GPU memory allocation" and ``Device.memory_stats``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from typing import Any, Iterator

import jax
import numpy as np

#: fraction of the available memory a sweep may plan to use.
BUDGET_FRACTION = 0.5
#: copies of the parameters and optimizer state alive inside one step (see module docstring).
STATE_COPIES = 6


def _device() -> Any:
    return jax.devices()[0]


def available_bytes() -> int:
    """Bytes the current default device can still allocate (an estimate)."""
    dev = _device()
    stats = None
    if dev.platform != "cpu":
        try:
            stats = dev.memory_stats()
        except Exception:  # noqa: BLE001 - some backends do not implement it
            stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


_LIMIT: list[int] = []


def budget_bytes() -> int:
    """What one sweep may plan to use: ``BUDGET_FRACTION`` of :func:`available_bytes` (or the :func:`limited` cap)."""
    return _LIMIT[-1] if _LIMIT else int(BUDGET_FRACTION * available_bytes())


@contextlib.contextmanager
def limited(nbytes: int) -> Iterator[int]:
    """Plan sweeps in this block as if only ``nbytes`` were available (tests, demonstrations)."""
    _LIMIT.append(int(nbytes))
    try:
        yield int(nbytes)
    finally:
        _LIMIT.pop()


def tree_bytes(tree: Any) -> int:
    """Total bytes of the array leaves (arrays or ShapeDtypeStructs) of a pytree."""
    return int(sum(np.prod(x.shape, dtype=np.int64) * np.dtype(x.dtype).itemsize
                   for x in jax.tree_util.tree_leaves(tree)))


def per_config_bytes(state_bytes: int, record_bytes: int, n_records: int, work_bytes: int = 0) -> int:
    """Footprint of one configuration: ``STATE_COPIES`` · state + records + per-step work arrays."""
    return STATE_COPIES * state_bytes + (n_records + 1) * record_bytes + work_bytes


def auto_chunk_size(n_configs: int, per_config: int, budget: int | None = None) -> int:
    """Largest chunk of configurations whose footprint fits in ``budget`` (all M if they fit).

    Chunks are a power of two (fewer distinct shapes to compile), at least 1.
    """
    budget = budget_bytes() if budget is None else budget
    if per_config <= 0 or n_configs * per_config <= budget:
        return n_configs
    fit = max(1, budget // per_config)
    return int(min(n_configs, 2 ** int(np.floor(np.log2(fit)))))


def peak_bytes() -> int:
    """Peak memory so far: the device's ``peak_bytes_in_use`` on GPU, else the max resident set size."""
    dev = _device()
    if dev.platform != "cpu":
        try:
            stats = dev.memory_stats() or {}
            if "peak_bytes_in_use" in stats:
                return int(stats["peak_bytes_in_use"])
        except Exception:  # noqa: BLE001
            pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)
