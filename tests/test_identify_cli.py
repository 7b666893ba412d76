"""`implicit-bias identify`: exit codes, one-line errors, --json, --save schema, a user's own G in a file."""

import json

import numpy as np
import pytest

from cli_helpers import call

G_FILE = '''import jax.numpy as jnp


def G(theta):
    """w = a * (b * c): a scalar gain times a two-layer diagonal product; theta = (a, b (3,), c (3,))."""
    return theta[0] * theta[1:4] * theta[4:7]
'''


@pytest.fixture
def files(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.array([[1.0, 2.0]]), y=np.array([4.5]))
    np.save(tmp_path / "theta0.npy", np.full(4, 1 / np.sqrt(2)))
    return tmp_path


@pytest.mark.parametrize("param", ["missing.py:G", "no_such_module_zz:G", "not-a-form"])
def test_bad_param_exits_2_with_one_line(files, capsys, param):
    code, out, err = call(["identify", "--param", param, "--init", files / "theta0.npy", "--data", files / "d.npz"], capsys)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1


def test_bad_shapes_exit_2(files, capsys):
    (files / "g.py").write_text("def G(t):\n    return t\n")
    code, _, err = call(["identify", "--param", f"{files / 'g.py'}:G", "--init", files / "theta0.npy",
                         "--data", files / "d.npz"], capsys)
    assert code == 2 and "shape (2,)" in err
    np.save(files / "nan.npy", np.array([np.nan, 1.0, 1.0, 1.0]))
    code, _, err = call(["identify", "--param", "uu-vv", "--init", files / "nan.npy", "--data", files / "d.npz"], capsys)
    assert code == 2 and "finite" in err


def test_expect_mismatch_exits_1_and_json_is_one_object(files, capsys):
    args = ["identify", "--param", "uu-vv", "--init", files / "theta0.npy", "--data", files / "d.npz", "--no-flow", "--json"]
    code, out, _ = call(args + ["--expect", "hidden-state"], capsys)
    summary = json.loads(out)
    assert code == 1 and summary["verdict"] == "mirror-flow" and not summary["all_hold"]
    code, out, _ = call(args + ["--expect", "mirror-flow"], capsys)
    summary = json.loads(out)
    assert code == 0 and summary["family"]["name"] == "Q_alpha"
    np.testing.assert_allclose(summary["limit"]["w"], [0.75, 15 / 8], rtol=1e-11)


@pytest.mark.slow
def test_user_file_full_run_saves_schema(tmp_path, capsys):
    (tmp_path / "my_g.py").write_text(G_FILE)
    np.save(tmp_path / "theta0.npy", np.array([1.0, 0.5, 0.5, 0.5, 0.3, -0.2, 0.4]))
    np.savez(tmp_path / "d.npz", X=np.array([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0]]), y=np.array([1.0, 2.0]))
    out = tmp_path / "out.npz"
    code, stdout, _ = call(["identify", "--param", f"{tmp_path / 'my_g.py'}:G", "--init", tmp_path / "theta0.npy",
                            "--data", tmp_path / "d.npz", "--save", out, "--json", "--figure", tmp_path / "fig"], capsys)
    summary = json.loads(stdout)
    assert code == 0 and summary["verdict"] == "time-warped-mirror-flow"
    with np.load(out) as f:
        for key in ("limit", "flow_w", "dual_nu", "dual_mu", "bracket_commuting", "bracket_data_involutive",
                    "fit_candidates", "fit_kkt_residual"):
            assert key in f.files
        np.testing.assert_allclose(f["flow_w"], f["limit"], rtol=1e-6)
        assert f["dual_nu"].shape == (2,) and f["bracket_commuting"].ndim == 1
    assert (tmp_path / "fig.png").exists()
