"""Run directories (JSON + Parquet + figures) and DuckDB queries over them.

    paths = write_run(result, "runs/min-norm-regression", entry=entry.meta())
    result = read_run("runs/min-norm-regression")
    failing = query_runs(["runs"], where="n_failed > 0")

See :mod:`implicit_bias.store.run_dir` for the directory layout and
:mod:`implicit_bias.store.query` for the tables. Imports only ``implicit_bias.results``,
``implicit_bias.errors`` and ``implicit_bias.plotting`` from the package.
"""

from implicit_bias.store.query import connect, query_runs, sql
from implicit_bias.store.run_dir import find_runs, read_entry_meta, read_run, write_run
from implicit_bias.store.serialize import fingerprint, to_jsonable

__all__ = ["write_run", "read_run", "read_entry_meta", "find_runs", "query_runs", "sql", "connect",
           "fingerprint", "to_jsonable"]
