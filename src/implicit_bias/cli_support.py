"""Helpers of the command line: progress bars, claim tables, atomic saves, errors, devices."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from implicit_bias import progress
from implicit_bias.encoding import to_jsonable
from implicit_bias.errors import InputError
from implicit_bias.store.atomic import atomic_open


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, then exit (2: bad input)."""
    message = " ".join(str(message).split())
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout, in the package's one encoding (:func:`implicit_bias.encoding.to_jsonable`:
    NaN becomes null, ±inf the strings "inf"/"-inf", as in claims.json)."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def parse_sets(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects key=value, got {item!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def parse_value(text: str, flag: str) -> Any:
    """A command-line value: an .npy file's array, true/false, comma-separated integers (a tuple), an
    integer, a number, or else the string itself."""
    low = text.lower()
    if text.endswith(".npy"):
        path = Path(text)
        if not path.exists():
            raise InputError(f"{flag}: file not found: {text}")
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise InputError(f"{flag}: cannot read {text} as .npy: {err}") from None
        if np.issubdtype(array.dtype, np.inexact) and not np.all(np.isfinite(array)):
            raise InputError(f"{flag}: {text} contains NaN or inf")
        return array
    if low in ("true", "false"):
        return low == "true"
    if "," in text:
        try:
            return tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            return text
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def parse_options(items: list[str], flag: str) -> dict[str, Any]:
    """``["beta=0.9", "precondition=P.npy"]`` -> {"beta": 0.9, "precondition": array} (see :func:`parse_value`)."""
    return {key: parse_value(text, f"{flag} {key}") for key, text in parse_sets(items).items()}


def load_data(path: Path):
    """A problem from an .npz: vectors (X, y) or a matrix problem (A, y or rows, cols, values)."""
    from implicit_bias.problems import load_problem

    path = Path(path)
    if path.exists() and path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                keys = set(f.files)
        except Exception:  # noqa: BLE001 - load_problem reports it properly
            keys = set()
        if "A" in keys or "rows" in keys:
            try:
                from implicit_bias.problems.matrix import load_matrix_problem
            except ImportError:
                raise InputError("matrix problems (A or rows/cols/values) are not supported by this installation") from None
            with np.load(path, allow_pickle=False) as f:
                return load_matrix_problem({k: np.asarray(f[k]) for k in f.files})
    return load_problem(path)


def save_npz_atomic(path: Path, arrays: dict[str, Any]) -> None:
    """Write an .npz through :func:`implicit_bias.store.atomic.atomic_open`: never half-written."""
    with atomic_open(path) as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})


def use_compilation_cache() -> None:
    """Turn on JAX's persistent compilation cache for every program (``$IMPLICIT_BIAS_CACHE``, default
    ``~/.cache/implicit-bias/jax``; ``IMPLICIT_BIAS_CACHE=off`` leaves it off)."""
    from implicit_bias.compilation import enable_compilation_cache

    if os.environ.get("IMPLICIT_BIAS_CACHE", "").lower() in ("off", "0", "no", "false"):
        return
    try:
        enable_compilation_cache(min_compile_seconds=0.1)
    except OSError as err:
        sys.stderr.write(f"warning: compilation cache disabled ({err})\n")


def select_device(device: str) -> None:
    """Pin JAX to the CPU, or check that a GPU is visible; use the persistent compilation cache."""
    import jax

    if device not in ("cpu", "gpu"):
        raise InputError(f"--device must be cpu or gpu, got {device!r}")
    use_compilation_cache()
    if device == "cpu":
        jax.config.update("jax_platforms", "cpu")
        return
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if not gpus:
        raise InputError("--device gpu: JAX sees no GPU (install the CUDA build: pip install 'jax[cuda12]'; "
                         "see benchmarks/README.md)")


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    if x == 0 or (1e-3 <= abs(x) < 1e5):
        return f"{x:.4g}"
    return f"{x:.3e}"


def run_entry(entry: Any, config: Any) -> Any:
    """Run a catalog entry; the result carries its wall time and the compile time of each engine program.

    If an ODE solve of the run stopped before its horizon, a failed guard claim says so: an entry whose own
    solve failed never reads "all claims hold"."""
    from implicit_bias.compilation import compile_ledger
    from implicit_bias.engine import solve_ledger
    from implicit_bias.results import is_true

    with compile_ledger() as compiles, solve_ledger() as solves:
        start = time.perf_counter()
        result = entry.run(config)
        result.wall_time = time.perf_counter() - start
    result.compile_seconds = list(compiles)
    failed = [(what, m, bad) for what, m, bad in solves if bad]
    if failed:
        where = "; ".join(f"{what}: {bad} of {m}" for what, m, bad in failed)
        result.claims.append(is_true("engine: every ODE solve reached its horizon", False,
                                     note=f"solver stopped early ({where})", kind="guard"))
    return result


def claims_table(result: Any, out: Path | None = None) -> None:
    """Print the claims of a result as a table (rich when available)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 130)
    c = result.compile_summary()
    table = Table(title=f"{result.experiment}  ({result.wall_time:.1f} s, of which compiling "
                        f"{c['total']:.1f} s in {c['programs']} program(s))", show_lines=False)
    for col in ("claim", "kind", "measured", "", "expected", "tolerance", "verdict"):
        table.add_column(col, justify="left" if col in ("claim", "kind", "") else "right")
    style = {"holds": "[green]holds[/green]", "FAILS": "[bold red]FAILS[/bold red]",
             "not established": "[yellow]not established[/yellow]"}
    for c in result.claims:
        table.add_row(c.name, c.kind, _fmt(c.measured), c.relation, _fmt(c.expected), _fmt(c.tolerance),
                      style[result.status(c)])
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(result.verdict() + (f"; results in {out}" if out else ""))


class ProgressBar:
    """A rich progress bar on stderr fed by the engine's ticks (see :mod:`implicit_bias.progress`)."""

    def __init__(self, enabled: bool = True, overall: int | None = None) -> None:
        self.enabled = enabled
        self.overall = overall
        self._progress = None
        self._task = None
        self._overall_task = None
        self._scope = None

    def __enter__(self) -> "ProgressBar":
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                  TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._progress.start()
        if self.overall:
            self._overall_task = self._progress.add_task("catalog", total=self.overall)
        self._scope = progress.reporting(self)
        self._scope.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._scope is not None:
            self._scope.__exit__(*exc)
        if self._progress is not None:
            self._progress.stop()

    # Reporter protocol (called by the engine)
    def start(self, description: str, total: float) -> None:
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(f"  {description}", total=max(total, 1e-300))

    def update(self, completed: float) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.update(self._task, completed=completed)

    def stop(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None

    # catalog-level updates
    def entry(self, name: str) -> None:
        if self._progress is not None and self._overall_task is not None:
            self._progress.update(self._overall_task, description=f"catalog: {name}")

    def done(self, name: str, result: Any) -> None:
        if self._progress is None:
            return
        verdict = result.verdict() + ("" if result.all_hold else f"; {result.n_failed} claim(s) FAIL")
        c = result.compile_summary()
        self._progress.console.print(f"{name}: {verdict} ({result.wall_time:.1f} s; {c['programs']} program(s) "
                                     f"compiled, longest {c['longest']:.1f} s)")
        if self._overall_task is not None:
            self._progress.advance(self._overall_task)
