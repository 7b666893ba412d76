"""SQL over run directories with DuckDB: the tables ``runs``, ``claims`` and ``metrics``.

Tables (built in memory from every run found under the given paths):

``runs``
    one row per run: run_dir, experiment, wall_time, created (ISO text), n_claims,
    n_failed, all_hold, fingerprint, config (JSON: ``config->>'depth'``), notes, n_figures,
    compile_programs, compile_total, compile_longest (seconds spent compiling engine programs),
    n_results, n_results_holding, n_guards, n_guards_holding, n_sanity, n_sanity_holding and
    established (every guard holds, so the results mean what they say).
``claims``
    one row per claim: run_dir, experiment, name, measured, expected, tolerance, relation,
    holds, note, kind (result | guard | sanity) (NaN measurements are NULL).
``metrics``
    a view over every ``metrics.parquet`` (columns united by name) with run_dir and
    experiment added: series, config, step, metric, value, <extra columns>.

Examples::

    query_runs(["runs"], where="n_failed > 0")                # runs where a claim failed
    query_runs(["runs"], where="NOT established")             # runs whose results a failed guard voids
    query_runs(["runs"], where="experiment = 'kernel-vs-rich' ORDER BY wall_time")
    query_runs(["runs"], where="compile_longest > 10")       # entries with a slow compilation
    query_runs(["runs"], where="run_dir IN (SELECT run_dir FROM claims WHERE name LIKE '%margin%')")
    sql(["runs"], "SELECT experiment, metric, min(value) FROM metrics GROUP BY ALL")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from implicit_bias.errors import InputError
from implicit_bias.results import CLAIM_KINDS, Result
from implicit_bias.store.run_dir import METRICS, find_runs, read_claims, read_config

_RUNS_DDL = """CREATE TABLE runs (run_dir VARCHAR, experiment VARCHAR, wall_time DOUBLE, created VARCHAR,
    n_claims INTEGER, n_failed INTEGER, all_hold BOOLEAN, fingerprint VARCHAR, config JSON,
    notes VARCHAR, n_figures INTEGER, compile_programs INTEGER, compile_total DOUBLE, compile_longest DOUBLE,
    n_results INTEGER, n_results_holding INTEGER, n_guards INTEGER, n_guards_holding INTEGER, n_sanity INTEGER,
    n_sanity_holding INTEGER, established BOOLEAN)"""
_CLAIMS_DDL = """CREATE TABLE claims (run_dir VARCHAR, experiment VARCHAR, name VARCHAR, measured DOUBLE,
    expected DOUBLE, tolerance DOUBLE, relation VARCHAR, holds BOOLEAN, note VARCHAR, kind VARCHAR)"""
_EMPTY_METRICS = """CREATE VIEW metrics AS SELECT NULL::VARCHAR AS series, NULL::BIGINT AS config,
    NULL::DOUBLE AS step, NULL::VARCHAR AS metric, NULL::DOUBLE AS value, NULL::VARCHAR AS run_dir,
    NULL::VARCHAR AS experiment WHERE false"""


def _compile_columns(record: dict) -> tuple:
    """(programs, total, longest) compile seconds of a run; NULLs for runs written before they were kept."""
    c = record.get("compile_seconds") or {}
    return (c.get("programs"), c.get("total"), c.get("longest"))


def _rows(runs: list[Path]) -> tuple[list[tuple], list[tuple], list[tuple[str, str, str]]]:
    run_rows, claim_rows, files = [], [], []
    for run in runs:
        record = read_config(run)
        claims = read_claims(run)
        name, where = record["experiment"], str(run)
        n_failed = sum(not c.holds for c in claims)
        counts = Result(name, {}, claims).counts()
        kinds = [n for k in CLAIM_KINDS for n in (counts[k][1], counts[k][0])]
        established = all(c.holds for c in claims if c.kind == "guard")
        run_rows.append((where, name, float(record.get("wall_time") or 0.0), record.get("created"),
                         len(claims), n_failed, n_failed == 0, record.get("fingerprint"),
                         json.dumps(record.get("config", {}), sort_keys=True),
                         "\n".join(map(str, record.get("notes", []))), len(record.get("figures", [])),
                         *_compile_columns(record), *kinds, established))
        for c in claims:
            claim_rows.append((where, name, c.name, c.measured, c.expected, c.tolerance, c.relation,
                               c.holds, c.note, c.kind))
        metrics = run / METRICS
        if metrics.is_dir():  # a sweep's metrics: one partition per chunk
            files.extend((str(part), where, name) for part in sorted(metrics.glob("*.parquet")))
        elif metrics.exists():
            files.append((str(metrics), where, name))
    return run_rows, claim_rows, files


def connect(paths: str | Path | Iterable[str | Path]) -> Any:
    """An in-memory DuckDB connection holding the tables runs, claims and metrics."""
    import duckdb
    import pandas as pd

    runs = find_runs(paths)
    run_rows, claim_rows, files = _rows(runs)
    con = duckdb.connect(":memory:")
    con.execute(_RUNS_DDL)
    con.execute(_CLAIMS_DDL)
    if run_rows:
        con.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * len(run_rows[0]))})", run_rows)
    if claim_rows:
        frame = pd.DataFrame(claim_rows, columns=["run_dir", "experiment", "name", "measured", "expected",
                                                  "tolerance", "relation", "holds", "note", "kind"])
        con.register("_claims_frame", frame)  # NaN measurements arrive as NULL
        con.execute("INSERT INTO claims SELECT * FROM _claims_frame")
        con.unregister("_claims_frame")
    if files:
        con.execute("CREATE TABLE _metric_files (_file VARCHAR, run_dir VARCHAR, experiment VARCHAR)")
        con.executemany("INSERT INTO _metric_files VALUES (?, ?, ?)", files)
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f, _, _ in files)
        con.execute(f"""CREATE VIEW metrics AS
            SELECT m.* EXCLUDE (_file), f.run_dir AS run_dir, f.experiment AS experiment
            FROM read_parquet([{listing}], filename = '_file', union_by_name = true) AS m
            JOIN _metric_files AS f USING (_file)""")
    else:
        con.execute(_EMPTY_METRICS)
    return con


def _error(err: Exception, what: str) -> InputError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return InputError(f"{what}: {first}")


def sql(paths: str | Path | Iterable[str | Path], query: str) -> Any:
    """Run any SQL ``query`` over the tables runs, claims and metrics; returns a DataFrame.

    Raises:
      InputError: the query is not valid SQL for these tables (DuckDB's message, one line).
    """
    import duckdb

    con = connect(paths)
    try:
        return con.execute(query).df()
    except duckdb.Error as err:
        raise _error(err, "bad SQL query") from None
    finally:
        con.close()


def query_runs(paths: str | Path | Iterable[str | Path], where: str | None = None) -> Any:
    """``SELECT * FROM runs [WHERE where]`` as a pandas DataFrame (rows sorted by run_dir unless ordered).

    ``where`` is an SQL condition on the runs table and may end with ORDER BY / LIMIT and
    use sub-queries on claims and metrics; for example ``"n_failed > 0"`` (runs where a
    claim failed) or ``"experiment = 'kernel-vs-rich' ORDER BY wall_time"``.

    Raises:
      InputError: ``where`` is not valid SQL (DuckDB's message, one line).
    """
    import duckdb

    query = "SELECT * FROM runs"  # rows were inserted sorted by run_dir; DuckDB keeps that order
    if where is not None and where.strip():
        query += f" WHERE {where.strip()}"
    con = connect(paths)
    try:
        return con.execute(query).df()
    except duckdb.Error as err:
        raise _error(err, f"bad --where clause {where!r}") from None
    finally:
        con.close()
