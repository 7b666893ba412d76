"""The GPU suite in one go: the sweep benchmark to M = 16384, the heavy full-mode entries, the cost curves; one JSON.

    benchmarks/gpu-suite [--out DIR] [--budget SECONDS] [--no-costs] [--dry-run]

Stages run one after another, each in its own process (a crash, an out-of-memory or a stage that runs past
its share of the time budget is recorded, and the suite goes on): ``bench`` (``implicit-bias bench --device
gpu`` to M = 16384), one stage per entry (``get_entry(name)`` and ``run_entry(entry, entry.full)`` after
``select_device("gpu")``), then ``costs`` (the quick cost curves and the memory-per-configuration check).
Everything lands in DIR/gpu-suite.json: every timing, compile time, fraction of the floor and claim verdict
(claims carry their kind and are counted by kind), and the targets with whether each was met.
``--dry-run`` runs every stage on the CPU at tiny sizes (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ENTRIES = ("random-labels", "deep-matrix-completion", "lazy-vs-rich", "kernel-vs-rich")
#: the dry run's configurations: each entry's quick config with these fields replaced (where it has them).
TINY_OVERRIDES = {
    "random-labels": dict(n_train=100, n_test=100, width=32, steps=200, n_random_sets=2, n_seeds=1),
    "deep-matrix-completion": dict(size=12, rank=1, n_observed=(40, 100), few=40, many=100, depths=(1, 2, 3), steps=200,
                                   n_records=8, step_check=()),
    "lazy-vs-rich": dict(n_samples=10, n_test=20, width=16, output_scales=(0.1, 1.0, 10.0), widths=(8, 16), steps=100),
    "kernel-vs-rich": dict(n_samples=6, n_features=12, sparsity=1, init_scales=(1e-2, 1.0, 10.0), depths=(2,),
                           deep_init_scales=(1.0,)),
}
#: the targets for a GPU run (benchmarks/README.md).
SPEEDUP_TARGET, FLOOR_TARGET, FLOOR_FROM_M, CATALOG_TARGET_S = 1e4, 2.0, 4096, 600.0


def tiny_config(entry):
    """The entry's quick config shrunk with dataclasses.replace (only fields the config has)."""
    fields = {f.name for f in dataclasses.fields(entry.quick)}
    return dataclasses.replace(entry.quick, **{k: v for k, v in TINY_OVERRIDES.get(entry.name, {}).items() if k in fields})


def _jsonable(x):
    import math

    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if x is None or isinstance(x, str):
        return x
    return str(x)


def run_stage(stage: str, dry_run: bool) -> dict:
    """One stage in this process: ``bench``, ``costs`` or ``entry:<name>``."""
    from implicit_bias.cli_support import select_device

    device = "cpu" if dry_run else "gpu"
    select_device(device)
    say = lambda msg: print(f"[{stage}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    if stage == "bench":
        from implicit_bias.bench import run_benchmark

        return run_benchmark(device=device, quick=False, max_configs=16384, tiny=dry_run, progress=say)
    if stage == "costs":
        from implicit_bias.bench_costs import run_costs

        axes = ("d", "M", "flow") if dry_run else ("d", "n", "T", "M", "flow", "memory")
        return run_costs(device=device, quick=not dry_run, tiny=dry_run, progress=say, axes=axes)
    from implicit_bias.cli_support import run_entry
    from implicit_bias.experiments import get_entry

    entry = get_entry(stage.split(":", 1)[1])
    config = tiny_config(entry) if dry_run else entry.full
    result = run_entry(entry, config)
    return {"entry": entry.name, "config": dataclasses.asdict(config), "wall_seconds": result.wall_time,
            "compile": {**result.compile_summary(), "seconds": list(result.compile_seconds)},
            "claims": [{**c.to_dict(), "verdict": result.status(c)} for c in result.claims],
            "counts": {k: {"hold": h, "total": t} for k, (h, t) in result.counts().items()},
            "established": result.established, "all_hold": result.all_hold, "verdict": result.verdict()}


def _summary(stages: dict, wall: float) -> dict:
    """Claim counts by kind, the per-configuration PyTorch comparison, the floor and the catalog time against the targets."""
    counts = {k: {"hold": 0, "total": 0} for k in ("result", "guard", "sanity")}
    not_established = 0
    entry_seconds = 0.0
    for name, st in stages.items():
        if name.startswith("entry:") and st.get("status") == "ok":
            entry_seconds += st["data"]["wall_seconds"]
            for c in st["data"]["claims"]:
                counts[c["kind"]]["total"] += 1
                counts[c["kind"]]["hold"] += c["verdict"] == "holds"
                not_established += c["verdict"] == "not established"
    bench = stages.get("bench", {}).get("data") or {}
    engine = [r for r in bench.get("rows", []) if str(r.get("variant", "")).startswith("engine-")]
    speedups = [r["speedup_vs_torch_loop"] for r in engine if r.get("speedup_vs_torch_loop")]
    big = [r["fraction_of_floor"] for r in engine if r["M"] >= FLOOR_FROM_M]
    entries_ok = all(stages.get(f"entry:{e}", {}).get("status") == "ok" for e in ENTRIES)
    targets = {
        "speedup_vs_torch_loop": {"target": SPEEDUP_TARGET, "best": max(speedups, default=None),
                                  "met": bool(speedups) and max(speedups) >= SPEEDUP_TARGET},
        "fraction_of_floor_from_M_4096": {"target": FLOOR_TARGET, "worst": max(big, default=None),
                                          "met": bool(big) and max(big) <= FLOOR_TARGET},
        "heavy_entries_seconds": {"target": CATALOG_TARGET_S, "seconds": entry_seconds,
                                  "met": entries_ok and entry_seconds <= CATALOG_TARGET_S,
                                  "note": "the four heaviest full-mode entries; the whole catalog: implicit-bias reproduce"},
    }
    return {"claims": counts, "not_established": not_established, "targets": targets, "wall_seconds": wall,
            "stages_failed": [k for k, v in stages.items() if v.get("status") != "ok"]}


def run_suite(out: Path, budget: float, dry_run: bool, costs: bool, entries=ENTRIES) -> dict:
    """Every stage in a child process, each given what is left of ``budget`` (less 20 s per later stage)."""
    out.mkdir(parents=True, exist_ok=True)
    names = ["bench"] + [f"entry:{e}" for e in entries] + (["costs"] if costs else [])
    start = time.perf_counter()
    stages: dict = {}
    env = {**os.environ}
    if dry_run:
        env["JAX_PLATFORMS"] = "cpu"
    report = {"suite": {"dry_run": dry_run, "budget_seconds": budget, "stages": names, "python": sys.version.split()[0],
                        "platform": platform.platform(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")},
              "stages": stages}
    for i, name in enumerate(names):
        left = budget - (time.perf_counter() - start) - 20.0 * (len(names) - i - 1)
        if left < 10:
            stages[name] = {"status": "skipped", "reason": "time budget spent"}
            continue
        part = out / f"stage-{name.replace(':', '-')}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", name, "--stage-out", str(part)]
        cmd += ["--dry-run"] if dry_run else []
        t0 = time.perf_counter()
        print(f"== {name} (up to {left:.0f} s)", file=sys.stderr, flush=True)
        try:
            proc = subprocess.run(cmd, env=env, timeout=left, stderr=subprocess.PIPE, text=True)
            seconds = time.perf_counter() - t0
            if proc.returncode == 0 and part.exists():
                stages[name] = {"status": "ok", "seconds": seconds, "data": json.loads(part.read_text())}
            else:
                stages[name] = {"status": "failed", "seconds": seconds, "exit_code": proc.returncode,
                                "stderr_tail": proc.stderr[-3000:]}
            sys.stderr.write(proc.stderr[-2000:] if proc.returncode else "")
        except subprocess.TimeoutExpired:
            stages[name] = {"status": "timed out", "seconds": time.perf_counter() - t0}
        report["summary"] = _summary(stages, time.perf_counter() - start)
        (out / "gpu-suite.json").write_text(json.dumps(_jsonable(report), indent=2))  # after every stage
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu-suite", help="output folder (gpu-suite.json and one file per stage)")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for the whole suite (default 480)")
    parser.add_argument("--no-costs", action="store_true", help="skip the cost curves")
    parser.add_argument("--entry", action="append", choices=ENTRIES, help="only these entries (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="every stage on the CPU at tiny sizes")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--stage-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        data = run_stage(args.stage, args.dry_run)
        Path(args.stage_out).write_text(json.dumps(_jsonable(data)))
        return 0
    report = run_suite(Path(args.out), args.budget, args.dry_run, not args.no_costs, tuple(args.entry or ENTRIES))
    s = report["summary"]
    print(json.dumps({"claims": s["claims"], "targets": s["targets"], "stages_failed": s["stages_failed"],
                      "wall_seconds": round(s["wall_seconds"], 1)}, indent=2))
    print(f"written: {Path(args.out) / 'gpu-suite.json'}", file=sys.stderr)
    return 1 if s["stages_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
