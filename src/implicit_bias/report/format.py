"""What the report and the summary table show: runs read back, numbers and times as text.

Shared by the HTML page and the plain-text table so both say the same thing: numbers
with 4 significant digits, relations as symbols, verdicts as words ("holds" / "FAILS",
never colour alone), durations in s / min / h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from implicit_bias.results import Claim, Result, claim_status, verdict_text
from implicit_bias.store.run_dir import read_config, read_entry_meta, read_run

#: How each relation reads (measured RELATION expected).
RELATION_TEXT = {"<=": "≤", ">=": "≥", "~=": "≈", "==": "="}
RELATION_ASCII = {"<=": "<=", ">=": ">=", "~=": "~=", "==": "=="}


@dataclass
class RunView:
    """One run directory as the report sees it: the Result, its entry metadata and record."""

    run_dir: Path
    result: Result
    meta: dict[str, str]
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.result.experiment

    @property
    def ok(self) -> bool:
        """Every claim holds (so every guard holds and every result is established)."""
        return self.result.n_failed == 0

    def badge_text(self) -> str:
        """``"5/5 results"``, or ``"results not established"`` when a guard fails."""
        held, total = self.result.counts()["result"]
        if not self.result.established:
            return "results not established"
        return f"{held}/{total} results"


def load_runs(run_dirs: list[Path] | list[str]) -> list[RunView]:
    """Read every run directory (InputError if one is not a run)."""
    views = []
    for run_dir in map(Path, run_dirs):
        views.append(RunView(run_dir, read_run(run_dir), read_entry_meta(run_dir), read_config(run_dir)))
    return views


def verdict_line(views: list[RunView]) -> str:
    """``"20 of 20 results hold, 9 of 9 guards, 3 of 3 sanity checks across 5 experiments"``.

    Results, guards and sanity checks are counted apart; the results of a run whose guard
    fails count as not established (see :func:`implicit_bias.results.verdict_text`).
    """
    n = len({v.name for v in views})
    return f"{verdict_text([v.result for v in views])} across {n} experiment{'s' if n != 1 else ''}"


def fmt_number(x: float, digits: int = 4) -> str:
    """``x`` with ``digits`` significant digits; NaN -> "NaN", ±inf -> "∞"/"−∞"."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}e{int(exp)}"
    return text


def claim_cells(claim: Claim, established: bool = True) -> dict[str, str]:
    """The table cells of one claim: kind, measured, relation, expected, tolerance, verdict.

    The verdict of a result claim is "not established" when ``established`` is False (a guard
    of its run fails), whatever its own measurement says.
    """
    if claim.relation == "==":
        def as_bool(v: float) -> str:
            return "NaN" if math.isnan(v) else ("true" if v == 1.0 else "false" if v == 0.0 else fmt_number(v))

        measured, expected, tolerance = as_bool(claim.measured), as_bool(claim.expected), "—"
    else:
        measured, expected = fmt_number(claim.measured), fmt_number(claim.expected)
        tolerance = "—" if claim.relation in ("<=", ">=") and claim.tolerance == 0 else fmt_number(claim.tolerance)
        if claim.relation == "~=":
            tolerance = f"±{tolerance}"
    return {"kind": claim.kind, "measured": measured, "relation": RELATION_TEXT.get(claim.relation, claim.relation),
            "expected": expected, "tolerance": tolerance, "verdict": claim_status(claim, established)}


def fmt_duration(seconds: float) -> str:
    """``0.42`` -> "0.42 s", ``75`` -> "1 min 15 s", ``3725`` -> "1 h 02 min"."""
    s = float(seconds or 0.0)
    if not math.isfinite(s) or s < 0:
        return "—"
    if s < 10:
        return f"{s:.2g} s" if s < 1 else f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        minutes, rest = divmod(int(round(s)), 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(int(round(s)), 3600)
    return f"{hours} h {rest // 60:02d} min"


def fmt_time(stamp: object) -> str:
    """``"2026-01-02T03:04:05Z"`` -> ``"2026-01-02 03:04 UTC"`` (other text is returned as is)."""
    text = str(stamp)
    if len(text) >= 16 and text[10] == "T" and text.endswith("Z"):
        return f"{text[:10]} {text[11:16]} UTC"
    return text


def versions_of(views: list[RunView]) -> dict[str, str]:
    """Software versions and machine across the runs; differing values are joined with " / "."""
    merged: dict[str, list[str]] = {}
    for v in views:
        info = {**(v.record.get("versions") or {}), **(v.record.get("machine") or {})}
        for key, value in info.items():
            if value is None:
                continue
            seen = merged.setdefault(key, [])
            if str(value) not in seen:
                seen.append(str(value))
    return {k: " / ".join(vals) for k, vals in merged.items()}
