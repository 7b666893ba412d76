"""The figure of a sweep, chosen from the grid's shape, and the ``plot`` command's line plot.

The quantity shown is the distance to the reference when there is one, else the final loss. Seeds are
averaged. One swept axis (besides the seed): a line against it; a second axis with few values (≤ 8):
one line per value; two larger axes: a heat map of the first two (others averaged). An axis of positive
values spanning more than two decades is drawn on a log scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from implicit_bias.errors import InputError

#: most lines (values of a hue axis) drawn in one panel.
MAX_HUE = 8


def _log_scale(values: np.ndarray) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0) and v.max() / v.min() >= 50)


def line_plot(table: Any, x: str, y: str, hue: str | None = None) -> Any:
    """y against x (mean over every other column, the seed included), one line per value of ``hue``."""
    from implicit_bias.plotting import color, linestyle, new_figure

    for col in (x, y) + ((hue,) if hue else ()):
        if col not in table.columns:
            raise InputError(f"no column '{col}' in the sweep table; columns: {', '.join(map(str, table.columns))}")
    keys = [x] + ([hue] if hue else [])
    data = table[keys + [y]].astype({y: float})
    grouped = data.groupby(keys, sort=True)[y].agg(["mean", "min", "max"]).reset_index()
    fig, ax = new_figure()
    groups = [(None, grouped)] if not hue else list(grouped.groupby(hue, sort=True))
    if len(groups) > MAX_HUE:
        raise InputError(f"--hue {hue} has {len(groups)} values; at most {MAX_HUE} lines fit one panel")
    for i, (value, part) in enumerate(groups):
        label = None if value is None else f"{hue} = {value:g}"
        ax.plot(part[x], part["mean"], color=color(i), linestyle=linestyle(i), marker="o", markersize=3, label=label)
        if (part["max"] > part["min"]).any():
            ax.fill_between(part[x], part["min"], part["max"], color=color(i), alpha=0.15, linewidth=0)
    if _log_scale(grouped[x]):
        ax.set_xscale("log")
    if _log_scale(grouped[["mean", "min"]].to_numpy().ravel()):
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y + (" (mean, min–max band)" if table.groupby(keys).size().max() > 1 else ""))
    if hue:
        ax.legend()
    return fig


def heat_map(table: Any, x: str, yaxis: str, value: str) -> Any:
    """``value`` (mean over the other columns) on the grid x × yaxis."""
    from implicit_bias.plotting import new_figure

    pivot = table.astype({value: float}).pivot_table(index=yaxis, columns=x, values=value, aggfunc="mean")
    fig, ax = new_figure()
    z = pivot.to_numpy()
    log = _log_scale(z.ravel())
    shown = np.log10(z) if log else z
    mesh = ax.imshow(shown, origin="lower", aspect="auto", interpolation="nearest")
    cbar = fig.colorbar(mesh, ax=ax)
    cbar.set_label(f"log10 {value}" if log else value)
    for axis, labels, setter in ((ax.xaxis, pivot.columns, ax.set_xticks), (ax.yaxis, pivot.index, ax.set_yticks)):
        ticks = np.arange(0, len(labels), -(-len(labels) // 6))
        setter(ticks, [f"{labels[t]:.2g}" for t in ticks])
    ax.grid(False)
    ax.set_xlabel(x)
    ax.set_ylabel(yaxis)
    return fig


def sweep_figure(table: Any, axes: list[str], base: Path) -> list[Path]:
    """Draw the sweep's figure to ``base``.png/.pdf; returns the paths (none when nothing varies)."""
    from implicit_bias.store.figures import save_figure

    value = "dist_to_reference" if "dist_to_reference" in table.columns else "final_loss"
    varied = [a for a in axes if a != "seed" and table[a].nunique() > 1]
    if not varied:
        return []
    if len(varied) == 1:
        fig = line_plot(table, varied[0], value)
    else:
        small = [a for a in varied[1:] if table[a].nunique() <= MAX_HUE]
        if small:
            fig = line_plot(table, varied[0], value, hue=small[0])
        else:
            fig = heat_map(table, varied[0], varied[1], value)
    return save_figure(fig, base)
