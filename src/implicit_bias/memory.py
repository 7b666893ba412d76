"""Device memory: how much a sweep may use, how many configurations fit at once, the peak used.

The engine runs M configurations as one batched program. Its footprint grows like
M · (per-configuration bytes): the parameters and optimizer state a few times over (the
state, the copy kept at the start of a recording segment, the gradients, the new iterate)
plus the records, R points × (record size). When that exceeds the memory available on
the device, the sweep is split into chunks of one compiled shape (same numbers).

* GPU: ``jax.devices()[0].memory_stats()`` (``bytes_limit``, ``bytes_in_use``, ``peak_bytes_in_use``).
* CPU: ``MemAvailable`` from /proc/meminfo; the peak is the process's maximum resident set size.

What a compiled program really holds is read from XLA's buffer assignment
(:func:`program_bytes`: arguments + outputs − donated + temporaries), on any device; every plan the
chunker makes is visible inside :func:`plan_ledger` (the estimate per configuration it used), so the
two can be compared (:mod:`implicit_bias.bench_memory`).

References: JAX documentation, "GPU memory allocation" and ``Device.memory_stats``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from typing import Any, Callable, Iterator

import jax
import numpy as np
from jax.extend.core import Literal as _Literal

#: fraction of the available memory a sweep may plan to use.
BUDGET_FRACTION = 0.5
#: copies of the parameters and optimizer state alive inside one step (see module docstring).
STATE_COPIES = 6
#: copies of the P×P Jacobian an implicit ODE solver holds per configuration (Jacobian, LU factors, Newton
#: work; measured with XLA's buffer assignment, Kvaerno5 at P = 32 … 128: 3–4).
JACOBIAN_COPIES = 4
#: copies of the state an explicit Runge–Kutta step holds besides the engine's own (Tsit5: 7 stages + error).
FLOW_STATE_COPIES = 8


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
#: open ledgers of :func:`plan_ledger`; each collects one dict per chunking plan.
_PLANS: list[list[dict]] = []


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
        size = n_configs
    else:
        fit = max(1, budget // per_config)
        size = int(min(n_configs, 2 ** int(np.floor(np.log2(fit)))))
    for ledger in _PLANS:
        ledger.append({"n_configs": int(n_configs), "per_config_bytes": int(per_config), "budget_bytes": int(budget),
                       "chunk_size": int(size)})
    return size


@contextlib.contextmanager
def plan_ledger() -> Iterator[list[dict]]:
    """Collect every chunking plan made inside the block: {n_configs, per_config_bytes (the estimate),
    budget_bytes, chunk_size} per :func:`auto_chunk_size` call (one per sweep that was not given a chunk size)."""
    plans: list[dict] = []
    _PLANS.append(plans)
    try:
        yield plans
    finally:
        _PLANS.remove(plans)


def program_bytes(compiled: Any) -> int | None:
    """Bytes a compiled XLA program holds while it runs: arguments + outputs − donated (aliased) + temporaries.

    From the program's buffer assignment (``compiled.memory_analysis()``), so it is the same on CPU and GPU
    and does not depend on what else the process holds. None when the backend does not report it.
    """
    try:
        stats = compiled.memory_analysis()
    except Exception:  # noqa: BLE001 - backends without a memory analysis
        return None
    if stats is None:
        return None
    return int(stats.argument_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes
               + stats.temp_size_in_bytes)


def flow_work_bytes(state_bytes: int, n_params: int, itemsize: int, implicit: bool) -> int:
    """Work of one configuration's ODE solve: the Runge–Kutta stages, and for an implicit solver the
    P×P Jacobian ``JACOBIAN_COPIES`` times over (memory ∝ P²)."""
    return FLOW_STATE_COPIES * state_bytes + (JACOBIAN_COPIES * n_params * n_params * itemsize if implicit else 0)


def step_work_bytes(fn: Callable, *args: Any) -> int:
    """Peak bytes of the intermediate values of ``fn(*args)`` for one configuration, by liveness over its jaxpr.

    The equations run in order; a value lives from the equation that makes it to its last use; the peak of
    the live set (a call's own inner peak added while it runs) bounds the work arrays of an unfused step,
    e.g. the n × width activations and their gradients of an MLP, which the parameter count does not show.
    Inputs (parameters, data) are not counted: the caller counts them.
    """
    closed = jax.make_jaxpr(fn)(*args)
    return int(_peak_live(closed.jaxpr))


def _var_bytes(v: Any) -> int:
    aval = getattr(v, "aval", None)
    shape, dtype = getattr(aval, "shape", None), getattr(aval, "dtype", None)
    if shape is None or dtype is None:
        return 0
    try:
        return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    except TypeError:  # key arrays and other extended dtypes
        return 0


def _inner_jaxprs(eqn: Any) -> list:
    found = []
    for value in eqn.params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            inner = getattr(item, "jaxpr", item)
            if hasattr(inner, "eqns"):
                found.append(inner)
    return found


def _peak_live(jaxpr: Any) -> int:
    last_use: dict[Any, int] = {}
    for i, eqn in enumerate(jaxpr.eqns):
        for v in eqn.invars:
            if not isinstance(v, _Literal):
                last_use[v] = i
    outs = {v for v in jaxpr.outvars if not isinstance(v, _Literal)}
    live: dict[Any, int] = {}
    peak = 0
    for i, eqn in enumerate(jaxpr.eqns):
        inner = max((_peak_live(j) for j in _inner_jaxprs(eqn)), default=0)
        made = {v: _var_bytes(v) for v in eqn.outvars}
        peak = max(peak, sum(live.values()) + inner + sum(made.values()))
        live.update(made)
        for v in [v for v in live if last_use.get(v, -1) <= i and v not in outs]:
            del live[v]
    return peak


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
