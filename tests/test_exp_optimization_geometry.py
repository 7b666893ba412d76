"""optimization-geometry: the quick claims hold; sign-GD replaced by GD fails the l∞ claims."""

import dataclasses

import pytest

from implicit_bias.experiments import get_entry


def _failed(result):
    return [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("optimization-geometry")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert {"own_margin", "cross_margins"} <= set(result.figures)
    assert {"series", "config", "step", "metric", "value"} <= set(result.metrics.columns)


@pytest.mark.slow
def test_sign_gd_replaced_by_gd_fails_the_linf_claim(monkeypatch):
    import implicit_bias.experiments.optimization_geometry as exp

    swapped = tuple((label, norm, "l2" if label.startswith("sign-GD") else opt, unit)
                    for label, norm, opt, unit in exp.GEOMETRIES)
    monkeypatch.setattr(exp, "GEOMETRIES", swapped)
    result = exp.run(dataclasses.replace(exp.ENTRY.quick, adagrad_steps=200))
    failed = {c.name for c in result.claims if not c.holds}
    assert "sign-GD (l∞): linf margin / linf max margin at the end (worst seed)" in failed
    assert "sign-GD (l∞): largest margin in another norm / that norm's max margin (worst seed)" in failed
    assert not any(name.startswith("GD (l2)") for name in failed)
