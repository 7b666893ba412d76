"""The command line's public contract: exit codes, one-line errors, JSON on stdout, .npz schemas."""

import json
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from cli_helpers import call
from implicit_bias.problems import gaussian_regression, planted_margin_classification


@pytest.fixture
def regression_file(tmp_path):
    p = gaussian_regression(10, 30, seed=0)
    path = tmp_path / "reg.npz"
    np.savez(path, X=p.X, y=p.y, X_test=p.X_test, y_test=p.y_test)
    return path


@pytest.fixture
def classification_file(tmp_path):
    p = planted_margin_classification(20, 4, seed=0)
    path = tmp_path / "cls.npz"
    np.savez(path, X=p.X, y=p.y)
    return path


def test_train_gd_reaches_pinv_and_saves_schema(regression_file, tmp_path, capsys):
    out = tmp_path / "w.npz"
    code, stdout, _ = call(["train", "--data", regression_file, "--loss", "square", "--optimizer", "gd",
                            "--step-size", "1.0", "--steps", "20000", "--save", out, "--json"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["converged"] and not summary["diverged"]
    with np.load(out) as f, np.load(regression_file) as d:
        assert f["w"].shape == (30,)
        assert f["steps"].ndim == 1 and f["loss"].shape == f["steps"].shape
        np.testing.assert_allclose(f["w"], np.linalg.pinv(d["X"]) @ d["y"], rtol=1e-8)
        assert f["predictions_test"].shape == d["y_test"].shape
    assert summary["norm_w"] == pytest.approx(float(np.linalg.norm(np.load(out)["w"])))


def test_train_flow_from_init_reaches_nearest_interpolator(regression_file, tmp_path, capsys):
    w0 = np.random.default_rng(1).standard_normal(30)
    np.save(tmp_path / "w0.npy", w0)
    out = tmp_path / "w.npz"
    code, _, _ = call(["train", "--data", regression_file, "--optimizer", "flow", "--time", "1e5",
                       "--solver", "kvaerno5", "--init", tmp_path / "w0.npy", "--save", out], capsys)
    assert code == 0
    d = np.load(regression_file)
    expected = w0 + np.linalg.pinv(d["X"]) @ (d["y"] - d["X"] @ w0)
    np.testing.assert_allclose(np.load(out)["w"], expected, rtol=1e-8)


def test_reference_min_l2_and_max_margin(regression_file, classification_file, tmp_path, capsys):
    code, stdout, _ = call(["reference", "min-l2", "--data", regression_file, "--save", tmp_path / "r.npz", "--json"], capsys)
    assert code == 0 and json.loads(stdout)["name"] == "min-l2"
    d = np.load(regression_file)
    np.testing.assert_allclose(np.load(tmp_path / "r.npz")["w"], np.linalg.pinv(d["X"]) @ d["y"], rtol=1e-10)
    code, stdout, _ = call(["reference", "max-margin", "--data", classification_file,
                            "--save", tmp_path / "m.npz", "--json"], capsys)
    assert code == 0
    info = json.loads(stdout)
    saved = np.load(tmp_path / "m.npz")
    c = np.load(classification_file)
    margins = c["y"] * (c["X"] @ saved["w"])
    assert margins.min() == pytest.approx(1.0, abs=1e-6)
    assert info["margin"] == pytest.approx(1.0 / np.linalg.norm(saved["w"]), rel=1e-6)


def _bad_files(tmp_path):
    X = np.random.default_rng(0).standard_normal((6, 3))
    files = {}
    np.savez(tmp_path / "nokey.npz", X=X)
    files["missing key"] = (tmp_path / "nokey.npz", "no 'y'")
    np.savez(tmp_path / "shape.npz", X=X, y=np.ones(5))
    files["wrong shape"] = (tmp_path / "shape.npz", "shape")
    Xn = X.copy()
    Xn[0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", X=Xn, y=np.ones(6))
    files["nan"] = (tmp_path / "nan.npz", "NaN")
    Xi = X.copy()
    Xi[1, 1] = np.inf
    np.savez(tmp_path / "inf.npz", X=Xi, y=np.ones(6))
    files["inf"] = (tmp_path / "inf.npz", "NaN or inf")
    (tmp_path / "garbage.npz").write_text("not a zip")
    files["garbage"] = (tmp_path / "garbage.npz", "cannot read")
    files["missing file"] = (tmp_path / "nope.npz", "not found")
    return files


def test_bad_data_files_exit_2_without_output(tmp_path, capsys):
    for what, (path, message) in _bad_files(tmp_path).items():
        out = tmp_path / f"out_{what.replace(' ', '_')}.npz"
        code, stdout, stderr = call(["train", "--data", path, "--step-size", "0.1", "--steps", "10", "--save", out], capsys)
        assert code == 2, what
        assert message in stderr, (what, stderr)
        assert stderr.count("\n") == 1 and "Traceback" not in stderr
        assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--loss", "hinge"], "unknown loss"),
    (["--optimizer", "lbfgs"], "unknown optimizer"),
    (["--model", "transformer"], "unknown model"),
    (["--dtype", "float16"], "dtype"),
    (["--step-size", "-1"], "positive"),
    (["--batch-size", "1000", "--optimizer", "sgd"], "between 1 and the number of samples"),
    (["--batch-size", "0", "--optimizer", "sgd"], "between 1 and the number of samples"),
    (["--batch-size", "1000", "--optimizer", "flow", "--time", "1", "--modified-loss", "sgd"],
     "between 1 and the number of samples"),
    (["--model", "neuron", "--activation", "sigmoid"], "outside the range"),
    (["--model", "diagonal", "--depth", "1"], "depth"),
    (["--model", "diagonal", "--init-scale", "0"], "init scale"),
    (["--model", "diagonal", "--init-shape", "1"], "init shape"),
    (["--optimizer", "flow"], "--time"),
])
def test_bad_options_exit_2(regression_file, tmp_path, capsys, args, message):
    out = tmp_path / "o.npz"
    base = ["train", "--data", regression_file, "--steps", "10", "--save", out]
    if "--step-size" not in args:
        base += ["--step-size", "0.1"]
    code, _, stderr = call(base + args, capsys)
    assert code == 2 and message in stderr, stderr
    assert not out.exists()


def test_labels_must_be_pm1_for_classification(regression_file, tmp_path, capsys):
    code, _, stderr = call(["train", "--data", regression_file, "--loss", "logistic", "--step-size", "0.1",
                            "--steps", "10", "--save", tmp_path / "o.npz"], capsys)
    assert code == 2 and "±1" in stderr
    assert not (tmp_path / "o.npz").exists()


def test_max_margin_on_non_separable_data(tmp_path, capsys):
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 0.0]])
    np.savez(tmp_path / "ns.npz", X=X, y=np.array([1.0, 1.0, -1.0]))
    code, _, stderr = call(["reference", "max-margin", "--data", tmp_path / "ns.npz",
                            "--save", tmp_path / "o.npz"], capsys)
    assert code == 2 and "separable" in stderr
    assert not (tmp_path / "o.npz").exists()


def test_unknown_experiment_lists_valid_names(capsys):
    code, _, stderr = call(["run", "no-such-thing"], capsys)
    assert code == 2 and "min-norm-regression" in stderr


def test_bad_set_override(capsys, tmp_path):
    code, _, stderr = call(["run", "min-norm-regression", "--set", "n_samples=abc", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "n_samples" in stderr
    code, _, stderr = call(["run", "min-norm-regression", "--set", "bogus=1", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "unknown setting" in stderr
    assert not (tmp_path / "r").exists()


def test_list_prints_every_entry(capsys):
    code, stdout, _ = call(["list"], capsys)
    assert code == 0
    for name in ("min-norm-regression", "max-margin"):
        assert name in stdout


def test_real_entry_point_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "train", "--data", str(tmp_path / "missing.npz"),
                           "--step-size", "0.1", "--steps", "5", "--save", str(tmp_path / "o.npz")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


FAST_MIN_NORM = ["--set", "n_random_inits=1", "--set", "steps=8000", "--set", "n_samples=10", "--set", "n_features=40"]


@pytest.mark.slow
def test_run_json_contract_and_refusal_to_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = call(["run", "min-norm-regression", "--quick", "--json", "--out", out, *FAST_MIN_NORM], capsys)
    payload = json.loads(stdout)  # stdout holds exactly one JSON object
    assert set(payload) >= {"experiment", "config", "claims", "artifacts"}
    assert payload["experiment"] == "min-norm-regression" and payload["config"]["n_features"] == 40
    holds = [c["holds"] for c in payload["claims"]]
    assert code == (0 if all(holds) else 1) and all(holds)
    for claim in payload["claims"]:
        assert set(claim) >= {"name", "measured", "expected", "tolerance", "holds"}
    assert any(a.endswith(".png") for a in payload["artifacts"]) and any(a.endswith(".pdf") for a in payload["artifacts"])
    assert all((Path(a)).exists() for a in payload["artifacts"])
    compiles = payload["compile_seconds"]
    assert compiles["programs"] >= 1 and 0 < compiles["longest"] <= compiles["total"] <= payload["wall_time"]
    assert json.loads((out / "config.json").read_text())["compile_seconds"] == compiles
    before = (out / "claims.json").read_text()
    code, _, stderr = call(["run", "min-norm-regression", "--quick", "--out", out, *FAST_MIN_NORM,
                            "--set", "seed=5"], capsys)
    assert code == 2 and "different run" in stderr
    assert (out / "claims.json").read_text() == before


@pytest.mark.slow
def test_reproduce_report_and_runs_query(tmp_path, capsys):
    out = tmp_path / "results"
    code, stdout, _ = call(["reproduce", "--quick", "--only", "min-norm-regression", "--out", out], capsys)
    assert code == 0
    assert (out / "index.html").exists() and (out / "summary.txt").exists()
    assert "min-norm-regression" in (out / "summary.txt").read_text()
    code, stdout, _ = call(["runs", out, "--where", "n_failed > 0"], capsys)
    assert code == 0 and "no runs match" in stdout
    code, stdout, _ = call(["runs", out, "--json"], capsys)
    rows = json.loads(stdout)
    assert len(rows) == 1 and rows[0]["experiment"] == "min-norm-regression"
    (out / "index.html").unlink()
    code, _, _ = call(["report", out], capsys)
    assert code == 0 and (out / "index.html").exists()
    code, _, stderr = call(["reproduce", "--quick", "--only", "nope", "--out", tmp_path / "x"], capsys)
    assert code == 2 and "min-norm-regression" in stderr


@pytest.mark.slow
def test_rerun_with_same_config_and_seed_reproduces_the_numbers(tmp_path, capsys):
    """The store's round trip on real runs: same config and seed -> identical claims and metrics."""
    import pandas as pd

    from implicit_bias.store import read_run

    results = []
    for name in ("a", "b"):
        code, stdout, _ = call(["run", "min-norm-regression", "--quick", "--json", "--out", tmp_path / name,
                                *FAST_MIN_NORM], capsys)
        assert code == 0
        results.append(read_run(tmp_path / name))
    first, second = results
    assert [c.to_dict() for c in first.claims] == [c.to_dict() for c in second.claims]
    pd.testing.assert_frame_equal(first.metrics, second.metrics)
    assert first.config == second.config


def test_train_diagonal_reads_groups_from_the_data_and_reports_the_init_scale(tmp_path, capsys):
    from implicit_bias.problems import sparse_regression

    p = sparse_regression(10, 12, 2, n_test=0, seed=0)
    data = tmp_path / "g.npz"
    np.savez(data, X=p.X, y=p.y, groups=np.repeat(np.arange(4), 3))
    code, stdout, _ = call(["train", "--data", data, "--model", "diagonal", "--init-scale", "0.5", "--depth", "3",
                            "--step-size", "0.01", "--steps", "10", "--save", tmp_path / "d.npz", "--json"], capsys)
    assert code == 0 and json.loads(stdout)["effective_init_scale"] == pytest.approx(0.125)
    code, _, _ = call(["train", "--data", data, "--model", "grouped-diagonal", "--step-size", "0.01", "--steps", "10",
                       "--save", tmp_path / "g_out.npz"], capsys)
    assert code == 0
    with np.load(tmp_path / "g_out.npz") as f:
        assert f["w"].shape == (12,)
    np.savez(tmp_path / "bad.npz", X=p.X, y=p.y, groups=np.arange(5))
    code, _, stderr = call(["train", "--data", tmp_path / "bad.npz", "--model", "grouped-diagonal", "--step-size", "0.01",
                            "--steps", "10", "--save", tmp_path / "b.npz"], capsys)
    assert code == 2 and "groups" in stderr and not (tmp_path / "b.npz").exists()


def test_reference_ntk_kernel_regression_takes_the_network_options(regression_file, tmp_path, capsys):
    out = tmp_path / "k.npz"
    code, stdout, _ = call(["reference", "ntk-kernel-regression", "--data", regression_file, "--widths", "16",
                            "--activation", "tanh", "--seed", "3", "--save", out, "--json"], capsys)
    assert code == 0
    d = np.load(regression_file)
    with np.load(out) as f:
        assert f["predictions_test"].shape == d["y_test"].shape
    code, _, stderr = call(["reference", "min-l2", "--data", regression_file, "--widths", "16",
                            "--save", tmp_path / "x.npz"], capsys)
    assert code == 2 and "--widths: not an option of reference 'min-l2'" in stderr
