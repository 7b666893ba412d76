"""The run store: round trips, refusing to clobber other runs, atomic writes, DuckDB queries."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from implicit_bias.errors import InputError
from implicit_bias.plotting import new_figure
from implicit_bias.results import Claim, Result, at_least, at_most, close_to, is_true
from implicit_bias.store import (
    check_run_dir,
    find_runs,
    query_runs,
    read_entry_meta,
    read_run,
    sql,
    to_jsonable,
    write_run,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENTRY = {"name": "demo", "summary": "a demo", "description": "One. Two.", "paper": "Someone 2024"}


def make_result(experiment: str = "demo", *, failing: bool = True, depth: int = 2, figures: int = 0) -> Result:
    """A hand-made Result: (if failing) a failed claim and a NaN measurement, metrics with an
    extra column, and 0, 1 or 2 figures (the second with a dot in its name)."""
    claims = [at_most("gap <= 1e-8", 3e-11, 1e-8),
              close_to("slope ≈ −1", -0.98, -1.0, 0.05, note="log-log fit"),
              is_true("converged", True, kind="guard")]
    if failing:
        claims += [close_to("NaN measured", float("nan"), 0.0, 1.0), at_least("margin >= 1", 0.5, 1.0, kind="guard")]
    steps = np.array([1, 10, 100], dtype=float)
    metrics = pd.DataFrame({"series": ["gd"] * 3 + ["flow"] * 3, "config": [0, 0, 0, 1, 1, 1],
                            "step": np.r_[steps, steps], "metric": "loss",
                            "value": [1.0, 0.1, 0.01, 1.0, 0.2, float("inf")],
                            "step_size": [0.1] * 3 + [0.2] * 3})
    fig, ax = new_figure(width=3.2, height=2.1)
    ax.plot(steps, 1 / steps, label="gd")
    config = {"depth": np.int64(depth), "init_scale": np.float32(0.5), "sizes": (20, 100), "name": "x",
              "grid": np.array([0.1, 1.0])}
    figures = dict(list({"loss": fig, "alpha_0.1": fig}.items())[:figures])
    return Result(experiment, config, claims, metrics, figures, wall_time=1.25,
                  notes=["a note", "another <note>"])


def test_round_trip(tmp_path):
    result = make_result(figures=2)
    paths = write_run(result, tmp_path / "run", entry=ENTRY)
    names = [p.relative_to(tmp_path / "run").as_posix() for p in paths]
    assert names == ["config.json", "claims.json", "metrics.parquet", "figures/loss.png", "figures/loss.pdf",
                     "figures/alpha_0.1.png", "figures/alpha_0.1.pdf"]
    back = read_run(tmp_path / "run")
    assert back.experiment == "demo" and back.wall_time == 1.25 and back.notes == result.notes
    assert back.config == {"depth": 2, "init_scale": 0.5, "sizes": [20, 100], "name": "x", "grid": [0.1, 1.0]}
    assert [c.to_dict() for c in back.claims] == [c.to_dict() for c in result.claims]
    assert math.isnan(back.claims[3].measured) and not back.claims[3].holds
    assert back.n_failed == result.n_failed == 2
    pd.testing.assert_frame_equal(back.metrics, result.metrics, check_dtype=False)
    assert list(back.figures) == ["loss", "alpha_0.1"]
    assert all(p.read_bytes().startswith(PNG_SIGNATURE) for p in back.figures.values())
    assert read_entry_meta(tmp_path / "run") == ENTRY
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert set(record) >= {"experiment", "config", "entry", "wall_time", "created", "versions", "notes",
                           "figures", "fingerprint"}
    assert set(record["versions"]) >= {"python", "jax", "numpy", "implicit_bias"}
    assert len(record["fingerprint"]) == 64


def test_no_metrics_and_figures_given_as_paths(tmp_path):
    first = make_result(figures=1)
    write_run(first, tmp_path / "a")
    again = read_run(tmp_path / "a")  # figures are now paths to PNGs
    again.metrics = None
    paths = write_run(again, tmp_path / "b")
    assert not (tmp_path / "b" / "metrics.parquet").exists()
    assert (tmp_path / "b" / "figures" / "loss.pdf").exists()
    assert read_run(tmp_path / "b").metrics is None
    write_run(read_run(tmp_path / "b"), tmp_path / "b")  # re-rendering in place: the files are already there
    assert (tmp_path / "b" / "figures" / "loss.png").read_bytes().startswith(PNG_SIGNATURE)
    assert len(paths) == 2 + 2


def test_refuses_a_different_run_unless_forced(tmp_path):
    out = tmp_path / "run"
    write_run(make_result(depth=2), out)
    with pytest.raises(InputError, match=r"holds a different run \(demo\); use --force to overwrite"):
        write_run(make_result(depth=3), out)
    assert read_run(out).config["depth"] == 2  # untouched
    write_run(make_result("other", depth=3, failing=False), out, force=True)
    back = read_run(out)
    assert back.experiment == "other" and back.config["depth"] == 3 and back.all_hold


def test_same_fingerprint_is_a_rerun(tmp_path):
    out = tmp_path / "run"
    write_run(make_result(figures=2), out)
    assert (out / "figures" / "alpha_0.1.png").exists()
    before = json.loads((out / "config.json").read_text())["fingerprint"]
    rerun = make_result(figures=2)
    rerun.wall_time = 9.0
    rerun.figures.pop("alpha_0.1")
    write_run(rerun, out)
    assert read_run(out).wall_time == 9.0
    assert json.loads((out / "config.json").read_text())["fingerprint"] == before
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["loss.pdf", "loss.png"]  # stale figure gone


def test_the_early_check_and_the_write_agree_on_what_a_rerun_is(tmp_path):
    """check_run_dir (the CLI asks it before any work) and write_run use one fingerprint: a configuration
    dataclass with tuples and an infinite setting is a re-run of the run written from its asdict."""
    @dataclasses.dataclass(frozen=True)
    class Config:
        tolerance: float = float("inf")
        sizes: tuple = (20, 100)

    out = tmp_path / "run"
    assert check_run_dir(out, "demo", Config()) is False  # nothing there yet
    write_run(Result("demo", dataclasses.asdict(Config()), [is_true("ok", True)]), out)
    assert check_run_dir(out, "demo", Config()) is True
    with pytest.raises(InputError, match=r"holds a different run \(demo\)"):
        check_run_dir(out, "demo", Config(tolerance=1.0))
    assert check_run_dir(out, "demo", Config(tolerance=1.0), force=True) is True
    assert json.loads((out / "config.json").read_text())["experiment"] == "demo"  # the check never writes
    (out / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable; use --force"):
        check_run_dir(out, "demo", Config())


def test_refuses_a_non_run_directory_unless_forced(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(InputError, match="not a run directory"):
        write_run(make_result(), tmp_path)
    write_run(make_result(), tmp_path, force=True)
    assert (tmp_path / "mine.txt").read_text() == "precious"
    assert find_runs([tmp_path]) == [tmp_path]


def test_interrupted_json_write_leaves_no_claims_file(tmp_path, monkeypatch):
    real_dump = json.dump

    def broken_dump(obj, fh, **kwargs):
        if isinstance(obj, list):  # the claims: write half, then get interrupted
            fh.write('[{"name": "gap')
            raise KeyboardInterrupt
        return real_dump(obj, fh, **kwargs)

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(KeyboardInterrupt):
        write_run(make_result(), tmp_path / "run")
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert "claims.json" not in files and "config.json" not in files
    assert not [f for f in files if f.endswith(".tmp")]
    assert find_runs([tmp_path]) == []


def test_interrupted_parquet_write_keeps_the_old_run(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    out = tmp_path / "run"
    write_run(make_result(), out)
    old_claims = (out / "claims.json").read_bytes()
    old_metrics = (out / "metrics.parquet").read_bytes()

    def broken_write(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken_write)
    with pytest.raises(OSError, match="disk full"):
        write_run(make_result(), out)
    assert (out / "claims.json").read_bytes() == old_claims
    assert (out / "metrics.parquet").read_bytes() == old_metrics
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_to_jsonable_handles_numpy_tuples_and_non_finite():
    value = {"a": (1, np.int32(2)), "b": np.float64("inf"), "c": float("nan"), 3: np.array([[1.0]]),
             "d": np.bool_(True), "e": Path("x/y")}
    assert to_jsonable(value) == {"a": [1, 2], "b": "inf", "c": None, "3": [[1.0]], "d": True, "e": "x/y"}
    json.dumps(to_jsonable(value), allow_nan=False)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("store") / "runs"
    write_run(make_result("passing", failing=False), root / "passing", entry=ENTRY)
    write_run(make_result("failing", failing=True), root / "nested" / "failing", entry=ENTRY)
    (root / "not-a-run").mkdir()
    return root


def test_find_runs_is_recursive(two_runs):
    assert [p.name for p in find_runs([two_runs])] == ["failing", "passing"]
    with pytest.raises(InputError, match="no such directory"):
        find_runs([two_runs / "missing"])


def test_query_runs_where_a_claim_failed(two_runs):
    everything = query_runs([two_runs])
    assert sorted(everything["experiment"]) == ["failing", "passing"]
    assert set(everything.columns) >= {"run_dir", "experiment", "wall_time", "created", "n_claims", "n_failed",
                                       "all_hold", "fingerprint", "config"}
    failed = query_runs([two_runs], where="n_failed > 0")
    assert list(failed["experiment"]) == ["failing"]
    assert failed["n_failed"].tolist() == [2] and failed["n_claims"].tolist() == [5]
    assert not failed["all_hold"].iloc[0]
    assert json.loads(failed["config"].iloc[0])["depth"] == 2
    ordered = query_runs([two_runs], where="experiment = 'passing' ORDER BY wall_time")
    assert list(ordered["experiment"]) == ["passing"]
    by_config = query_runs([two_runs], where="(config->>'depth')::INT = 2 AND NOT all_hold")
    assert list(by_config["experiment"]) == ["failing"]


def test_runs_count_results_guards_and_sanity_apart(two_runs):
    runs = query_runs([two_runs], where="true ORDER BY experiment")
    assert runs["established"].tolist() == [False, True]  # "failing" has a failed guard
    assert runs["n_results"].tolist() == [3, 2] and runs["n_results_holding"].tolist() == [2, 2]
    assert runs["n_guards"].tolist() == [2, 1] and runs["n_guards_holding"].tolist() == [1, 1]
    assert runs["n_sanity"].tolist() == [0, 0]
    kinds = sql([two_runs], "SELECT kind, count(*) AS n FROM claims WHERE experiment = 'failing' GROUP BY kind "
                            "ORDER BY kind")
    assert kinds.to_dict("list") == {"kind": ["guard", "result"], "n": [2, 3]}
    back = read_run(two_runs / "nested" / "failing")
    assert [c.kind for c in back.claims] == ["result", "result", "guard", "result", "guard"]


def test_sql_over_claims_and_metrics(two_runs):
    claims = sql([two_runs], "SELECT experiment, name, measured FROM claims WHERE NOT holds ORDER BY experiment, name")
    assert claims["experiment"].tolist() == ["failing", "failing"]
    assert claims["name"].tolist() == ["NaN measured", "margin >= 1"]
    assert claims["measured"].isna().tolist() == [True, False]  # NaN is NULL in SQL
    metrics = sql([two_runs], "SELECT experiment, count(*) AS n, max(step_size) AS h FROM metrics "
                              "GROUP BY experiment ORDER BY experiment")
    assert metrics.to_dict("list") == {"experiment": ["failing", "passing"], "n": [6, 6], "h": [0.2, 0.2]}


def test_bad_sql_is_an_input_error(two_runs):
    with pytest.raises(InputError, match="bad --where clause") as err:
        query_runs([two_runs], where="n_failed >")
    assert "\n" not in str(err.value)
    with pytest.raises(InputError):
        query_runs([two_runs], where="no_such_column = 1")
    with pytest.raises(InputError, match="bad SQL"):
        sql([two_runs], "SELECT * FROM nowhere")


def test_queries_over_no_runs_are_empty(tmp_path):
    assert len(query_runs([tmp_path])) == 0
    assert len(sql([tmp_path], "SELECT * FROM metrics")) == 0


def test_claims_from_dict_keeps_infinities(tmp_path):
    result = Result("inf", {}, [Claim("unbounded", float("inf"), 1.0, 0.0, "<=")])
    write_run(result, tmp_path / "r")
    (claim,) = read_run(tmp_path / "r").claims
    assert claim.measured == float("inf") and not claim.holds
