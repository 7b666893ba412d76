"""The sweep benchmark's outputs: a text table, a log-log plot of time against M, and the files.

``write_outputs(table, out_dir)`` writes ``bench.json`` (the table), ``bench.csv`` (one row per
variant and M), ``bench.md`` (the text table) and ``bench.png`` / ``bench.pdf`` (seconds
against the number of configurations M, log-log, every variant and the two floors).

References: the table's fields are described in :func:`implicit_bias.bench.run_benchmark`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

COLUMNS = ("variant", "M", "seconds", "compile_seconds", "speedup", "ratio_to_numpy_batched",
           "floor_seconds", "floor_bound", "fraction_of_floor", "extrapolated")


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
             f"load average at the end {table['machine'].get('load_average_1min')}; quick={table['quick']}"]
    r = table["rates"]
    lines.append(f"measured: matmul {r['matmul_flops_float32'] / 1e9:.1f} GFLOP/s (float32), "
                 f"{r['matmul_flops_float64'] / 1e9:.1f} GFLOP/s (float64); bandwidth {r['bandwidth_bytes'] / 1e9:.1f} GB/s")
    w = table["workload"]
    lines.append(f"workload: diagonal network n={w['n']} d={w['d']} {w['sparsity']}-sparse, GD h={w['step_size']}, "
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
    paths[0].write_text(json.dumps(table, indent=2))
    import pandas as pd

    pd.DataFrame(table["rows"]).to_csv(paths[1], index=False)
    paths[2].write_text("```\n" + format_table(table) + "\n```\n")
    fig = figure(table)
    fig.savefig(paths[3], dpi=150)
    fig.savefig(paths[4])
    return paths
