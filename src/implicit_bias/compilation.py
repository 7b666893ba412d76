"""Compiled programs, kept: a persistent XLA cache on disk and an in-process cache of executables.

* :func:`enable_compilation_cache` points JAX's persistent compilation cache at
  ``~/.cache/implicit-bias/jax`` (or ``$IMPLICIT_BIAS_CACHE``): a second process that
  builds the same program loads it from disk instead of running XLA again. JAX does not
  store executables with host callbacks, so no engine program has one: progress is reported
  from the host between calls of the same program (:mod:`implicit_bias.progress`). The
  command line turns the cache on for every command that computes.
* :func:`cached_compile` keeps the executables this process has compiled, keyed by what
  determines the program (model, loss, optimizer, record function, recording points,
  dtype) and the shapes of its arguments: a second ``train`` call with the same sweep
  shape skips tracing and compilation altogether.
* :func:`compiler_options` are the XLA options an engine program is compiled with, per target platform
  and dtype: on the CPU, float32 products run in Eigen's kernels rather than YNNPACK's, which are
  slower at the sizes of a sweep on a few cores (``benchmarks/README.md``, "Engine against
  numpy-batched"). The option is given to each program's compilation, so float64 programs, and
  every other program of the process, keep XLA's defaults.

References: JAX documentation, "Persistent compilation cache".
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Hashable

import jax
import jax.numpy as jnp

#: compiled executables kept in this process (least recently used dropped first).
MAX_CACHED = 32
_EXECUTABLES: OrderedDict[Hashable, Any] = OrderedDict()
_ENABLED: list[str] = []
#: open ledgers of :func:`compile_ledger`; each collects the seconds of every fresh compilation.
_LEDGERS: list[list[float]] = []


@contextmanager
def compile_ledger():
    """Collect the compile time (seconds) of every engine program compiled inside the block.

    Programs served from the in-process cache add nothing; a program loaded from the persistent
    cache counts with its (short) load time.
    """
    seconds: list[float] = []
    _LEDGERS.append(seconds)
    try:
        yield seconds
    finally:
        _LEDGERS.remove(seconds)


def _compile(build: Callable[[], Any], *args: Any) -> Any:
    start = time.perf_counter()
    compiled = build().lower(*args).compile()
    for ledger in _LEDGERS:
        ledger.append(time.perf_counter() - start)
    return compiled


def default_cache_dir() -> Path:
    """``$IMPLICIT_BIAS_CACHE`` or ``~/.cache/implicit-bias/jax``."""
    env = os.environ.get("IMPLICIT_BIAS_CACHE")
    return Path(env) if env and env.lower() not in ("off", "0", "no", "false") else Path.home() / ".cache" / "implicit-bias" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None, min_compile_seconds: float = 0.5) -> Path:
    """Turn on JAX's persistent compilation cache at ``path`` (created if needed); idempotent.

    Programs that took at least ``min_compile_seconds`` to compile are written to disk.
    """
    where = Path(path) if path is not None else default_cache_dir()
    where.mkdir(parents=True, exist_ok=True)
    if _ENABLED and _ENABLED[-1] == str(where):
        return where
    jax.config.update("jax_compilation_cache_dir", str(where))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _ENABLED.append(str(where))
    return where


#: XLA options of float32 engine programs on the CPU: no YNNPACK fusions (Eigen's dot kernels instead).
CPU_FLOAT32_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


def target_platform() -> str:
    """The platform a program compiled now runs on: that of ``jax.default_device`` when one is set, else
    JAX's default backend ("cpu", "gpu", "tpu")."""
    dev = jax.config.jax_default_device
    if dev is None:
        return jax.default_backend()
    platform = dev if isinstance(dev, str) else dev.platform
    return "gpu" if platform in ("cuda", "rocm") else platform


def compiler_options(dtype: Any) -> dict[str, Any] | None:
    """XLA options for an engine program of ``dtype`` on :func:`target_platform` (None: XLA's defaults)."""
    if target_platform() == "cpu" and jnp.dtype(dtype) == jnp.float32:
        return dict(CPU_FLOAT32_OPTIONS)
    return None


def _signature(tree: Any) -> tuple:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return (treedef, tuple((tuple(x.shape), str(x.dtype)) for x in leaves))


def program_key(*parts: Any) -> Hashable | None:
    """A hashable key from the parts that determine a program, or None if one is unhashable."""
    try:
        hash(parts)
    except TypeError:
        return None
    return parts


def cached_compile(key: Hashable | None, build: Callable[[], Any], *args: Any) -> tuple[Any, bool]:
    """``build().lower(*args).compile()``, reused when ``key`` and the argument shapes were seen.

    Returns (executable, was_cached). A ``None`` key disables caching for this call.
    """
    if key is None:
        return _compile(build, *args), False
    full = (key, _signature(args), target_platform())
    try:
        seen = full in _EXECUTABLES
    except (TypeError, ValueError):  # a part whose equality is not a bool (arrays): no caching
        return _compile(build, *args), False
    if seen:
        _EXECUTABLES.move_to_end(full)
        return _EXECUTABLES[full], True
    compiled = _compile(build, *args)
    _EXECUTABLES[full] = compiled
    while len(_EXECUTABLES) > MAX_CACHED:
        _EXECUTABLES.popitem(last=False)
    return compiled, False


def clear_cache() -> None:
    """Forget every executable compiled in this process."""
    _EXECUTABLES.clear()
