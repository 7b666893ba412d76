"""The house plotting style: figures without pyplot, saved (by the store) as valid PNG and PDF."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from implicit_bias import plotting
from implicit_bias.store import save_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _figure():
    fig, ax = plotting.new_figure()
    steps = np.logspace(0, 4, 30)
    ax.loglog(steps, 1.0 / steps, color=plotting.color(0), label="gap")
    plotting.annotate_slope(ax, steps, 1.0 / steps, -1.0, "slope −1")
    ax.set_xlabel(plotting.log_axis_label("steps"))
    ax.legend()
    return fig


def test_save_figure_writes_valid_png_and_pdf(tmp_path):
    paths = save_figure(_figure(), tmp_path / "deep" / "dir" / "gap")
    assert [p.name for p in paths] == ["gap.png", "gap.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (960, 630)  # 6.4 × 4.2 in at 150 dpi
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert not [p for p in paths[0].parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_dotted_base_name_is_kept(tmp_path):
    fig, ax = plotting.new_figure(width=2.0, height=1.5)
    ax.plot([0, 1], [0, 1])
    paths = save_figure(fig, tmp_path / "alpha_0.1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha_0.1.pdf", "alpha_0.1.png"]
    assert paths[0].name == "alpha_0.1.png"


def test_new_figure_uses_no_pyplot_state_and_the_house_style():
    pyplot = sys.modules.get("matplotlib.pyplot")
    before = len(pyplot.get_fignums()) if pyplot else 0
    fig, axes = plotting.new_figure(ncols=2, nrows=2)
    assert axes.shape == (2, 2)
    assert tuple(fig.get_size_inches()) == pytest.approx((8.4, 6.8))
    ax = axes[0, 0]
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
    (line,) = ax.plot([1, 2], [1, 2])
    assert line.get_color().lower() == plotting.PALETTE[0].lower()
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert (len(pyplot.get_fignums()) if pyplot else 0) == before


def test_palette_helpers_and_labels():
    assert len(plotting.PALETTE) == 8 and plotting.color(8) == plotting.color(0)
    assert plotting.log_axis_label("steps") == "steps (log scale)"


def test_annotate_slope_has_the_requested_slope():
    fig, ax = plotting.new_figure()
    x = np.array([0.0, 1.0, 10.0, 100.0])
    line = plotting.annotate_slope(ax, x, [5.0, 2.0, 1.0, 0.5], -0.5, "ref")
    xs, ys = line.get_data()
    assert xs[0] == 1.0 and ys[0] == 2.0  # x = 0 dropped; through the first positive point
    assert np.polyfit(np.log(xs), np.log(ys), 1)[0] == pytest.approx(-0.5)
    assert line.get_label() == "ref"
