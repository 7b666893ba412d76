"""Progress reporting between the calls of a compiled program, without I/O in the math.

The engine runs a sweep as calls of one compiled program (chunks of configurations, and
ranges of recording segments when someone listens) and calls :func:`tick` on the host
between them with the work completed so far (steps or time, summed over chunks). No
program contains a host callback, so every program can be served from JAX's persistent
compilation cache. Whoever wants a progress bar (the command line) installs a reporter
with :func:`reporting`; without one, ticks are ignored.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Iterator, Protocol


class Reporter(Protocol):
    def start(self, description: str, total: float) -> None: ...
    def update(self, completed: float) -> None: ...
    def stop(self) -> None: ...


_REPORTER: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("reporter", default=None)
_CURRENT: list[Reporter] = []


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Send progress of every training run in this block to ``reporter``."""
    token = _REPORTER.set(reporter)
    _CURRENT.append(reporter)
    try:
        yield reporter
    finally:
        _CURRENT.remove(reporter)
        _REPORTER.reset(token)


def _active() -> Reporter | None:
    # jax callbacks may run on another thread, where the context variable is unset.
    return _REPORTER.get() or (_CURRENT[-1] if _CURRENT else None)


def listening() -> bool:
    """True when a reporter is installed (the engine then splits its runs into several calls)."""
    return _active() is not None


def start(description: str, total: float) -> None:
    r = _active()
    if r is not None:
        r.start(description, total)


def tick(completed) -> None:
    """The run has completed ``completed`` units of work (steps or time, summed over chunks)."""
    r = _active()
    if r is not None:
        r.update(float(completed))


def stop() -> None:
    r = _active()
    if r is not None:
        r.stop()

