"""The run directory: what one experiment run leaves on disk, and how to read it back.

Layout (a public interface; the report, ``implicit-bias runs`` and scripts read it)::

    RUN/config.json        experiment, config, entry {name, summary, description, paper},
                           wall_time, created, versions, machine, notes, figures, fingerprint
    RUN/claims.json        [Claim.to_dict(), ...]
    RUN/metrics.parquet    long format: series, config, step, metric, value, <extra columns>
    RUN/figures/NAME.png   150 dpi, and NAME.pdf beside it

Every file is written atomically; ``config.json`` is written last, so a directory whose
``config.json`` matches its contents is complete. The fingerprint
``sha256(experiment + canonical config)`` tells a re-run (same fingerprint: overwritten)
from a different run (refused unless ``force``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from implicit_bias.encoding import to_jsonable
from implicit_bias.errors import InputError
from implicit_bias.results import Claim, Result
from implicit_bias.store.atomic import write_json_atomic, write_parquet_atomic
from implicit_bias.store.figures import copy_figure, save_figure
from implicit_bias.store.serialize import fingerprint, machine, utc_now, versions

CONFIG, CLAIMS, METRICS, FIGURES = "config.json", "claims.json", "metrics.parquet", "figures"


def figure_stem(name: str) -> str:
    """A file-name-safe stem for a figure name (letters, digits, ``._-``; others become ``_``)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "figure"
    return stem


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path.parent} is not a run directory (no {path.name})") from None
    except (OSError, ValueError) as err:
        raise InputError(f"{path} is unreadable: {err}") from None


def _stored_fingerprint(out_dir: Path) -> str | None:
    """The fingerprint recorded in ``out_dir/config.json``; None when it is unreadable or has none."""
    try:
        old = json.loads((out_dir / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return old.get("fingerprint") if isinstance(old, dict) else None


def check_run_dir(out_dir: str | Path, experiment: str, config: Any, force: bool = False) -> bool:
    """Refuse to overwrite anything but a re-run of ``experiment`` with ``config``.

    The one test of "is this a different run" (the command line asks it before any work,
    :func:`write_run` again before writing): same fingerprint, a re-run. Returns True when
    ``out_dir`` holds a run (a re-run, or with ``force`` a different one) that the new run replaces.

    Raises:
      InputError: ``out_dir`` is not a directory; or, unless ``force``, it is a non-empty directory
        without a config.json, or holds a run with a different (or unreadable) fingerprint.
    """
    out_dir = Path(out_dir)
    if not out_dir.exists():
        return False
    if not out_dir.is_dir():
        raise InputError(f"{out_dir} exists and is not a directory")
    cfg = out_dir / CONFIG
    if not cfg.exists():
        if not force and any(out_dir.iterdir()):
            raise InputError(f"{out_dir} exists and is not a run directory; use --force or another --out")
        return False
    if not force and _stored_fingerprint(out_dir) != fingerprint(experiment, config):
        try:
            old = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputError(f"{cfg} is unreadable; use --force to overwrite") from None
        held = old.get("experiment") if isinstance(old, dict) else None
        raise InputError(f"{out_dir} holds a different run ({held}); use --force to overwrite")
    return True


def _write_figures(figures: dict[str, Any], fig_dir: Path) -> list[Path]:
    written: list[Path] = []
    for name, fig in figures.items():
        base = fig_dir / figure_stem(name)
        if isinstance(fig, (str, Path)):
            written += copy_figure(Path(fig), base)
        elif hasattr(fig, "savefig"):
            written += save_figure(fig, base)
            _close(fig)
        else:
            raise TypeError(f"figure {name!r} is a {type(fig).__name__}, not a matplotlib Figure or a path")
    return written


def _close(fig: Any) -> None:
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)  # releases figures made through pyplot; a no-op for bare Figures


def _remove_stale(out_dir: Path, keep: Iterable[Path], has_metrics: bool) -> None:
    """Drop artifacts of an older run that this one does not rewrite (old figures, metrics, page)."""
    keep = {p.resolve() for p in keep}
    fig_dir = out_dir / FIGURES
    if fig_dir.is_dir():
        for path in fig_dir.iterdir():
            if path.suffix in (".png", ".pdf") and path.is_file() and path.resolve() not in keep:
                path.unlink()
    if not has_metrics:
        (out_dir / METRICS).unlink(missing_ok=True)
    (out_dir / "index.html").unlink(missing_ok=True)


def write_run(result: Result, out_dir: str | Path, *, entry: dict | None = None,
              force: bool = False) -> list[Path]:
    """Write ``result`` to the run directory ``out_dir``; returns the artifact paths.

    Order of the returned paths: config.json, claims.json, metrics.parquet (when there
    are metrics), then each figure's PNG and PDF. Figures given as matplotlib Figures
    are saved with :func:`implicit_bias.store.figures.save_figure` and closed; figures given
    as paths (a re-rendered run) are copied unless already in place.

    Raises:
      InputError: ``out_dir`` holds a run with a different fingerprint, or is a
        non-empty directory that is not a run, and ``force`` is False.
    """
    out_dir = Path(out_dir)
    config = to_jsonable(result.config)
    fp = fingerprint(result.experiment, config)
    replacing = check_run_dir(out_dir, result.experiment, config, force)
    if replacing and _stored_fingerprint(out_dir) != fp:
        (out_dir / CONFIG).unlink()  # the directory is not a (consistent) run until the new config.json lands
    out_dir.mkdir(parents=True, exist_ok=True)

    figure_paths = _write_figures(dict(result.figures or {}), out_dir / FIGURES)
    metrics_path = None
    if result.metrics is not None and len(getattr(result.metrics, "columns", [])) > 0:
        metrics_path = write_parquet_atomic(out_dir / METRICS, result.metrics)
    if replacing:
        _remove_stale(out_dir, figure_paths, metrics_path is not None)
    claims_path = write_json_atomic(out_dir / CLAIMS, [c.to_dict() for c in result.claims])
    meta = {"name": result.experiment, "summary": "", "description": "", "paper": ""}
    meta.update(entry or {})
    record = {
        "experiment": result.experiment,
        "config": config,
        "entry": meta,
        "wall_time": float(result.wall_time or 0.0),
        "compile_seconds": result.compile_summary(),
        "created": utc_now(),
        "versions": versions(),
        "machine": machine(),
        "notes": [str(n) for n in (result.notes or [])],
        "figures": [p.relative_to(out_dir).as_posix() for p in figure_paths],
        "fingerprint": fp,
    }
    config_path = write_json_atomic(out_dir / CONFIG, record)
    return [config_path, claims_path] + ([metrics_path] if metrics_path else []) + figure_paths


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The raw ``config.json`` of a run directory (InputError when missing or unreadable)."""
    data = _read_json(Path(run_dir) / CONFIG)
    if not isinstance(data, dict) or "experiment" not in data:
        raise InputError(f"{Path(run_dir) / CONFIG} is not a run record (no 'experiment')")
    return data


def read_claims(run_dir: str | Path) -> list[Claim]:
    """The claims of a run directory."""
    data = _read_json(Path(run_dir) / CLAIMS)
    try:
        return [Claim.from_dict(d) for d in data]
    except (TypeError, KeyError, ValueError) as err:
        raise InputError(f"{Path(run_dir) / CLAIMS} is malformed: {err}") from None


def read_run(run_dir: str | Path) -> Result:
    """Read a run directory back into a :class:`Result`.

    ``figures`` maps each figure name to the Path of its PNG; ``metrics`` is a DataFrame,
    or None when the run recorded none.
    """
    run_dir = Path(run_dir)
    record = read_config(run_dir)
    claims = read_claims(run_dir)
    metrics = None
    if (run_dir / METRICS).exists():
        import pyarrow.parquet as pq

        metrics = pq.read_table(run_dir / METRICS).to_pandas()
    figures: dict[str, Path] = {}
    for rel in record.get("figures", []):
        path = run_dir / rel
        if path.suffix == ".png" and path.exists():
            figures[path.stem] = path
    return Result(record["experiment"], record.get("config", {}), claims, metrics, figures,
                  wall_time=float(record.get("wall_time") or 0.0), notes=list(record.get("notes", [])))


def read_entry_meta(run_dir: str | Path) -> dict[str, str]:
    """The catalog entry's metadata stored with a run: name, summary, description, paper."""
    record = read_config(run_dir)
    meta = {"name": record["experiment"], "summary": "", "description": "", "paper": ""}
    meta.update({k: str(v) for k, v in (record.get("entry") or {}).items() if v is not None})
    return meta


def find_runs(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Every directory under ``paths`` (recursively, the paths themselves included) holding
    a config.json and a claims.json, sorted and without duplicates."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: dict[Path, Path] = {}
    for root in map(Path, paths):
        if not root.exists():
            raise InputError(f"no such directory: {root}")
        candidates = [root / CONFIG] if root.is_dir() else []
        candidates += sorted(root.rglob(CONFIG)) if root.is_dir() else []
        for cfg in candidates:
            run = cfg.parent
            if cfg.is_file() and (run / CLAIMS).is_file():
                found.setdefault(run.resolve(), run)
    return sorted(found.values(), key=lambda p: str(p))
