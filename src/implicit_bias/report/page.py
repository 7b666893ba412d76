"""The HTML report: one self-contained page that people open and share.

Top: the verdict of every claim (``id="verdict-summary"``), one badge per experiment
linking to its section, total wall time, software and machine. Then one section per
run (``id`` = entry name): description, paper, claims table, notes, figures (embedded as
base64 PNG and linked to the PNG/PDF files beside the page), configuration, run details.
All text goes through :func:`html.escape`; the page needs no network and no scripts
besides a three-line image check used by tests.
"""

from __future__ import annotations

import base64
import html
import os
import re
import struct
from pathlib import Path
from urllib.parse import quote

from implicit_bias.encoding import dumps
from implicit_bias.report.format import (
    RunView,
    claim_cells,
    fmt_duration,
    fmt_time,
    load_runs,
    verdict_line,
    versions_of,
)
from implicit_bias.report.style import CSS, IMAGE_CHECK_JS
from implicit_bias.store.atomic import write_text_atomic
from implicit_bias.store.serialize import utc_now

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SOFTWARE = [("python", "Python"), ("jax", "JAX"), ("jaxlib", "jaxlib"), ("numpy", "NumPy"),
             ("implicit_bias", "implicit-bias")]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _href(target: Path, page_dir: Path) -> str:
    rel = os.path.relpath(Path(target).resolve(), Path(page_dir).resolve())
    return quote(Path(rel).as_posix())


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != _PNG_SIGNATURE or len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def _anchor_ids(views: list[RunView]) -> list[str]:
    ids, seen = [], {}
    for v in views:
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", v.name).strip("-") or "run"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _header(views: list[RunView], ids: list[str], title: str) -> str:
    failed = any(v.result.n_failed for v in views)
    badges = []
    for v, anchor in zip(views, ids):
        ok = v.ok
        mark = "✓" if ok else "✗"
        badges.append(f'<a class="badge{"" if ok else " bad"}" href="#{_e(anchor)}" '
                      f'title="{_e(v.meta.get("summary", ""))}">{mark} {_e(v.name)} · '
                      f'{_e(v.badge_text())}</a>')
    info = versions_of(views)
    rows = [("Total wall time", fmt_duration(sum(v.result.wall_time for v in views)))]
    created = sorted(fmt_time(v.record.get("created")) for v in views if v.record.get("created"))
    if created:
        rows.append(("Runs made", created[0] if created[0] == created[-1] else f"{created[0]} – {created[-1]}"))
    software = " · ".join(f"{label} {info[key]}" for key, label in _SOFTWARE if key in info)
    if software:
        rows.append(("Software", software))
    arch = info.get("architecture")
    machine = [info.get("platform"), arch if arch and arch not in str(info.get("platform", "")) else None,
               f"{info['cpu_count']} CPUs" if info.get("cpu_count") else None,
               f"device {info['device']}" if info.get("device") else None]
    if any(machine):
        rows.append(("Machine", " · ".join(m for m in machine if m)))
    meta = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    summary = verdict_line(views) if views else "no runs to report"
    return (f'<header class="top"><h1>{_e(title)}</h1>\n'
            f'<p id="verdict-summary" class="verdict{" bad" if failed or not views else ""}">{_e(summary)}</p>\n'
            f'<nav class="badges" aria-label="experiments">{"".join(badges)}</nav>\n'
            f'<dl class="meta">{meta}</dl></header>\n')


def _claims_table(view: RunView) -> str:
    rows = []
    established = view.result.established
    for claim in view.result.claims:
        cells = claim_cells(claim, established)
        holds = cells["verdict"] == "holds"
        mark = "✓" if holds else "✗"
        note = f'<span class="note">{_e(claim.note)}</span>' if claim.note else ""
        rows.append(f'<tr class="{"holds" if holds else "fails"}"><td>{_e(claim.name)}{note}</td>'
                    f'<td class="kind">{_e(cells["kind"])}</td><td class="num">{_e(cells["measured"])}</td>'
                    f'<td class="rel">{_e(cells["relation"])}</td>'
                    f'<td class="num">{_e(cells["expected"])}</td><td class="num">{_e(cells["tolerance"])}</td>'
                    f'<td class="verdict-cell">{mark} {cells["verdict"]}</td></tr>')
    if not rows:
        return "<p>No claims recorded.</p>"
    return ('<div class="table-wrap"><table class="claims"><thead><tr><th scope="col">claim</th>'
            '<th scope="col">kind</th><th scope="col" class="num">measured</th><th scope="col">relation</th>'
            '<th scope="col" class="num">expected</th><th scope="col" class="num">tolerance</th>'
            '<th scope="col">verdict</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _figures(view: RunView, page_dir: Path) -> str:
    parts = []
    for name, png in view.result.figures.items():
        png = Path(png)
        data = png.read_bytes()
        size = _png_size(data)
        dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
        label = name.replace("_", " ")
        alt = f"Figure '{label}' of experiment {view.name}"
        links = [f'<a href="{_href(png, page_dir)}">PNG</a>']
        pdf = png.with_suffix(".pdf")
        if pdf.exists():
            links.append(f'<a href="{_href(pdf, page_dir)}">PDF</a>')
        parts.append(f'<figure><a href="{_href(png, page_dir)}"><img src="data:image/png;base64,'
                     f'{base64.b64encode(data).decode("ascii")}" alt="{_e(alt)}"{dims}></a>'
                     f'<figcaption>{_e(label)} <span class="figure-links">· {" · ".join(links)}</span>'
                     f'</figcaption></figure>')
    return f'<h3>Figures</h3><div class="figures">{"".join(parts)}</div>' if parts else ""


def _section(view: RunView, anchor: str, page_dir: Path) -> str:
    meta, result, record = view.meta, view.result, view.record
    ok = view.ok
    badge = (f'<span class="badge{"" if ok else " bad"}">{"✓" if ok else "✗"} '
             f'{_e(result.verdict())}</span>')
    out = [f'<section class="entry" id="{_e(anchor)}"><div class="entry-head"><h2>{_e(view.name)}</h2>{badge}</div>']
    if meta.get("summary"):
        out.append(f'<p class="lead">{_e(meta["summary"])}</p>')
    if meta.get("description"):
        out.append(f'<p class="description">{_e(meta["description"])}</p>')
    if meta.get("paper"):
        out.append(f'<p class="paper">Paper: {_e(meta["paper"])}</p>')
    out.append("<h3>Claims</h3>" + _claims_table(view))
    if result.notes:
        out.append('<h3>Notes</h3><ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in result.notes) + "</ul>")
    out.append(_figures(view, page_dir))
    config = dumps(result.config, indent=2, sort_keys=True)
    out.append(f"<details><summary>Configuration</summary><pre>{_e(config)}</pre></details>")
    details = [f"wall time {fmt_duration(result.wall_time)}"]
    if record.get("created"):
        details.append(f"made {fmt_time(record['created'])}")
    details.append(f'run directory <a href="{_href(view.run_dir, page_dir) or "."}">'
                   f"<code>{_e(view.run_dir)}</code></a>")
    if record.get("fingerprint"):
        details.append(f'fingerprint <code title="{_e(record["fingerprint"])}">{_e(str(record["fingerprint"])[:12])}</code>')
    out.append(f'<p class="runinfo">{" · ".join(details)}</p></section>')
    return "\n".join(p for p in out if p)


def render_page(views: list[RunView], page_dir: Path, title: str) -> str:
    """The full HTML text of a report over ``views``, with links relative to ``page_dir``."""
    ids = _anchor_ids(views)
    body = [_header(views, ids, title), "<main>"]
    body += [_section(v, anchor, page_dir) for v, anchor in zip(views, ids)]
    body.append("</main>")
    body.append(f"<footer>Generated {_e(fmt_time(utc_now()))} by implicit-bias from the run directories above; "
                "re-render without re-running with <code>implicit-bias report DIR</code>.</footer>")
    return ('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="generator" content="implicit-bias">\n'
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n"
            '<body data-images-loaded="pending">\n<div class="page">\n' + "\n".join(body)
            + f"\n</div>\n<script>{IMAGE_CHECK_JS}</script>\n</body>\n</html>\n")


def write_report(run_dirs: list[Path], out_dir: Path, *, title: str = "implicit-bias: reproduced results") -> Path:
    """Write ``out_dir/index.html`` reporting every run in ``run_dirs``; returns its path.

    The page is self-contained (figures embedded as base64 PNG, CSS inline), so it can be
    mailed or archived alone; it also links each figure's PNG and PDF relative to
    ``out_dir``. Raises InputError if a directory is not a run.
    """
    out_dir = Path(out_dir)
    views = load_runs(list(run_dirs))
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(out_dir / "index.html", render_page(views, out_dir, title))


def render_run(run_dir: Path) -> Path:
    """Regenerate ``run_dir/index.html`` from what the run directory holds (nothing is re-run)."""
    run_dir = Path(run_dir)
    views = load_runs([run_dir])
    return write_text_atomic(run_dir / "index.html", render_page(views, run_dir, f"implicit-bias: {views[0].name}"))
