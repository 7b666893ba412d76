"""How long the quick catalog takes, first with an empty compilation cache and again in a new process.

Each run is ``implicit-bias reproduce --quick`` in a fresh process with ``IMPLICIT_BIAS_CACHE`` pointing
at a fresh folder: the first run compiles every program and writes it to the persistent cache, the second
loads them. Compile seconds come from each entry's ``config.json`` (the engine's compile ledger; a program
loaded from the cache counts with its load time), so the compile share of each run is measured, not guessed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from implicit_bias.errors import InputError


def _compile_total(out: Path) -> tuple[float, float]:
    """(compile seconds, entry seconds) summed over the entries' run directories under ``out``."""
    compiled = inside = 0.0
    for cfg in out.glob("*/config.json"):
        record = json.loads(cfg.read_text())
        compiled += float((record.get("compile_seconds") or {}).get("total", 0.0))
        inside += float(record.get("wall_time") or 0.0)
    return compiled, inside


def time_catalog(only: list[str] | None = None, quick: bool = True, runs: int = 2) -> dict:
    """Wall time, compile seconds and compile share of ``runs`` catalog runs sharing one fresh cache.

    Returns {"entries", "runs": [{"run", "seconds", "compile_seconds", "entry_seconds", "compile_share",
    "exit_code"}]}; run 1 starts from an empty cache.
    """
    if runs < 1:
        raise InputError(f"runs must be positive, got {runs}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ib-catalog-") as tmp:
        env = {**os.environ, "IMPLICIT_BIAS_CACHE": str(Path(tmp) / "cache")}
        for i in range(1, runs + 1):
            out = Path(tmp) / f"run{i}"
            cmd = [sys.executable, "-m", "implicit_bias.cli", "reproduce", "--out", str(out)]
            cmd += ["--quick"] if quick else []
            for name in only or []:
                cmd += ["--only", name]
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if proc.returncode == 2:
                raise InputError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "reproduce failed")
            compiled, inside = _compile_total(out)
            rows.append({"run": i, "seconds": seconds, "compile_seconds": compiled, "entry_seconds": inside,
                         "compile_share": compiled / inside if inside > 0 else None, "exit_code": proc.returncode})
    return {"entries": list(only) if only else "all", "quick": quick, "runs": rows}


def format_catalog(table: dict) -> str:
    lines = [f"catalog ({'quick' if table['quick'] else 'full'}, entries: "
             f"{table['entries'] if isinstance(table['entries'], str) else ', '.join(table['entries'])})"]
    for r in table["runs"]:
        share = f"{100 * r['compile_share']:.0f} %" if r["compile_share"] is not None else "n/a"
        lines.append(f"  run {r['run']} ({'empty cache' if r['run'] == 1 else 'cache from run 1'}): "
                     f"{r['seconds']:.1f} s; compiling {r['compile_seconds']:.1f} s of {r['entry_seconds']:.1f} s "
                     f"inside the entries ({share}); exit {r['exit_code']}")
    return "\n".join(lines)
