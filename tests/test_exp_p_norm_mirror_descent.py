"""p-norm-mirror-descent: the quick claims hold; running each p-GD with the wrong p fails them."""

import dataclasses

import pytest

from implicit_bias.experiments import get_entry


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("p-norm-mirror-descent")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"own_margin", "cross_margins"} <= set(result.figures)


@pytest.mark.slow
def test_wrong_p_fails(monkeypatch):
    import implicit_bias.experiments.p_norm_mirror_descent as exp

    real_train = exp.train

    def reversed_p(*args, hparams, **kw):
        return real_train(*args, hparams={**hparams, "p": hparams["p"][::-1]}, **kw)

    monkeypatch.setattr(exp, "train", reversed_p)
    result = exp.run(dataclasses.replace(exp.ENTRY.quick, steps=5000))
    failed = {c.name for c in result.claims if not c.holds}
    assert "p-GD: own l_p margin / l_p max margin (worst p and seed)" in failed
    assert any(name.startswith("p-GD with p: margin in l_q") for name in failed)
