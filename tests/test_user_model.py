"""A user's own parameterization through one door: the README's worked example from the CLI and from Python,
and a clear error for each thing a user's model can get wrong."""

import re
from pathlib import Path

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.errors import InputError
from implicit_bias.models import UserModel, model_factory, user_model

from cli_helpers import call

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """(triple.py written from the README's code block, a sparse regression data file)."""
    text = README.read_text()
    block = re.search(r"```python\n# triple.py\n(.*?)```", text, re.S)
    assert block, "the README's worked example (# triple.py) is missing"
    root = tmp_path_factory.mktemp("user")
    (root / "triple.py").write_text(block.group(1))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 30))
    w = np.zeros(30)
    w[:3] = 1.0
    np.savez(root / "data.npz", X=X, y=X @ w)
    return root / "triple.py", root / "data.npz"


def test_readme_example_runs_from_the_cli_and_from_python(example, tmp_path, capsys):
    triple, data = example
    code, out, err = call(["train", "--data", data, "--model", f"{triple}:factory", "--steps", "2000",
                           "--step-size", "0.05", "--init-scale", "0.3", "--save", tmp_path / "w.npz", "--json"], capsys)
    assert code == 0, err
    problem = ib.problems.load_problem(data)
    res = ib.train(f"{triple}:factory", ib.losses.square, ib.optim.GD(), problem, steps=2000, step_size=0.05,
                   hparams={"init_scale": [0.2, 0.3]})
    assert np.all(res.converged)
    with np.load(tmp_path / "w.npz") as f:  # the CLI's one configuration is the sweep's second
        np.testing.assert_allclose(f["w"], res.end_to_end[1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(problem.X @ res.end_to_end[1], problem.y, atol=1e-8)


def test_undeclared_hyper_parameter_and_bad_value_are_one_line_errors(example, tmp_path, capsys):
    triple, data = example
    base = ["train", "--data", data, "--model", f"{triple}:factory", "--steps", "5", "--step-size", "0.05",
            "--save", tmp_path / "w.npz"]
    code, _, err = call(base + ["--depth", "3"], capsys)
    assert code == 2 and "--depth" in err and "--init-scale" in err and len(err.strip().splitlines()) == 1
    code, _, err = call(base + ["--init-scale", "abc"], capsys)
    assert code == 2 and "init_scale" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "w.npz").exists()


class _NoPredictor:
    def init(self, key, hp):
        return {"a": hp["init_scale"]}


class _WrongShape:
    hparams = {"init_scale": 0.5}

    def init(self, key, hp):
        return np.ones(3) * hp["init_scale"]

    def end_to_end(self, params):
        return params[:2]


def test_a_user_model_is_checked_on_load():
    with pytest.raises(InputError, match="lacks end_to_end or predict"):
        user_model(_NoPredictor(), 3)
    with pytest.raises(InputError, match=r"must return shape \(3,\)"):
        user_model(_WrongShape(), 3)
    model = user_model(type("Ok", (_WrongShape,), {"end_to_end": lambda self, p: p})(), 3)
    assert isinstance(model, UserModel) and set(model.declared()) == {"init_scale"}
    for spec, match in [("nofile.py:factory", "file not found"), ("no_such_module_xyz:f", "cannot import"),
                        ("json:no_such_name", "has no attribute")]:
        with pytest.raises(InputError, match=match):
            model_factory(spec)
