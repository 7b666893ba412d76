"""Figures on disk: ``NAME.png`` (150 dpi) and ``NAME.pdf`` beside it, each written atomically.

The figures themselves are made in the house style of :mod:`implicit_bias.plotting`; this module
only writes them (or copies already-rendered files), through :mod:`implicit_bias.store.atomic`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import matplotlib

from implicit_bias.errors import InputError
from implicit_bias.store.atomic import atomic_path


def save_figure(fig: Any, base_path: str | Path) -> list[Path]:
    """Write ``base_path.png`` (150 dpi) and ``base_path.pdf``; returns both paths.

    Parent directories are created; each file is written to a temporary file and moved
    into place, so an interrupted save never leaves half a PNG. A dot in the base name
    (``alpha_0.1``) is kept, not taken for a suffix.
    """
    base = Path(base_path)
    png, pdf = base.parent / f"{base.name}.png", base.parent / f"{base.name}.pdf"
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=150, metadata={"Software": None})
    # TrueType fonts, pinned at save time: matplotlib cannot write a figure whose text was laid
    # out for TrueType as Type 3 (rcParams changed in between), while the reverse is fine.
    with matplotlib.rc_context({"pdf.fonttype": 42}), atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})
    return [png, pdf]


def copy_figure(src: Path, base: Path) -> list[Path]:
    """Copy an already-rendered PNG (and the PDF beside it, if any) to ``base.png/.pdf``."""
    src = Path(src)
    if src.suffix.lower() not in (".png", ".pdf"):
        src = src.parent / f"{src.name}.png"
    out = []
    for suffix in (".png", ".pdf"):
        source = src.parent / f"{src.stem}{suffix}"
        target = base.parent / f"{base.name}{suffix}"
        if not source.exists():
            if suffix == ".png":
                raise InputError(f"figure file {source} does not exist")
            continue
        if not (target.exists() and target.resolve() == source.resolve()):
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
        out.append(target)
    return out
