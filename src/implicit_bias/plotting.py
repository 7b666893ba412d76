"""The house style of every figure: colour-blind-safe colours, labelled axes, PNG + PDF.

Figures are built as :class:`matplotlib.figure.Figure` objects with their own Agg canvas
(no pyplot state and no global backend switch), so experiments stay pure functions,
figures can be made from any thread, and importing pyplot elsewhere breaks nothing.

Sizes are chosen for the HTML report: a single panel is 6.4 × 4.2 in, saved at 150 dpi
(960 × 630 px) and shown about 800 px wide, where 10–11 pt text stays readable.

    fig, ax = new_figure()
    ax.loglog(steps, gap, color=color(0), label="GD")
    annotate_slope(ax, steps, gap, -1.0, "slope −1")
    ax.set_xlabel(log_axis_label("steps"))
    save_figure(fig, "runs/demo/figures/gap")   # gap.png and gap.pdf (implicit_bias.store)

References: Okabe & Ito 2008, Color Universal Design (the palette).
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette (black last; yellow is kept for fills).
PALETTE: list[str] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

#: Line styles to pair with colours when a figure must also survive greyscale printing.
LINESTYLES: list[str] = ["-", "--", "-.", ":"]

STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "savefig.dpi": 150,
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays selectable and editable
    "ps.fonttype": 42,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
}

#: Width and height (inches) of a single-panel figure, sized for the report page.
SINGLE = (6.4, 4.2)


def color(i: int) -> str:
    """The i-th colour of the palette (cycling)."""
    return PALETTE[i % len(PALETTE)]


def linestyle(i: int) -> str:
    """The i-th line style (cycling), to pair with :func:`color` for greyscale prints."""
    return LINESTYLES[i % len(LINESTYLES)]


def apply_style() -> None:
    """Set the house rcParams (read by matplotlib when artists are created)."""
    matplotlib.rcParams.update(STYLE)


def new_figure(ncols: int = 1, nrows: int = 1, width: float | None = None,
               height: float | None = None) -> tuple[Figure, Any]:
    """A figure in the house style, on its own Agg canvas.

    Returns ``(fig, axes)`` where axes is one Axes, or an array of shape (nrows, ncols)
    (squeezed) when ncols·nrows > 1. Default size: 6.4 × 4.2 in for one panel, 4.2 in
    per column and 3.4 in per row otherwise.
    """
    if ncols < 1 or nrows < 1:
        raise ValueError(f"new_figure needs ncols, nrows >= 1 (got {ncols}, {nrows})")
    apply_style()
    width = width if width is not None else SINGLE[0] if ncols == 1 else 4.2 * ncols
    height = height if height is not None else SINGLE[1] if nrows == 1 else 3.4 * nrows
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # non-interactive canvas; no pyplot, no global backend
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def log_axis_label(what: str) -> str:
    """``"steps"`` -> ``"steps (log scale)"``."""
    return f"{what} (log scale)"


def annotate_slope(ax: Any, x: Sequence[float], y: Sequence[float], slope: float, label: str | None = None,
                   **kwargs: Any) -> Any:
    """Draw the reference line y = c·x^slope through (x[0], y[0]) on log-log axes.

    Points with x <= 0 are dropped (they have no place on a log axis). Extra keyword
    arguments go to ``ax.plot``; the line is dotted black unless told otherwise.
    Returns the Line2D, or None when no positive x is left.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = (x > 0) & np.isfinite(x)
    if not keep.any():
        return None
    x, y0 = x[keep], float(y[keep][0])
    kwargs.setdefault("color", "black")
    kwargs.setdefault("linestyle", ":")
    kwargs.setdefault("linewidth", 1.4)
    (line,) = ax.plot(x, y0 * (x / x[0]) ** slope,
                      label=label if label is not None else f"slope {slope:g}", **kwargs)
    return line
