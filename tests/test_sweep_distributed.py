"""Sweeps on several devices and as Ray tasks give the numbers of a local run; a dead worker is retried."""

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from cli_helpers import call
from implicit_bias.sweep import SweepSpec, resolve, run_sweep

GRID = {"init_scale": "logspace(-3,0,16)", "step_size": "0.05", "seed": "0..3"}  # 64 configurations


@pytest.fixture(scope="module")
def data(sweep_data):
    return sweep_data


def _spec(data):
    return SweepSpec(model="diagonal", data=str(data), steps=100, grid=dict(GRID), references=("q-alpha",),
                     chunk_size=16, n_records=8)


def _local(data, out):
    run_sweep(resolve(_spec(data)), out, figure=False)
    return pd.read_parquet(out / "final.parquet")


def test_ray_missing_is_one_error_line(data, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    code, _, err = call(["sweep", "--data", data, "--model", "diagonal", "--steps", "100", "--grid", "step_size=0.05",
                         "--grid", "init_scale=0.1", "--ray", "local:2", "--out", tmp_path / "run"], capsys)
    assert code == 2 and err.startswith("error: --ray needs Ray") and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def _crash_once(job, chunk, hparams):
    """The chunk function, except that the worker running chunk 1 first dies (a lost node)."""
    from pathlib import Path

    from implicit_bias.sweep.task import run_chunk

    marker = Path(os.environ["SWEEP_TEST_MARKER"])
    if chunk.index == 1 and not marker.exists():
        marker.touch()
        os._exit(1)
    return run_chunk(job, chunk, hparams)


@pytest.mark.slow
def test_ray_sweep_survives_a_dead_worker_with_local_numbers(data, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the tests
    monkeypatch.setenv("SWEEP_TEST_MARKER", str(tmp_path / "crashed"))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    from implicit_bias.sweep import ray_backend

    monkeypatch.setattr(ray_backend, "_ENV", ray_backend._ENV + ("SWEEP_TEST_MARKER",))
    chunks = []
    summary = run_sweep(resolve(_spec(data)), tmp_path / "ray", ray="local:2", task=_crash_once, figure=False,
                        on_chunk=lambda out: chunks.append(out.chunk.index))
    assert (tmp_path / "crashed").exists()  # a worker did die
    assert sorted(chunks) == [0, 1, 2, 3] and summary["backend"] == "ray"  # each chunk written once
    table = pd.read_parquet(tmp_path / "ray" / "final.parquet")
    assert table["config"].tolist() == list(range(64))
    pd.testing.assert_frame_equal(table, _local(data, tmp_path / "local"), check_exact=True)


@pytest.mark.slow
def test_two_devices_give_the_numbers_of_one(data, tmp_path):
    script = textwrap.dedent(f"""
        import jax, pandas as pd
        from implicit_bias.sweep import SweepSpec, resolve, run_sweep
        assert jax.local_device_count() == 2
        spec = SweepSpec(model="diagonal", data={str(data)!r}, steps=100, grid={GRID!r}, references=("q-alpha",),
                         chunk_size=16, n_records=8)
        summary = run_sweep(resolve(spec), {str(tmp_path / "two")!r}, figure=False)
        assert summary["devices"] == 2 and summary["programs_compiled"] == 2, summary  # one program per device
    """)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    two = pd.read_parquet(tmp_path / "two" / "final.parquet")
    pd.testing.assert_frame_equal(two, _local(data, tmp_path / "one"), check_exact=True)
