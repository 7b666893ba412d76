"""Sweeps from a grid spec: chunks of one compiled shape, run locally or as Ray tasks, kept in a run directory.

    spec = SweepSpec(model="diagonal", data="d.npz", steps=2000,
                     grid={"init_scale": "logspace(-4,0,64)", "step_size": "0.01", "seed": "0..3"},
                     references=("q-alpha",))
    summary = run_sweep(resolve(spec), "runs/my-sweep")

A run directory holds ``config.json``, ``chunks/`` (one Parquet table and one ``.npz`` of end-to-end
predictors per finished chunk), ``metrics.parquet/`` (one partition per chunk), ``final.parquet``,
``reference_<name>.npz`` and ``figures/sweep.png``. See :mod:`implicit_bias.sweep.store`.
"""

from implicit_bias.sweep.api import run_sweep
from implicit_bias.sweep.spec import ResolvedSweep, SweepSpec, load_spec_file, resolve

__all__ = ["SweepSpec", "ResolvedSweep", "resolve", "load_spec_file", "run_sweep"]
