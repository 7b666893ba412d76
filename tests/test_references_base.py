"""The reference registry and the Reference contract shared by every solver."""

import json

import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.problems import Problem, svm_2d_example
from implicit_bias.references import Reference, ReferenceSpec, available, get_reference

CONTRACT = {"min-l2": ("init",), "max-margin": (), "min-l1": ("nonnegative", "weights"),
            "q-alpha": ("init_scale", "depth", "init_shape"), "group-lasso": ("groups",)}


def _problems():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 15))
    reg = Problem(X, X @ (rng.standard_normal(15) * (rng.random(15) < 0.3)))
    svm = svm_2d_example()
    return {"min-l2": (reg, {"init": rng.standard_normal(15)}), "max-margin": (Problem(svm.X, svm.y), {}),
            "min-l1": (reg, {"nonnegative": False}), "q-alpha": (reg, {"init_scale": 0.3, "depth": 3}),
            "group-lasso": (reg, {"groups": np.repeat(np.arange(5), 3)})}


def test_every_reference_is_registered_with_its_options():
    refs = available()
    assert set(CONTRACT) <= set(refs)
    for name, options in CONTRACT.items():
        spec = refs[name]
        assert isinstance(spec, ReferenceSpec) and spec.name == name and spec.options == options
        assert spec.summary and callable(spec.compute)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(InputError, match="min-l2") as err:
        get_reference("no-such-reference")
    assert all(name in str(err.value) for name in CONTRACT)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_compute_returns_a_saveable_reference(name, tmp_path):
    problem, options = _problems()[name]
    ref = get_reference(name).compute(problem, **options)
    assert isinstance(ref, Reference) and ref.name == name and ref.status == "optimal"
    assert ref.solution.shape == (problem.n_features,) and np.all(np.isfinite(ref.solution))
    summary = json.loads(json.dumps(ref.summary(), allow_nan=False))
    assert summary["name"] == name and summary["objective"] == pytest.approx(ref.objective)
    assert summary["norm"] == pytest.approx(np.linalg.norm(ref.solution))
    arrays = ref.to_npz()
    assert set(arrays) == {"w", "objective", *ref.arrays}
    np.savez(tmp_path / "r.npz", **arrays)
    np.testing.assert_array_equal(np.load(tmp_path / "r.npz")["w"], ref.solution)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_compute_rejects_options_it_does_not_take(name):
    problem, options = _problems()[name]
    with pytest.raises(InputError, match="does not take"):
        get_reference(name).compute(problem, **options, bogus=1)


def test_none_means_not_given():
    problem, _ = _problems()["q-alpha"]
    spec = get_reference("q-alpha")
    a = spec.compute(problem, init_scale=0.3, depth=None, init_shape=None)
    b = spec.compute(problem, init_scale=0.3)
    np.testing.assert_array_equal(a.solution, b.solution)
    assert a.info["depth"] == 2 and a.info["shape"] == 0.0


def test_reference_is_frozen():
    ref = Reference("x", np.zeros(2), 0.0, "optimal")
    with pytest.raises(AttributeError):
        ref.status = "changed"
