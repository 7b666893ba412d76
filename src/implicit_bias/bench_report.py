"""The sweep benchmark's outputs: a text table, a log-log plot of time against M, and the files.

``write_outputs(table, out_dir)`` writes ``bench.json`` (the table), ``bench.csv`` (one row per
variant and M), ``bench.md`` (the text table) and ``bench.png`` / ``bench.pdf`` (seconds
against the number of configurations M, log-log, every variant and the two floors).

References: the table's fields are described in :func:`implicit_bias.bench.run_benchmark`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from implicit_bias.store.atomic import atomic_path, write_json_atomic, write_text_atomic
from implicit_bias.store.figures import save_figure

COLUMNS = ("variant", "M", "seconds", "compile_seconds", "speedup", "ratio_to_numpy_batched",
           "products_ratio_to_numpy", "kernel_limited", "floor_seconds", "floor_bound", "fraction_of_floor", "extrapolated")


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(x)
    if isinstance(x, float):
        return f"{x:.3g}" if 1e-3 <= abs(x) < 1e5 or x == 0 else f"{x:.2e}"
    return str(x)


def format_table(table: dict) -> str:
    """The benchmark as aligned text: machine, rates, the main table, families, flow, chunking."""
    lines = [f"device: {table['machine']['device_kind']} ({table['machine']['device']}), "
             f"{table['machine']['cpu_count']} CPUs, jax {table['machine']['jax']}, "
             f"load average at the start {table['machine'].get('load_average_1min_start')}, at the end "
             f"{table['machine'].get('load_average_1min')}; quick={table['quick']}"]
    r = table["rates"]
    lines.append(f"measured: matmul {r['matmul_flops_float32'] / 1e9:.1f} GFLOP/s (float32), "
                 f"{r['matmul_flops_float64'] / 1e9:.1f} GFLOP/s (float64); bandwidth {r['bandwidth_bytes'] / 1e9:.1f} GB/s")
    w = table["workload"]
    lines.append(f"workload ({table.get('workload_name', 'bench')}): diagonal network n={w['n']} d={w['d']} {w['sparsity']}-sparse, GD h={w['step_size']}, "
                 f"T={w['steps']} steps")
    rows = [[_fmt(row.get(c)) for c in COLUMNS] for row in table["rows"]]
    widths = [max(len(c), *(len(x[i]) for x in rows)) for i, c in enumerate(COLUMNS)]
    lines.append("  ".join(c.ljust(wd) for c, wd in zip(COLUMNS, widths)))
    lines += ["  ".join(x.ljust(wd) for x, wd in zip(row, widths)) for row in rows]
    for fam in table.get("families", []):
        lines.append("family: " + ", ".join(f"{k}={_fmt(v)}" for k, v in fam.items()))
    for fl in table.get("flow", []):
        lines.append("flow: " + ", ".join(f"{k}={_fmt(v)}" for k, v in fl.items()))
    ch = table.get("chunking")
    if ch:
        lines.append("chunking: " + ", ".join(f"{k}={_fmt(v)}" for k, v in ch.items()))
    lines.append(f"peak memory: {table.get('peak_bytes', 0) / 2 ** 20:.0f} MiB")
    lines += [f"note: {n}" for n in table.get("notes", [])]
    return "\n".join(lines)


def figure(table: dict):
    """Seconds against M (log-log): every variant, and the float32/float64 floors dashed."""
    try:
        from implicit_bias.plotting import new_figure

        fig, ax = new_figure()
        ax = np.atleast_1d(ax)[0]
    except ImportError:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.4, 4.4), constrained_layout=True)
        ax = fig.add_subplot(1, 1, 1)
    variants = list(dict.fromkeys(row["variant"] for row in table["rows"]))
    for v in variants:
        pts = sorted((row["M"], row["seconds"]) for row in table["rows"] if row["variant"] == v)
        extrap = any(row.get("extrapolated") for row in table["rows"] if row["variant"] == v)
        ax.plot(*zip(*pts), marker="o", ms=3, label=v + (" (scaled)" if extrap else ""))
    for dtype in ("float32", "float64"):
        pts = sorted((row["M"], row["floor_seconds"]) for row in table["rows"] if row["variant"] == f"engine-{dtype}")
        if pts:
            ax.plot(*zip(*pts), ls="--", color="gray" if dtype == "float32" else "black", lw=1,
                    label=f"floor {dtype}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("configurations M (log scale)")
    ax.set_ylabel(f"seconds for T = {table['workload']['steps']} steps (log scale)")
    ax.set_title(f"diagonal-network sweep on {table['machine']['device_kind']}")
    ax.legend(fontsize=7)
    return fig


def write_outputs(table: dict, out_dir: Path) -> list[Path]:
    """Write bench.json, bench.csv, bench.md, bench.png and bench.pdf under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "bench.json", out_dir / "bench.csv", out_dir / "bench.md", out_dir / "bench.png",
             out_dir / "bench.pdf"]
    write_json_atomic(paths[0], table)
    import pandas as pd

    with atomic_path(paths[1]) as tmp:
        pd.DataFrame(table["rows"]).to_csv(tmp, index=False)
    write_text_atomic(paths[2], "```\n" + format_table(table) + "\n```\n")
    save_figure(figure(table), out_dir / "bench")
    return paths


AXIS_LABELS = {"d": "features d", "n": "samples n", "T": "steps T", "M": "configurations M",
               "P": "parameters P (gradient flow)"}


def _axes_pair(title: str):
    from implicit_bias.plotting import new_figure

    fig, axes = new_figure(ncols=2)
    fig.suptitle(title)
    return fig, axes


def cost_figures(costs: dict) -> dict:
    """One figure per axis: seconds with the floor (left) and the program's bytes (right), log-log."""
    from implicit_bias.plotting import color, log_axis_label

    figs = {}
    for name, curves in costs["axes"].items():
        curves = curves if isinstance(curves, list) else [curves]
        axis = curves[0]["axis"]
        fig, (ax_t, ax_m) = _axes_pair(f"cost against {AXIS_LABELS.get(axis, axis)} ({costs['device']}, {costs['dtype']})")
        for i, c in enumerate(curves):
            pts = c["points"]
            x = [p["x"] for p in pts]
            if axis == "P":
                for j, solver in enumerate(("tsit5", "kvaerno5")):
                    ax_t.loglog(x, [p[solver]["seconds"] for p in pts], marker="o", color=color(j),
                                label=f"{solver} (slope per step {c['fits'][solver]['slope_seconds_per_step']:.2f})")
                    ax_m.loglog(x, [p[solver]["footprint_bytes"] or np.nan for p in pts], marker="o", color=color(j),
                                label=f"{solver} (slope {c['fits'][solver]['slope_memory']:.2f})")
                continue
            label = c["workload"] if len(curves) > 1 else "engine"
            ax_t.loglog(x, [p["seconds"] for p in pts], marker="o", color=color(i),
                        label=f"{label} (slope {c['slope_seconds']:.2f})")
            ax_t.loglog(x, [p["floor_seconds"] for p in pts], ls="--", color=color(i), lw=1,
                        label=f"floor ({pts[-1]['floor_bound']})")
            ax_m.loglog(x, [p["footprint_bytes"] or np.nan for p in pts], marker="o", color=color(i),
                        label=f"{label} (slope {c['slope_memory']:.2f})")
        ax_t.set_xlabel(log_axis_label(AXIS_LABELS.get(axis, axis)))
        ax_t.set_ylabel(log_axis_label("seconds (after compiling)"))
        ax_m.set_xlabel(log_axis_label(AXIS_LABELS.get(axis, axis)))
        ax_m.set_ylabel(log_axis_label("bytes the compiled program holds"))
        for ax in (ax_t, ax_m):
            ax.legend(fontsize=6)
        figs[f"costs_{name}"] = fig
    return figs


def format_costs(costs: dict) -> str:
    """The cost curves as text: per axis its points, fitted slopes and growth."""
    lines = [f"cost curves on {costs['device']} ({costs['dtype']}; quick={costs['quick']})"]
    for name, curves in costs["axes"].items():
        for c in curves if isinstance(curves, list) else [curves]:
            if c["axis"] == "P":
                lines.append(f"[P] {c['workload']}")
                for p in c["points"]:
                    lines.append("  P={x}: λ_max={lam:.3g}, auto picks {pick}; ".format(
                        x=p["x"], lam=p["curvature"], pick=p["auto_picks"]) + "; ".join(
                        f"{s} {p[s]['seconds']:.3g} s / {p[s]['solver_steps']} steps, {_fmt(p[s]['footprint_bytes'])} B"
                        for s in ("tsit5", "kvaerno5")))
                lines += [f"  {s}: slope of seconds per step {f['slope_seconds_per_step']:.2f}, of memory "
                          f"{f['slope_memory']:.2f}" for s, f in c["fits"].items()]
                lines.append(f"  {c['note']}")
                continue
            lines.append(f"[{c['axis']}] {c['workload']}, fixed {c['fixed']}: time slope {c['slope_seconds']:.2f} "
                         f"({c['growth']}), floor slope {c['slope_floor']:.2f}, memory slope {c['slope_memory']:.2f} "
                         f"(fitted over {c['axis']} = {', '.join(_fmt(v) for v in c['slope_over'])})")
            for p, frac in zip(c["points"], c["fraction_of_floor"]):
                lines.append(f"  {c['axis']}={p['x']}: {p['seconds']:.3g} s (compile {p['compile_seconds']:.2g} s), "
                             f"floor {p['floor_seconds']:.3g} s ({p['floor_bound']}), × floor {frac:.3g}, "
                             f"program {_fmt(p['footprint_bytes'])} B")
    if costs.get("memory"):
        from implicit_bias.bench_memory import format_footprints

        lines.append(format_footprints(costs["memory"]))
    return "\n".join(lines)


def write_costs(costs: dict, out_dir: Path) -> list[Path]:
    """Write costs.json, costs.md and one costs_<axis>.png per axis under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "costs.json", out_dir / "costs.md"]
    write_json_atomic(paths[0], costs)
    write_text_atomic(paths[1], "```\n" + format_costs(costs) + "\n```\n")
    for name, fig in cost_figures(costs).items():
        paths.append(out_dir / f"{name}.png")
        with atomic_path(paths[-1]) as tmp:
            fig.savefig(tmp, format="png", dpi=150)
    return paths
