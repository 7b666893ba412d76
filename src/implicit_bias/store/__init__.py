"""Run directories (JSON + Parquet + figures) and DuckDB queries over them.

    paths = write_run(result, "runs/min-norm-regression", entry=entry.meta())
    result = read_run("runs/min-norm-regression")
    failing = query_runs(["runs"], where="n_failed > 0")

See :mod:`implicit_bias.store.run_dir` for the directory layout and
:mod:`implicit_bias.store.query` for the tables. Imports only ``implicit_bias.results``,
``implicit_bias.encoding`` and ``implicit_bias.errors`` from the package.
"""

from implicit_bias.encoding import to_jsonable
from implicit_bias.store.figures import save_figure
from implicit_bias.store.query import connect, query_runs, sql
from implicit_bias.store.run_dir import check_run_dir, find_runs, read_entry_meta, read_run, write_run
from implicit_bias.store.serialize import fingerprint

__all__ = ["write_run", "check_run_dir", "read_run", "read_entry_meta", "find_runs", "query_runs", "sql",
           "connect", "fingerprint", "to_jsonable", "save_figure"]
