"""The plain-text summary of every claim: for the terminal and for ``summary.txt``.

One block per run: a heading with the experiment, its verdict and wall time, then one
line per claim with the verdict first and the (possibly long) claim name last, so the
columns stay aligned however long the names are. Numbers are ASCII (``inf``, ``+-0.05``);
claim names are printed as they are, unescaped.

    max-margin: 14 of 14 results hold, 5 of 5 guards (1 min 54 s)  [results/max-margin]
      verdict  kind      measured  rel  expected  tolerance  claim
      holds    result     -0.9225   ~=        -1      +-0.1  GD exp: loss ~ t^slope over the last decade of t
      holds    guard     2.011e-7   <=      1e-6          -  flow exp: ODE solver finished
      ...
    40 of 40 results hold, 8 of 8 guards, 2 of 2 sanity checks across 3 experiments (total wall time 4 min 39 s)

A result claim of a run whose guard fails reads "not established", never "holds".
"""

from __future__ import annotations

from pathlib import Path

from implicit_bias.report.format import RELATION_ASCII, RunView, claim_cells, fmt_duration, load_runs, verdict_line

_COLUMNS = ("verdict", "kind", "measured", "rel", "expected", "tolerance", "claim")


def _ascii(text: str) -> str:
    return text.replace("∞", "inf").replace("−", "-").replace("—", "-").replace("±", "+-")


def _rows(view: RunView) -> list[tuple[str, ...]]:
    rows = []
    established = view.result.established
    for claim in view.result.claims:
        cells = claim_cells(claim, established)
        rows.append((cells["verdict"], cells["kind"], _ascii(cells["measured"]), RELATION_ASCII.get(claim.relation, claim.relation),
                     _ascii(cells["expected"]), _ascii(cells["tolerance"]), claim.name))
    return rows


def format_summary(views: list[RunView]) -> str:
    """The summary table of already-loaded runs."""
    all_rows = [_rows(v) for v in views]
    widths = [len(c) for c in _COLUMNS[:-1]]
    for rows in all_rows:
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row[:-1])]

    def line(cells: tuple[str, ...]) -> str:
        left = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])] + [c.rjust(w) for c, w in
                                                                         zip(cells[2:-1], widths[2:])]
        return ("  " + "  ".join(left) + "  " + cells[-1]).rstrip()

    out: list[str] = []
    for view, rows in zip(views, all_rows):
        verdict = view.result.verdict()
        if view.result.n_failed:
            verdict += f"; {view.result.n_failed} claim{'s' if view.result.n_failed != 1 else ''} FAIL"
        out.append(f"{view.name}: {verdict} ({fmt_duration(view.result.wall_time)})  [{view.run_dir}]")
        if rows:
            out.append(line(_COLUMNS))
            out += [line(r) for r in rows]
        else:
            out.append("  (no claims)")
        for note in view.result.notes:
            out.append(f"  note: {note}")
        out.append("")
    total = sum(v.result.wall_time for v in views)
    out.append(f"{verdict_line(views)} (total wall time {fmt_duration(total)})" if views else "no runs")
    return "\n".join(out)


def summary_table(run_dirs: list[Path]) -> str:
    """A plain-text table of every claim of every run in ``run_dirs`` (no trailing newline)."""
    return format_summary(load_runs(list(run_dirs)))
