"""The house style of every figure: colour-blind-safe colours, labelled axes, PNG + PDF.

Figures are built as :class:`matplotlib.figure.Figure` objects (no pyplot state), so
experiments stay pure functions and figures can be made from any thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette (black last).
PALETTE: list[str] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
}


def color(i: int) -> str:
    """The i-th colour of the palette (cycling)."""
    return PALETTE[i % len(PALETTE)]


def apply_style() -> None:
    """Set the house rcParams (used when figures are created)."""
    matplotlib.rcParams.update(STYLE)


def new_figure(ncols: int = 1, nrows: int = 1, width: float | None = None,
               height: float | None = None) -> tuple[Figure, Any]:
    """A figure in the house style; axes is one Axes, or an array of them when ncols·nrows > 1."""
    apply_style()
    width = width if width is not None else 6.4 if ncols == 1 else 4.2 * ncols
    height = height if height is not None else 4.2 if nrows == 1 else 3.4 * nrows
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def log_axis_label(what: str) -> str:
    """``"steps"`` -> ``"steps (log scale)"``."""
    return f"{what} (log scale)"


def annotate_slope(ax: Any, x: Sequence[float], y: Sequence[float], slope: float, label: str | None = None,
                   **kwargs: Any) -> None:
    """Draw y = c·x^slope through the first point (x[0], y[0]) on log-log axes."""
    x = np.asarray(x, dtype=float)
    y0 = float(np.asarray(y, dtype=float)[0])
    ax.plot(x, y0 * (x / x[0]) ** slope, linestyle=":", color=kwargs.pop("color", "black"),
            label=label if label is not None else f"slope {slope:g}", **kwargs)


def save_figure(fig: Figure, base_path: str | Path) -> list[Path]:
    """Write ``base_path.png`` (150 dpi) and ``base_path.pdf``; returns both paths."""
    base = Path(base_path)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_suffix(".png"), base.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths
