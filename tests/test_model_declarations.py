"""Every registered model is a declared component: a Model whose table covers what its init reads."""

import inspect
import json

import jax
import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.hparams import describe
from implicit_bias.models import DiagonalModel, LinearizedModel, Model, available_models, make_model
from implicit_bias.models.registry import factory_options

N_FEATURES = 4
KEY = jax.random.PRNGKey(0)


class ReadLog(dict):
    """A dict that records every key looked up (``in``, ``[]``, ``get``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def _build(name):
    """The model's registered example, else the model at d = 4 with its defaults."""
    spec = available_models()[name]
    return spec.example()[0] if spec.example is not None else spec.factory(N_FEATURES)


MODELS = sorted(available_models())


@pytest.mark.parametrize("name", MODELS)
def test_registered_model_is_a_declared_model(name):
    model = _build(name)
    assert isinstance(model, Model) and model.name == name
    declared = model.declared()
    assert list(declared) == [h.name for h in model.hparams]
    log = ReadLog()
    jax.eval_shape(lambda: model.init(log, KEY))  # traced, not run: the keys init looks up
    assert log.read <= set(declared), f"{name} reads undeclared {sorted(log.read - set(declared))}"
    for h in model.hparams:  # every quantity has a value of its own, inside its declared range, and traces swept
        own = model.own_value(h.name)
        assert own is not None
        h.check(own, name)
        jax.eval_shape(lambda v: model.init({h.name: v}, KEY), np.asarray(own, dtype=float))
        marker = object()
        assert model.hparam({h.name: marker}, h.name) is marker and model.hparam({}, h.name) == own
    info = json.loads(json.dumps(describe(model), allow_nan=False))
    assert info["name"] == name and [row["name"] for row in info["hparams"]] == list(declared)


def test_linearized_model_declares_its_base_table():
    lin = LinearizedModel(DiagonalModel(3, init_scale=0.5))
    assert lin.declared() == DiagonalModel(3).declared() and lin.own_value("init_scale") == 0.5
    assert set(available_models()["linearized"].options) == set(available_models()["mlp"].options)


def test_factory_options_come_from_the_signature():
    assert factory_options(lambda n_features, depth=None, init_scale=None: None) == ("depth", "init_scale")
    with pytest.raises(TypeError, match="name its options"):
        factory_options(lambda n_features, **options: None)
    with pytest.raises(InputError, match="--width"):
        make_model("conv", N_FEATURES, width=3)
    for spec in available_models().values():
        assert spec.options == tuple(inspect.signature(spec.factory).parameters)[1:]
