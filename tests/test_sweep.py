"""Sweeps: distances to per-configuration references, chunking, resume, refusal and bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from cli_helpers import call
from implicit_bias.references import get_reference
from implicit_bias.sweep import SweepSpec, resolve, run_sweep
from implicit_bias.sweep.spec import load_spec_file

GRID = {"init_scale": "logspace(-3,0,64)", "step_size": "0.05", "seed": "0..3"}  # 256 configurations


@pytest.fixture(scope="module")
def data(sweep_data):
    return sweep_data


def _spec(data, **kw):
    base = dict(model="diagonal", data=str(data), steps=100, grid=dict(GRID), references=("q-alpha",), chunk_size=64,
                n_records=8)
    return SweepSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def baseline(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("base") / "run"
    summary = run_sweep(resolve(_spec(data)), out)
    return out, summary, pd.read_parquet(out / "final.parquet")


def test_distances_match_each_configurations_q_alpha(data, baseline, tmp_path, capsys):
    out, summary, table = baseline
    assert len(table) == 256 and summary["computed"] == [0, 1, 2, 3]
    assert summary["programs_compiled"] <= 1  # four chunks, one compiled shape
    problem = resolve(_spec(data)).problem
    w = np.concatenate([np.load(out / "chunks" / f"chunk-{i:05d}.npz")["w"] for i in range(4)])
    q_alpha = get_reference("q-alpha")
    for i, row in table.iterrows():  # the reference solved for this configuration alone
        ref = q_alpha.compute(problem, init_scale=row["init_scale"]).solution
        assert abs(np.linalg.norm(w[i] - ref) / np.linalg.norm(ref) - row["dist_to_q_alpha"]) <= 1e-8
    # and through the command line, for one configuration
    row = table.iloc[77]
    code, _, err = call(["reference", "q-alpha", "--data", data, "--init-scale", repr(float(row["init_scale"])),
                         "--save", tmp_path / "ref.npz"], capsys)
    assert code == 0, err
    ref = np.load(tmp_path / "ref.npz")["w"]
    assert abs(np.linalg.norm(w[77] - ref) / np.linalg.norm(ref) - row["dist_to_reference"]) <= 1e-8
    with np.load(out / "reference_q-alpha.npz") as f:
        assert f["w"].shape == (64, 8) and len(f["config_reference"]) == 256  # one solve per distinct α
    assert (out / "figures" / "sweep.png").is_file()
    assert len(list((out / "metrics.parquet").glob("*.parquet"))) == 4
    record = json.loads((out / "config.json").read_text())
    assert record["status"] == "complete" and record["experiment"] == "sweep" and record["versions"]["numpy"]


def test_other_chunking_gives_the_same_table(data, baseline, tmp_path):
    _, _, table = baseline
    summary = run_sweep(resolve(_spec(data, chunk_size=48)), tmp_path / "run", figure=False)
    assert summary["n_chunks"] == 6  # the last one padded from 16 to 48 configurations
    other = pd.read_parquet(tmp_path / "run" / "final.parquet")
    pd.testing.assert_frame_equal(other, table, check_exact=True)  # same numbers, bit for bit


def test_resume_after_an_interruption_computes_only_missing_chunks(data, baseline, tmp_path):
    _, _, table = baseline
    out = tmp_path / "run"
    seen = []

    def stop_after_two(output):
        seen.append(output.chunk.index)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(resolve(_spec(data)), out, on_chunk=stop_after_two, figure=False)
    assert sorted(p.name for p in (out / "chunks").glob("*.parquet")) == ["chunk-00000.parquet", "chunk-00001.parquet"]
    assert not (out / "final.parquet").exists()
    summary = run_sweep(resolve(_spec(data)), out, resume=True, figure=False)
    assert summary["skipped"] == [0, 1] and summary["computed"] == [2, 3]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "final.parquet"), table, check_exact=True)


def test_cli_sweep_refuses_another_spec_and_bad_input(data, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["sweep", "--data", data, "--model", "diagonal", "--steps", "100", "--grid", "init_scale=0.1",
            "--grid", "step_size=0.05", "--n-records", "8", "--chunk-size", "64", "--out", out, "--json"]
    code, stdout, err = call(args, capsys)
    assert code == 0, err
    assert json.loads(stdout)["n_configs"] == 1
    code, _, err = call(args[:-3] + ["--grid", "seed=0..1", "--out", out], capsys)
    assert code == 2 and err.startswith("error:") and "different sweep" in err and len(err.splitlines()) == 1
    code, _, err = call(args[:-3] + ["--grid", "seed=0..1", "--out", out, "--force", "--json"], capsys)
    assert code == 0, err
    assert len(pd.read_parquet(out / "final.parquet")) == 2
    code, stdout, _ = call(["runs", out], capsys)  # a sweep directory is listed with the runs
    assert code == 0 and "sweep" in stdout
    for bad, words in ((["--grid", "init_scal=0.1"], "unknown hyper-parameter"),
                       (["--grid", "init_scale=-1"], "init"), (["--grid", "init_scale=logspace(0,1)"], "three"),
                       (["--grid", "init_scale=0.1", "--reference", "no-such"], "unknown reference"),
                       (["--grid", "init_scale=0.1", "--depht", "3"], "not an option")):
        target = tmp_path / "bad"
        code, _, err = call(["sweep", "--data", data, "--model", "diagonal", "--steps", "100", "--grid",
                             "step_size=0.05", *bad, "--out", target], capsys)
        assert code == 2 and err.startswith("error:") and len(err.splitlines()) == 1 and words in err, err
        assert not target.exists()


def test_spec_file_and_flags_resolve_alike(data, tmp_path, capsys):
    toml = tmp_path / "spec.toml"
    toml.write_text(f'data = "{data}"\nmodel = "diagonal"\nsteps = 100\nn_records = 8\nreferences = ["q-alpha"]\n'
                    f'chunk_size = 64\n[grid]\ninit_scale = "logspace(-3,0,64)"\nstep_size = "0.05"\nseed = "0..1"\n')
    spec, _ = load_spec_file(toml)
    assert resolve(spec.merged({"grid": {"seed": "0..3"}})).fingerprint() == resolve(_spec(data)).fingerprint()
    (tmp_path / "bad.toml").write_text('model = "diagonal"\nstep = 3\n')
    code, _, err = call(["sweep", tmp_path / "bad.toml", "--out", tmp_path / "x"], capsys)
    assert code == 2 and "unknown key(s) step" in err


def test_plot_command(baseline, tmp_path, capsys):
    out, _, _ = baseline
    code, stdout, err = call(["plot", out, "--x", "init_scale", "--y", "dist_to_reference", "--out",
                              tmp_path / "fig.png"], capsys)
    assert code == 0, err
    assert (tmp_path / "fig.png").is_file() and (tmp_path / "fig.pdf").is_file()
    code, _, err = call(["plot", out, "--x", "nope"], capsys)
    assert code == 2 and "no column 'nope'" in err
