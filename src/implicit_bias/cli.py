"""The command line: list · run · train · reference · reproduce · report · runs · bench.

Exit codes (a public contract): 0 every claim holds, 1 some claim fails, 2 bad input
(one line on stderr, no traceback, no output file left behind).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional


import typer

from implicit_bias.cli_support import (
    ProgressBar,
    claims_table,
    emit_json,
    fail,
    load_data,
    parse_options,
    parse_sets,
    run_entry,
    save_npz_atomic,
    select_device,
    use_compilation_cache,
)
from implicit_bias.errors import InputError, ReferenceFailure

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="implicit-bias: which solution does gradient descent find? Every claim checked against an exact reference.")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="print the catalog as JSON")) -> None:
    """Print the catalog: one line per experiment."""
    from implicit_bias.experiments import catalog

    entries = catalog()
    if as_json:
        emit_json({name: e.meta() for name, e in entries.items()})
        return
    width = max(len(n) for n in entries) if entries else 0
    for name, entry in entries.items():
        typer.echo(f"{name.ljust(width)}  {entry.summary}")


@app.command("run")
def run(name: str = typer.Argument(..., help="catalog name (see `implicit-bias list`)"),
        set_: list[str] = typer.Option([], "--set", help="override a setting: key=value (repeatable)"),
        out: Optional[Path] = typer.Option(None, "--out", help="run directory (default runs/NAME)"),
        as_json: bool = typer.Option(False, "--json", help="stdout holds only one JSON object"),
        quick: bool = typer.Option(False, "--quick", help="the quick configuration"),
        force: bool = typer.Option(False, "--force", help="overwrite a directory holding a different run"),
        device: str = typer.Option("cpu", "--device", help="cpu or gpu")) -> None:
    """Run one catalog experiment, print its claims and write figures and results to DIR."""
    from implicit_bias.experiments import get_entry
    from implicit_bias.store import check_run_dir, write_run

    select_device(device)
    entry = get_entry(name)
    config = entry.config(quick=quick, overrides=parse_sets(set_))
    out = out or Path("runs") / name
    check_run_dir(out, entry.name, config, force)  # refuse early, before any work
    with ProgressBar(enabled=True):
        result = run_entry(entry, config)
    artifacts = write_run(result, out, entry=entry.meta(), force=force)
    if as_json:
        emit_json({"experiment": result.experiment, "config": result.config,
                   "claims": [c.to_dict() for c in result.claims],
                   "artifacts": [str(p) for p in artifacts], "wall_time": result.wall_time,
                   "compile_seconds": result.compile_summary(),
                   "notes": result.notes})
    else:
        claims_table(result, out)
    raise typer.Exit(0 if result.all_hold else 1)


@app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             epilog="Every option of the chosen model and optimizer is an option here too (--NAME VALUE; "
                    "a swept hyper-parameter the constructor does not take is applied to the one configuration): "
                    "`implicit-bias describe MODEL` and `implicit-bias describe OPTIMIZER` list them.")
def train_cmd(
        ctx: typer.Context,
        data: Path = typer.Option(..., "--data", help=".npz with X (n, d), y (n,) [X_test, y_test]"),
        model: str = typer.Option("linear", "--model", help="a registered model (linear, diagonal, factorized, "
                                  "neuron, mlp, ...) or your own: FILE.py:factory or package.module:factory"),
        loss: str = typer.Option("square", "--loss", help="square, exp or logistic"),
        optimizer: str = typer.Option("gd", "--optimizer", help="gd, sgd, momentum, nesterov, adam, normalized-gd, "
                                      "flow, ... (implicit-bias describe NAME)"),
        step_size: Optional[float] = typer.Option(None, "--step-size", help="step size h"),
        steps: Optional[int] = typer.Option(None, "--steps", help="number of steps"),
        time_horizon: Optional[float] = typer.Option(None, "--time", help="final time T (--optimizer flow)"),
        modified_loss: Optional[str] = typer.Option(None, "--modified-loss",
                                                    help="flow on a modified loss: igr or sgd (needs --step-size)"),
        opt_items: list[str] = typer.Option([], "--opt", help="an option key=value (repeatable), the same as --KEY VALUE"),
        seed: int = typer.Option(0, "--seed"),
        dtype: str = typer.Option("float64", "--dtype", help="float64 or float32"),
        save: Path = typer.Option(..., "--save", help="output .npz (w, steps, loss, ...)"),
        as_json: bool = typer.Option(False, "--json", help="print a JSON summary")) -> None:
    """Train a model on your own data and save the end-to-end predictor and the loss history."""
    import numpy as np

    from implicit_bias import losses as L
    from implicit_bias.cli_components import boolean_names, factory_options, optimizer_options, parse_extra_args
    from implicit_bias.cli_components import problem_options, split_options
    from implicit_bias.engine import declared_hparams, train
    from implicit_bias.models import model_factory
    from implicit_bias.optim import OPTIMIZERS, Flow, make_optimizer
    from implicit_bias.problems import validate_labels

    use_compilation_cache()
    factory = model_factory(model)
    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{optimizer}'; valid: {', '.join(OPTIMIZERS)}")
    opt_cls = Flow if modified_loss is not None else OPTIMIZERS[optimizer]
    model_defaults, opt_defaults = factory_options(factory), optimizer_options(opt_cls)
    given = parse_extra_args(ctx.args, boolean_names(model_defaults, opt_defaults))
    for key, value in parse_options(opt_items, "--opt").items():
        if key in given:
            raise InputError(f"given twice: {key} (as --{key.replace('_', '-')} and as --opt)")
        given[key] = value
    batch_for_modified = given.pop("batch_size", None) if modified_loss is not None else None
    problem = load_data(data)
    loss_fn = L.get_loss(loss)
    if loss_fn.is_classification:
        validate_labels(problem.y)
    owner = f"model '{model}' or optimizer '{optimizer}'"
    # a swept hyper-parameter is known only once the components exist: split, build, then check the rest
    model_kw, opt_kw, rest = split_options(given, model_options=model_defaults, optimizer_options=opt_defaults,
                                           declared={k: None for k in given}, owner=owner)
    batch_size = opt_kw.get("batch_size", batch_for_modified)
    if batch_size is not None and not (isinstance(batch_size, int) and 1 <= batch_size <= problem.n_samples):
        raise InputError(f"--batch-size must be between 1 and the number of samples {problem.n_samples}, "
                         f"got {batch_size}")
    if model == "neuron" and loss == "square":
        from implicit_bias.models.activations import check_targets

        check_targets(problem.y, model_kw.get("activation") or "identity")
    # options the data file carries (matrix shape and kind, group ids); a command-line option wins
    model_kw.update({k: v for k, v in problem_options(model_defaults, problem).items() if k not in model_kw})
    net = factory(problem.n_features, **model_kw)
    if step_size is not None and step_size <= 0:
        raise InputError(f"--step-size must be positive, got {step_size}")
    if optimizer == "flow" or modified_loss is not None:
        if optimizer != "flow":
            raise InputError(f"--modified-loss describes gradient flow (--optimizer flow), not {optimizer}")
        if time_horizon is None:
            raise InputError("--optimizer flow needs --time T")
        if modified_loss is not None:
            from implicit_bias.optim.modified import make_modified_flow

            if step_size is None:
                raise InputError("--modified-loss needs the step size it describes: --step-size H")
            n_batches = problem.n_samples // batch_size if batch_size else None
            opt = make_modified_flow(modified_loss, step_size=step_size, n_batches=n_batches, **opt_kw)
        else:
            opt = make_optimizer("flow", **opt_kw)
    else:
        if time_horizon is not None:
            raise InputError("--time applies to --optimizer flow; use --steps for step methods")
        opt = make_optimizer(optimizer, **opt_kw)
    declared = declared_hparams(net, opt)
    split_options(rest, model_options=(), optimizer_options=(), owner=owner,
                  declared={k: h for k, h in declared.items() if k not in ("seed", "step_size")})
    if opt.kind == "steps" and (steps is None or step_size is None):
        raise InputError(f"--optimizer {optimizer} needs --steps N and --step-size H")
    _check_save_path(save)
    with ProgressBar(enabled=not as_json):
        out = train(net, loss_fn, opt, problem, steps=steps, time_horizon=time_horizon, step_size=step_size,
                    hparams={"seed": seed, **rest}, dtype=dtype, description=f"{model}/{optimizer}")
    e2e = np.asarray(out.end_to_end[0])
    arrays = {"w" if e2e.ndim == 1 else "W": e2e, "steps": np.asarray(out.steps), "loss": out.records["loss"][0],
              "log_loss": out.records["log_loss"][0], "final_loss": np.asarray(out.final_loss[0]),
              "diverged": np.asarray(out.diverged[0]), "converged": np.asarray(out.converged[0])}
    arrays.update(_param_arrays(out.params))
    if problem.has_test:
        import jax

        params0 = jax.tree_util.tree_map(lambda x: x[0], out.params)
        arrays["predictions_test"] = np.asarray(net.predict(params0, np.asarray(problem.X_test)))
    save_npz_atomic(save, arrays)
    summary = {"final_loss": float(out.final_loss[0]), "steps": int(steps) if steps else None,
               "time": time_horizon, "converged": bool(out.converged[0]), "diverged": bool(out.diverged[0]),
               "norm_w": float(np.linalg.norm(e2e)), "solver_ok": bool(out.solver_ok[0]),
               "solver_steps": int(out.solver_steps[0]), **_init_summary(net, seed), "saved": str(save)}
    if as_json:
        emit_json(summary)
    else:
        for k, v in summary.items():
            typer.echo(f"{k:>13}: {v}")
    if not summary["solver_ok"]:
        from implicit_bias.diagnostics import flow_failure
        from implicit_bias.optim.flow import IMPLICIT

        why = flow_failure(solver=opt.solver, solver_steps=summary["solver_steps"], max_steps=opt.max_steps,
                           loss_start=float(out.records["loss"][0][0]), loss_end=summary["final_loss"],
                           explicit=opt.solver not in IMPLICIT)
        typer.echo(f"warning: {why}", err=True)
        raise typer.Exit(1)
    if summary["diverged"]:
        typer.echo("warning: the run diverged (non-finite loss); the last finite iterate was saved", err=True)
        raise typer.Exit(1)
    if not summary["converged"]:
        typer.echo("note: the run did not converge (loss not below 1e-10 of its start, or a point misclassified); "
                   "see --steps/--time", err=True)


def _init_summary(net, seed: int) -> dict:
    """The end-to-end initial scale in the model's own convention, so users can compare conventions."""
    from implicit_bias.keys import seed_keys

    return net.init_summary(seed_keys(int(seed))[0])


def _param_arrays(params) -> dict:
    import jax
    import numpy as np

    leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    out = {}
    for path, leaf in leaves:
        key = "param" + "".join(f"_{getattr(p, 'key', getattr(p, 'idx', getattr(p, 'name', p)))}" for p in path)
        out[key] = np.asarray(leaf)[0]
    return out


def _check_save_path(save: Path) -> None:
    if save.suffix != ".npz":
        raise InputError(f"--save must name an .npz file, got {save}")
    if not save.parent.exists() and str(save.parent) not in ("", "."):
        raise InputError(f"--save: directory does not exist: {save.parent}")


@app.command("reference", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             epilog="Every option of the chosen reference is an option here (--NAME VALUE; a value ending in .npy "
                    "is read as an array): `implicit-bias describe NAME` lists them.")
def reference(ctx: typer.Context,
              name: str = typer.Argument(..., help="min-l2, max-margin, min-l1, q-alpha, group-lasso, nuclear-norm, ..."),
              data: Path = typer.Option(..., "--data"),
              opt_items: list[str] = typer.Option([], "--opt", help="an option key=value (repeatable), the same as "
                                                  "--KEY VALUE"),
              save: Path = typer.Option(..., "--save"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Compute an explicit reference solution (pseudo-inverse, QP, LP, convex program)."""
    from implicit_bias.cli_components import parse_extra_args, split_options
    from implicit_bias.references import get_reference

    spec = get_reference(name)
    given = parse_extra_args(ctx.args)
    for key, value in parse_options(opt_items, "--opt").items():
        if key in given:
            raise InputError(f"given twice: {key} (as a flag and as --opt)")
        given[key] = value
    split_options(given, model_options=spec.options, optimizer_options=(), declared={},
                  owner=f"reference '{name}'")
    problem = load_data(data)
    if "groups" in spec.options and "groups" not in given and "groups" in problem.meta:
        given["groups"] = problem.meta["groups"]
    _check_save_path(save)
    ref = spec.compute(problem, **given)
    save_npz_atomic(save, ref.to_npz())
    summary = {**ref.summary(), "saved": str(save)}
    if as_json:
        emit_json(summary)
    else:
        for k, v in summary.items():
            typer.echo(f"{k:>14}: {v}")


@app.command("describe")
def describe_cmd(name: Optional[str] = typer.Argument(None, help="a model, optimizer or reference (none: all)"),
                 as_json: bool = typer.Option(False, "--json", help="print JSON"),
                 markdown: bool = typer.Option(False, "--markdown", help="the README's component tables")) -> None:
    """Print the options and swept hyper-parameters a model, optimizer or reference declares."""
    from implicit_bias.cli_components import all_descriptions, component_description, find_component
    from implicit_bias.cli_components import markdown_tables, text_table

    if name is None:
        descriptions = all_descriptions()
    else:
        descriptions = [component_description(*find_component(name))]
    if markdown:
        typer.echo(markdown_tables(descriptions))
    elif as_json:
        emit_json(descriptions if name is None else descriptions[0])
    else:
        typer.echo("\n\n".join(text_table(d) for d in descriptions))


@app.command("reproduce")
def reproduce(quick: bool = typer.Option(False, "--quick", help="quick configurations (minutes on a CPU)"),
              only: list[str] = typer.Option([], "--only", help="run only these entries (repeatable)"),
              out: Path = typer.Option(Path("results"), "--out", help="report directory"),
              device: str = typer.Option("cpu", "--device", help="cpu or gpu"),
              force: bool = typer.Option(False, "--force", help="overwrite runs with a different configuration")) -> None:
    """Run every catalog entry and write one report (DIR/index.html, DIR/summary.txt)."""
    from implicit_bias.experiments import catalog, get_entry
    from implicit_bias.report import summary_table, write_report
    from implicit_bias.store import check_run_dir, write_run

    select_device(device)
    names = list(only) or list(catalog())
    entries = [get_entry(n) for n in names]
    configs = [e.config(quick=quick) for e in entries]
    for e, c in zip(entries, configs):
        check_run_dir(out / e.name, e.name, c, force)
    run_dirs, failed = [], []
    with ProgressBar(enabled=True, overall=len(entries)) as bar:
        for entry, config in zip(entries, configs):
            bar.entry(entry.name)
            result = run_entry(entry, config)
            write_run(result, out / entry.name, entry=entry.meta(), force=force)
            run_dirs.append(out / entry.name)
            if not result.all_hold:
                failed.append(entry.name)
            bar.done(entry.name, result)
    index = write_report(run_dirs, out)
    table = summary_table(run_dirs)
    (out / "summary.txt").write_text(table + "\n")
    typer.echo(table)
    typer.echo(f"report: {index}")
    if failed:
        typer.echo(f"claims failed in: {', '.join(failed)}", err=True)
    raise typer.Exit(1 if failed else 0)


@app.command("report")
def report(directory: Path = typer.Argument(..., help="a run directory, or a directory of runs")) -> None:
    """Re-render the report of existing runs without re-running them."""
    from implicit_bias.report import render_run, write_report
    from implicit_bias.store import find_runs

    if not directory.exists():
        raise InputError(f"no such directory: {directory}")
    if (directory / "claims.json").exists():
        typer.echo(str(render_run(directory)))
        return
    runs = find_runs([directory])
    if not runs:
        raise InputError(f"no runs found under {directory}")
    typer.echo(str(write_report(runs, directory)))


@app.command("runs")
def runs(paths: list[Path] = typer.Argument(None, help="directories to search (default: runs results)"),
         where: Optional[str] = typer.Option(None, "--where", help="SQL condition on the runs table, e.g. \"n_failed > 0\""),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """List and query runs with DuckDB (tables: runs, claims, metrics)."""
    from implicit_bias.store import query_runs

    paths = [p for p in (paths or [Path("runs"), Path("results")]) if p.exists()]
    if not paths:
        raise InputError("no run directories found (give one or more paths)")
    df = query_runs(paths, where=where)
    if as_json:
        emit_json(json.loads(df.to_json(orient="records")))
        return
    cols = [c for c in ("experiment", "n_claims", "n_failed", "wall_time", "compile_longest", "run_dir") if c in df.columns]
    typer.echo(df[cols].to_string(index=False) if len(df) else "no runs match")


def _print_table(table: dict, as_json: bool, formatter) -> None:
    """A bench table on stdout: one JSON object, or the formatter's text."""
    if as_json:
        emit_json(table)
    else:
        typer.echo(formatter(table))


@app.command("bench")
def bench(device: str = typer.Option("cpu", "--device", help="cpu or gpu"),
          quick: bool = typer.Option(False, "--quick"),
          out: Optional[Path] = typer.Option(None, "--out", help="write bench.json/.csv/.md/.png here (nothing is written without it)"),
          max_configs: Optional[int] = typer.Option(None, "--max-configs", help="largest sweep size M to time"),
          workload: str = typer.Option("bench", "--workload", help="bench (n=100, d=1000) or small (n=50, d=200, "
                                       "T=2000)"),
          catalog_runs: bool = typer.Option(False, "--catalog", help="instead: time `reproduce --quick` twice in new "
                                            "processes, from an empty compilation cache and then from the cache"),
          only: list[str] = typer.Option([], "--only", help="with --catalog: these entries only (repeatable)"),
          costs: bool = typer.Option(False, "--costs", help="instead: cost curves (time and memory against d, n, T, M "
                                     "and the flow's parameter count, with floors and fitted slopes; --quick: smaller)"),
          ray_overhead: bool = typer.Option(False, "--ray", help="instead: Ray's overhead per sweep chunk and the "
                                            "scaling from 1 to 2 local workers (needs the distributed extra)"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Time the sweep engine against per-configuration loops and the hardware floor (or the catalog's runs)."""
    select_device(device)
    if max_configs is not None and max_configs < 1:
        raise InputError(f"--max-configs must be positive, got {max_configs}")
    from implicit_bias.bench import WORKLOADS

    if workload not in WORKLOADS:
        raise InputError(f"unknown --workload {workload!r}; valid: {', '.join(WORKLOADS)}")
    if only and not catalog_runs:
        raise InputError("--only selects catalog entries for --catalog")
    if costs and catalog_runs:
        raise InputError("--costs and --catalog are separate runs: pick one")
    if ray_overhead:
        from implicit_bias.bench_ray import format_ray, run_ray_bench

        table = run_ray_bench(quick=quick)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            from implicit_bias.store.atomic import write_json_atomic

            write_json_atomic(out / "ray.json", table)
        _print_table(table, as_json, format_ray)
        return
    if costs:
        from implicit_bias.bench_costs import run_costs
        from implicit_bias.bench_report import format_costs, write_costs

        with ProgressBar(enabled=not as_json):
            table = run_costs(device=device, quick=quick)
        if out is not None:
            write_costs(table, out)
        _print_table(table, as_json, format_costs)
        return
    if catalog_runs:
        from implicit_bias.bench_catalog import format_catalog, time_catalog
        from implicit_bias.experiments import get_entry

        for name in only:
            get_entry(name)
        table = time_catalog(only=list(only) or None)
        if out is not None:
            from implicit_bias.store.atomic import write_json_atomic

            write_json_atomic(out / "catalog.json", table)
        _print_table(table, as_json, format_catalog)
        return
    from implicit_bias.bench import run_benchmark
    from implicit_bias.bench_report import format_table

    with ProgressBar(enabled=not as_json):
        table = run_benchmark(device=device, quick=quick, out_dir=out, max_configs=max_configs,
                              workload_name=workload)
    if as_json:
        emit_json(table)
    else:
        typer.echo(format_table(table))
        if out is not None:
            typer.echo(f"results in {out}")


from implicit_bias.cli_identify import identify  # noqa: E402

app.command("identify")(identify)

from implicit_bias.cli_sweep import plot, sweep  # noqa: E402

app.command("sweep", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            epilog="Model and optimizer options: --NAME VALUE or --opt NAME=VALUE (implicit-bias describe NAME).")(sweep)
app.command("plot")(plot)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input of any kind (a usage error, an unreadable file, a value outside its range)
    becomes one line ``error: ...`` on stderr and exit code 2, without a traceback."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv if argv is not None else sys.argv[1:], prog_name="implicit-bias",
                            standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        fail("interrupted", code=130)
    except typer.TyperException as exc:  # typer's usage errors: unknown flag or command, missing or bad value
        message = exc.format_message()
        if not message:  # a bare command: its help was printed
            sys.exit(0)
        fail(f"{message.rstrip('.')} (see --help)")
    except (InputError, ReferenceFailure) as exc:
        fail(str(exc))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
