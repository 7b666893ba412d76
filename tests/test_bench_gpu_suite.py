"""The GPU suite: its dry run (every stage on the CPU at tiny sizes) writes one JSON of the promised shape."""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "benchmarks"


def _suite_module():
    spec = importlib.util.spec_from_file_location("gpu_suite", SUITE / "gpu_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry(name):
    return importlib.import_module(f"implicit_bias.experiments.{name.replace('-', '_')}").ENTRY


def test_tiny_configs_shrink_the_quick_configs():
    suite = _suite_module()
    for name in suite.ENTRIES:
        entry = _entry(name)
        tiny = suite.tiny_config(entry)
        assert entry.name == name and type(tiny) is type(entry.quick) and tiny != entry.quick
    assert suite.tiny_config(_entry("deep-matrix-completion")).size == 12


def test_summary_counts_claims_by_kind_and_checks_the_targets():
    suite = _suite_module()
    claim = lambda kind, verdict: {"kind": kind, "verdict": verdict}  # noqa: E731
    stages = {"bench": {"status": "ok", "data": {"rows": [
        {"variant": "engine-float32", "M": 16384, "speedup_vs_torch_loop": 3e4, "fraction_of_floor": 1.5},
        {"variant": "engine-float64", "M": 4096, "speedup_vs_torch_loop": 1e4, "fraction_of_floor": 2.5},
        {"variant": "torch-loop", "M": 4096, "fraction_of_floor": 60.0}]}}}
    for e in suite.ENTRIES:
        stages[f"entry:{e}"] = {"status": "ok", "data": {"wall_seconds": 100.0, "claims": [
            claim("result", "holds"), claim("guard", "holds"), claim("result", "FAILS"), claim("sanity", "holds")]}}
    s = suite._summary(stages, 500.0)
    assert s["claims"] == {"result": {"hold": 4, "total": 8}, "guard": {"hold": 4, "total": 4},
                           "sanity": {"hold": 4, "total": 4}}
    t = s["targets"]
    assert t["speedup_vs_torch_loop"]["met"] and t["speedup_vs_torch_loop"]["best"] == 3e4
    assert not t["fraction_of_floor_from_M_4096"]["met"] and t["fraction_of_floor_from_M_4096"]["worst"] == 2.5
    assert t["heavy_entries_seconds"]["met"] and t["heavy_entries_seconds"]["seconds"] == 400.0
    assert s["stages_failed"] == []


@pytest.mark.slow
def test_dry_run_writes_one_json_with_every_stage(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([str(SUITE / "gpu-suite"), "--dry-run", "--out", str(tmp_path), "--budget", "1500"],
                          env={**env, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=1600)
    report = json.loads((tmp_path / "gpu-suite.json").read_text())
    stages = report["stages"]
    assert proc.returncode == 0, {k: v.get("stderr_tail", v.get("status")) for k, v in stages.items()}
    assert report["suite"]["dry_run"] is True
    assert list(stages) == ["bench"] + [f"entry:{e}" for e in _suite_module().ENTRIES] + ["costs"]
    assert all(st["status"] == "ok" and st["seconds"] > 0 for st in stages.values())
    bench = stages["bench"]["data"]
    engine = [r for r in bench["rows"] if r["variant"].startswith("engine-")]
    assert engine and all(r["seconds"] > 0 and r["compile_seconds"] >= 0 and r["fraction_of_floor"] > 0 for r in engine)
    assert all(r["products_ratio_to_numpy"] > 0 and isinstance(r["kernel_limited"], bool) for r in engine)
    assert bench["chunking"]["chunks"] > 1 and bench["chunking"]["chunk_fits_budget"]
    for e in _suite_module().ENTRIES:
        data = stages[f"entry:{e}"]["data"]
        assert data["wall_seconds"] > 0 and data["compile"]["programs"] >= 1
        assert data["claims"] and all(c["kind"] in ("result", "guard", "sanity") and
                                      c["verdict"] in ("holds", "FAILS", "not established") for c in data["claims"])
        assert sum(v["total"] for v in data["counts"].values()) == len(data["claims"])
    costs = stages["costs"]["data"]["axes"]
    assert set(costs) == {"d", "M", "flow"}
    summary = report["summary"]
    assert sum(v["total"] for v in summary["claims"].values()) == sum(
        len(stages[f"entry:{e}"]["data"]["claims"]) for e in _suite_module().ENTRIES)
    assert set(summary["targets"]) == {"speedup_vs_torch_loop", "fraction_of_floor_from_M_4096", "heavy_entries_seconds"}
