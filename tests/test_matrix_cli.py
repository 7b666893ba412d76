"""The command line on matrix problems: train --model factorized saves W, references on .npz matrix data,
and bad matrix input exits 2 with one line."""

import json

import numpy as np
import pytest

from cli_helpers import call
from implicit_bias.problems.matrix import matrix_completion, matrix_sensing


@pytest.fixture
def completion_file(tmp_path):
    p = matrix_completion((6, 6), 1, 20, seed=0)
    path = tmp_path / "comp.npz"
    np.savez(path, rows=p.X[:, 0], cols=p.X[:, 1], values=p.y, shape=np.array([6, 6]), w_star=p.w_star)
    return path, p


def test_train_factorized_saves_the_end_to_end_matrix(completion_file, tmp_path, capsys):
    path, p = completion_file
    out = tmp_path / "W.npz"
    code, stdout, _ = call(["train", "--model", "factorized", "--depth", "2", "--init-scale", "0.01", "--data", path,
                            "--step-size", "2", "--steps", "20000", "--save", out, "--json"], capsys)
    assert code == 0, stdout
    saved = np.load(out)
    W = saved["W"]
    assert W.shape == (6, 6)
    np.testing.assert_allclose(W[p.X[:, 0], p.X[:, 1]], p.y, atol=1e-3)     # it fits the observed entries
    W1, W2 = saved["param_0"], saved["param_1"]
    np.testing.assert_allclose(W2 @ W1, W, rtol=1e-12)                        # W = W_2 W_1, no transpose
    np.testing.assert_allclose(saved["predictions_test"], W[p.X_test[:, 0], p.X_test[:, 1]], rtol=1e-12)
    assert json.loads(stdout)["final_loss"] < 1e-7 * saved["loss"][0]


def test_reference_nuclear_norm_and_min_frobenius_on_matrix_files(completion_file, tmp_path, capsys):
    path, p = completion_file
    code, stdout, _ = call(["reference", "nuclear-norm", "--data", path, "--save", tmp_path / "n.npz", "--json"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["status"] == "optimal" and summary["certified"] and summary["relative_gap"] < 1e-6
    W = np.load(tmp_path / "n.npz")["w"]
    assert abs(np.linalg.norm(W, "nuc") - summary["objective"]) < 1e-6 * summary["objective"]
    code, _, _ = call(["reference", "min-frobenius", "--data", path, "--save", tmp_path / "f.npz"], capsys)
    assert code == 0
    F = np.load(tmp_path / "f.npz")["w"]
    expected = np.zeros((6, 6))
    expected[p.X[:, 0], p.X[:, 1]] = p.y
    np.testing.assert_allclose(F, expected)


@pytest.mark.parametrize("arrays,extra,needle", [
    ({"rows": [0, 6], "cols": [0, 1], "values": [1.0, 2.0], "shape": [6, 6]}, [], "out of range"),
    ({"rows": [0, 0], "cols": [1, 1], "values": [1.0, 2.0], "shape": [6, 6]}, [], "duplicate"),
    ({"A": np.zeros((3, 2, 2)), "y": np.zeros(4)}, [], "'y' must have shape"),
    ({"rows": [0, 1], "cols": [1, 0], "values": [1.0, 2.0], "shape": [6, 6]}, ["--depth", "0"], "depth"),
])
def test_bad_matrix_input_exits_2_with_one_line(tmp_path, capsys, arrays, extra, needle):
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    code, stdout, stderr = call(["train", "--model", "factorized", "--data", path, "--step-size", "1", "--steps", "5",
                                 "--save", tmp_path / "o.npz", *extra], capsys)
    assert code == 2 and needle in stderr and len(stderr.strip().splitlines()) == 1 and stdout == ""
    assert not (tmp_path / "o.npz").exists()


def test_sensing_file_trains_with_the_sensing_kind(tmp_path, capsys):
    p = matrix_sensing((4, 3), 1, 10, n_test=0, seed=1)
    path = tmp_path / "sens.npz"
    np.savez(path, A=p.X, y=p.y)
    code, _, _ = call(["train", "--model", "factorized", "--depth", "1", "--data", path, "--step-size", "0.2",
                       "--steps", "3000", "--save", tmp_path / "W.npz"], capsys)
    assert code == 0
    W = np.load(tmp_path / "W.npz")["W"]
    np.testing.assert_allclose(np.einsum("mij,ij->m", p.X, W), p.y, atol=1e-8)
