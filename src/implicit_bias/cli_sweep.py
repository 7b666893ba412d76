"""The ``sweep`` and ``plot`` commands: a grid over any declared hyper-parameter, kept in a run directory.

    implicit-bias sweep --data d.npz --model diagonal --steps 2000 \\
        --grid init_scale='logspace(-4,0,64)' --grid step_size=0.01 --grid seed=0..3 \\
        --reference q-alpha --out runs/diag [--chunk-size 64] [--ray local:4] [--resume] [--force] [--json]
    implicit-bias sweep spec.toml --out runs/diag          # the same from a file; flags override it
    implicit-bias plot runs/diag --x init_scale --y dist_to_reference [--hue depth] [--out fig.png]

Exit codes: 0 the sweep completed (diverged configurations are flagged in final.parquet and counted on
stderr), 2 bad input (one line on stderr, nothing written).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

import typer

from implicit_bias.errors import InputError


class SweepBar:
    """A rich progress bar on stderr counting finished configurations (chunks report as they land); it
    appears at the first report, so an input error before any work prints only its one line."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total
        self._progress = None
        self._task = None

    def __enter__(self) -> "SweepBar":
        return self

    def _start(self) -> None:
        if self.enabled and self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=Console(stderr=True))
            self._progress.start()
            self._task = self._progress.add_task("sweep: configurations", total=self.total)

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, n: int) -> None:
        self._start()
        if self._progress is not None:
            self._progress.advance(self._task, n)


def _split_component_options(given: dict[str, Any], model: str, optimizer: str) -> tuple[dict, dict]:
    """Options given as ``--NAME VALUE`` / ``--opt NAME=VALUE``, sent to the model's factory or the optimizer."""
    from implicit_bias.cli_components import factory_options, optimizer_options
    from implicit_bias.models import model_factory
    from implicit_bias.optim import OPTIMIZERS

    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{optimizer}'; valid: {', '.join(OPTIMIZERS)}")
    model_opts, opt_opts = set(factory_options(model_factory(model))), set(optimizer_options(OPTIMIZERS[optimizer]))
    unknown = sorted(set(given) - model_opts - opt_opts)
    if unknown:
        raise InputError(f"{', '.join('--' + u.replace('_', '-') for u in unknown)}: not an option of model '{model}' "
                         f"or optimizer '{optimizer}' (sweep a hyper-parameter with --grid NAME=VALUES)")
    return ({k: v for k, v in given.items() if k in model_opts},
            {k: v for k, v in given.items() if k in opt_opts and k not in model_opts})


def _grid_items(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not value.strip():
            raise InputError(f"--grid expects name=values, got {item!r}")
        if key in out:
            raise InputError(f"--grid {key} given twice")
        out[key] = value.strip()
    return out


def sweep(ctx: typer.Context,
          spec_file: Optional[Path] = typer.Argument(None, help="a TOML sweep spec, given first (flags override it)"),
          data: Optional[Path] = typer.Option(None, "--data", help=".npz with X (n, d), y (n,)"),
          problem: Optional[str] = typer.Option(None, "--problem", help="a generated problem instead of --data, "
                                                "e.g. sparse-regression (options: --problem-opt key=value)"),
          problem_opt: list[str] = typer.Option([], "--problem-opt", help="an option of --problem, key=value (repeatable)"),
          model: Optional[str] = typer.Option(None, "--model", help="a registered model or FILE.py:factory"),
          optimizer: Optional[str] = typer.Option(None, "--optimizer", help="gd (default), sgd, momentum, adam, flow, ..."),
          loss: Optional[str] = typer.Option(None, "--loss", help="square (default), exp or logistic"),
          steps: Optional[int] = typer.Option(None, "--steps", help="number of steps (step methods)"),
          time_horizon: Optional[float] = typer.Option(None, "--time", help="final time T (--optimizer flow)"),
          grid: list[str] = typer.Option([], "--grid", help="an axis name=values (repeatable): 0.01,0.1 · 0..7 · "
                                         "logspace(-4,0,64) · linspace(a,b,n)"),
          zip_: list[str] = typer.Option([], "--zip", help="axes paired element by element, a,b (repeatable)"),
          reference: list[str] = typer.Option([], "--reference", help="a reference to measure distances to "
                                              "(repeatable): q-alpha, min-l1, min-l2, max-margin, ..."),
          chunk_size: Optional[int] = typer.Option(None, "--chunk-size", help="configurations per compiled call "
                                                   "(default min(M, 256))"),
          n_records: Optional[int] = typer.Option(None, "--n-records", help="log-spaced record points (default 32)"),
          dtype: Optional[str] = typer.Option(None, "--dtype", help="float64 (default) or float32"),
          opt_items: list[str] = typer.Option([], "--opt", help="a model or optimizer option key=value (repeatable), "
                                              "the same as --KEY VALUE"),
          out: Optional[Path] = typer.Option(None, "--out", help="the run directory"),
          ray: Optional[str] = typer.Option(None, "--ray", help="run chunks as Ray tasks: ADDRESS, auto or local:N"),
          resume: bool = typer.Option(False, "--resume", help="run only the chunks not yet finished in --out"),
          force: bool = typer.Option(False, "--force", help="overwrite a directory holding a different run"),
          as_json: bool = typer.Option(False, "--json", help="stdout holds only one JSON object")) -> None:
    """Sweep any declared hyper-parameter of the model and optimizer; write final.parquet, metrics, a figure."""
    from implicit_bias.cli_components import boolean_names, factory_options, optimizer_options, parse_extra_args
    from implicit_bias.cli_support import emit_json, parse_options, use_compilation_cache
    from implicit_bias.sweep import SweepSpec, load_spec_file, resolve, run_sweep

    extra = list(ctx.args)
    if spec_file is not None and str(spec_file).startswith("--"):  # an option of a component, not a file
        extra, spec_file = [str(spec_file), *extra], None
    spec, settings = load_spec_file(spec_file) if spec_file is not None else (SweepSpec(), {})
    name_model = model or spec.model
    name_opt = optimizer or spec.optimizer
    given: dict[str, Any] = {}
    if extra or opt_items:
        if not name_model:
            raise InputError("a sweep needs a model (--model NAME)")
        from implicit_bias.models import model_factory
        from implicit_bias.optim import OPTIMIZERS

        flags = boolean_names(factory_options(model_factory(name_model)),
                              optimizer_options(OPTIMIZERS[name_opt]) if name_opt in OPTIMIZERS else {})
        given = parse_extra_args(extra, flags)
        for key, value in parse_options(opt_items, "--opt").items():
            if key in given:
                raise InputError(f"given twice: {key} (as --{key.replace('_', '-')} and as --opt)")
            given[key] = value
    model_kw, opt_kw = _split_component_options(given, name_model, name_opt) if given else ({}, {})
    spec = spec.merged({"data": str(data) if data is not None else None, "problem": problem,
                        "problem_options": parse_options(problem_opt, "--problem-opt"), "model": model,
                        "optimizer": optimizer, "loss": loss, "steps": steps, "time": time_horizon,
                        "grid": _grid_items(grid), "zip": [tuple(z.strip() for z in item.split(",")) for item in zip_],
                        "references": list(reference), "chunk_size": chunk_size, "n_records": n_records,
                        "dtype": dtype, "model_options": model_kw, "optimizer_options": opt_kw})
    if (data is None) != (problem is None):  # a data source on the command line replaces the file's
        spec = dataclasses.replace(spec, **({"problem": None} if data is not None else {"data": None}))
    out = out if out is not None else (Path(settings["out"]) if settings.get("out") else None)
    if out is None:
        raise InputError("a sweep needs a run directory: --out DIR (or out = \"DIR\" in the spec file)")
    ray = ray if ray is not None else settings.get("ray")
    if ray is not None:
        from implicit_bias.sweep.ray_backend import import_ray, parse_address

        import_ray()
        parse_address(ray)
    use_compilation_cache()
    resolved = resolve(spec)
    with SweepBar(enabled=not as_json, total=resolved.n_configs) as bar:
        summary = run_sweep(resolved, out, resume=resume, force=force, ray=ray,
                            on_start=bar.advance, on_chunk=lambda o: bar.advance(o.chunk.n_configs))
    if as_json:
        emit_json(summary)
    else:
        typer.echo(f"{summary['n_configs']} configurations in {summary['n_chunks']} chunk(s) of {summary['chunk_size']}: "
                   f"{len(summary['computed'])} computed, {len(summary['skipped'])} kept from before "
                   f"({summary['wall_time']:.1f} s, {summary['backend']})")
        for ref in summary["references"]:
            typer.echo(f"reference {ref['name']}: {ref['distinct']} distinct solution(s), status "
                       f"{', '.join(ref['statuses'])}; column {ref['column']}")
        typer.echo(f"results in {out} (final.parquet, metrics.parquet/, figures/)")
    for key, what in (("n_diverged", "diverged (non-finite loss)"), ("n_solver_failed", "had an ODE solve stop early")):
        if summary[key]:
            typer.echo(f"warning: {summary[key]} of {summary['n_configs']} configurations {what}", err=True)


def plot(run: Path = typer.Argument(..., help="a sweep directory (or its final.parquet)"),
         x: str = typer.Option(..., "--x", help="a column for the horizontal axis, e.g. init_scale"),
         y: str = typer.Option("dist_to_reference", "--y", help="a column for the vertical axis"),
         hue: Optional[str] = typer.Option(None, "--hue", help="one line per value of this column"),
         out: Optional[Path] = typer.Option(None, "--out", help="figure file (FILE.png and FILE.pdf are written; "
                                            "default RUN/figures/Y_vs_X)")) -> None:
    """Plot a sweep's final table: y against x, averaged over the other columns, one line per --hue value."""
    from implicit_bias.store.figures import save_figure
    from implicit_bias.sweep.figure import line_plot
    from implicit_bias.sweep.store import FIGURES, read_final

    table = read_final(run)
    fig = line_plot(table, x, y, hue)
    if out is not None:
        if not out.parent.exists() and str(out.parent) not in ("", "."):
            raise InputError(f"--out: directory does not exist: {out.parent}")
        base = out.with_suffix("") if out.suffix.lower() in (".png", ".pdf") else out
    else:
        where = run if run.is_dir() else run.parent
        base = where / FIGURES / (f"{y}_vs_{x}" + (f"_by_{hue}" if hue else ""))
    for path in save_figure(fig, base):
        typer.echo(str(path))
