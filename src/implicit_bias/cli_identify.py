"""The ``identify`` command: what does gradient flow implicitly minimize for a parameterization w = G(θ)?

    implicit-bias identify --param my_g.py:G --init theta0.npy --data d.npz [--loss square]
                           [--expect VERDICT] [--json] [--save OUT.npz] [--figure BASE]

G maps a flat θ (p,) to w (d,) and is written with jax.numpy. Exit codes: 0 the identification ran and
its claims hold (a non-commuting or hidden-state G is a finding, not a failure), 1 a claim failed (the
flow's limit is not the predicted one, --expect mismatch), 2 bad input (one line on stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

from implicit_bias.errors import InputError


def _load_init(path: Path) -> np.ndarray:
    """θ0 from an .npy or an .npz (array ``theta0``, or its only array)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"init file not found: {path}")
    try:
        if path.suffix == ".npy":
            return np.asarray(np.load(path, allow_pickle=False))
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "theta0" in f.files:
                    return np.asarray(f["theta0"])
                if len(f.files) == 1:
                    return np.asarray(f[f.files[0]])
                raise InputError(f"{path} must hold an array 'theta0' (found: {', '.join(f.files)})")
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - unreadable file: one line
        raise InputError(f"cannot read {path}: {err}") from None
    raise InputError(f"--init must be an .npy or .npz file, got {path}")


def _print(ident) -> None:
    s = ident.summary()
    typer.echo(f"parameterization {s['param']}, loss {s['loss']}")
    typer.echo(f"verdict: {s['verdict']} — {s['explanation']}")
    st = s["structure"]
    if st:
        w = st["worst"]
        typer.echo(f"brackets on {st['points']} sampled points (tolerance {st['tolerance']:g}, normalized): "
                   f"commuting {w['commuting']:.2e}, off span(grad G) {w['involutive']:.2e}, "
                   f"off span(data fields) {w['data_involutive']:.2e}; relative to |grad G_i||grad G_j| {w['relative']:.2e}"
                   + (f"; exact all pairs {st['exact_all_pairs_max']:.2e}" if st["exact_all_pairs_max"] is not None else ""))
    if s["family"]:
        fam = {k: v for k, v in s["family"].items() if k not in ("basis", "Lambda", "ntk")}
        typer.echo(f"potential family: {fam}")
    if s["branch"]:
        typer.echo(f"branch: {s['branch']}")
    if s["interpolable"] is False:
        typer.echo("not interpolable: y is outside the range the flow can reach")
    lim = s["limit"]
    if lim:
        typer.echo(f"predicted limit ({lim['status']}): w = {np.array2string(np.asarray(lim['w']), precision=10)}"
                   + (f", R(w) = {lim['objective']}" if lim.get("objective") not in (None, "nan") else ""))
    if s["flow"]:
        typer.echo(f"engine gradient flow: w = {np.array2string(np.asarray(s['flow']['w']), precision=10)} "
                   f"(residual {s['flow']['residual']:.2e}, t = {s['flow']['horizon']:.3g})")
    if s["fits"]:
        typer.echo("candidate regularizers (KKT residual at the flow's limit / along its path):")
        for row in s["fits"]:
            extra = ", ".join(f"{k}={row[k]:.6g}" for k in ("alpha", "p") if k in row)
            typer.echo(f"  {row['candidate']:<10} {row['kkt_residual']:.2e} / {row['path_residual']:.2e}"
                       + (f"  ({extra})" if extra else "") + (f"  ref {row['reference']}" if row["reference"] else ""))
    for c in ident.claims:
        typer.echo(f"[{'holds' if c.holds else 'FAILS'}] {c.kind}: {c.name}: {c.measured:.3e} {c.relation} {c.expected:.3e}")
    for note in s["notes"]:
        typer.echo(f"note: {note}")


def identify(param: str = typer.Option(..., "--param", help="FILE.py:G, module:G or a registered form "
                                       "(uu-vv, uu, uv, power, power-D, neuron); G maps theta (p,) to w (d,)"),
             init: Path = typer.Option(..., "--init", help="theta0: an .npy, or an .npz with array 'theta0'"),
             data: Path = typer.Option(..., "--data", help=".npz with X (n, d) and y (n,)"),
             loss: str = typer.Option("square", "--loss", help="square, exp or logistic"),
             expect: Optional[str] = typer.Option(None, "--expect", help="mirror-flow, data-mirror-flow, "
                                                  "time-warped-mirror-flow, hidden-state or degenerate"),
             as_json: bool = typer.Option(False, "--json", help="stdout holds only one JSON object"),
             save: Optional[Path] = typer.Option(None, "--save", help="write limit, flow, dual, brackets, fits (.npz)"),
             figure: Optional[Path] = typer.Option(None, "--figure", help="write the figure to BASE.png and BASE.pdf"),
             no_flow: bool = typer.Option(False, "--no-flow", help="skip the engine's flow check"),
             seed: int = typer.Option(0, "--seed", help="seed of the sampled brackets")) -> None:
    """Find what gradient flow implicitly minimizes for a parameterization w = G(θ)."""
    from implicit_bias.cli_support import ProgressBar, emit_json, load_data, save_npz_atomic
    from implicit_bias.identify.api import identify as run_identify
    from implicit_bias.identify.param import load_param

    theta0 = _load_init(init)
    problem = load_data(data)
    if not hasattr(problem, "X") or np.asarray(problem.X).ndim != 2:
        raise InputError("identify needs a vector problem: an .npz with X (n, d) and y (n,)")
    load_param(param, theta0, np.asarray(problem.X).shape[1])  # bad input fails here, before any output
    if save is not None and not Path(save).parent.exists():
        raise InputError(f"directory of --save does not exist: {Path(save).parent}")
    with ProgressBar(enabled=not as_json):
        ident = run_identify(param, theta0, problem.X, problem.y, loss=loss, expect=expect, flow_check=not no_flow,
                             seed=seed)
    if save is not None:
        save_npz_atomic(save, ident.arrays())
    if figure is not None:
        from implicit_bias.store.figures import save_figure

        save_figure(ident.figure(), figure)
    if as_json:
        emit_json(ident.summary())
    else:
        _print(ident)
    raise typer.Exit(0 if ident.all_hold else 1)
