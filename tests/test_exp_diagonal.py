"""Catalog entries kernel-vs-rich, incremental-learning, mirror-descent: the quick claims hold, and they are
wired to their references (a perturbed reference makes them fail)."""

import dataclasses

import pytest

from implicit_bias.experiments import get_entry

pytestmark = pytest.mark.slow


def _failed(result):
    return [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]


def test_kernel_vs_rich_quick_claims_hold():
    entry = get_entry("kernel-vs-rich")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert {"phase_transition", "distances"} <= set(result.figures)
    names = " ".join(c.name for c in result.claims)
    assert "α from 0.0001 to 100" in names and "init shape" not in names and "max over s" not in names
    assert {c.kind for c in result.claims} == {"result", "guard"}
    assert {"series", "config", "step", "metric", "value", "init_scale"} <= set(result.metrics.columns)


def test_kernel_vs_rich_fails_against_a_wrong_reference(monkeypatch):
    import implicit_bias.experiments.kernel_vs_rich as exp
    from implicit_bias.references import q_alpha_interpolator

    def shifted(X, y, alpha, **kw):
        ref = q_alpha_interpolator(X, y, alpha, **kw)
        return dataclasses.replace(ref, solution=ref.solution * (1 + 1e-4))

    monkeypatch.setattr(exp, "q_alpha_interpolator", shifted)
    failed = [name for name, *_ in _failed(exp.run(exp.ENTRY.quick))]
    assert any("w_Qα" in name for name in failed), failed


def test_incremental_learning_quick_claims_hold():
    entry = get_entry("incremental-learning")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert "incremental_learning" in result.figures


def test_incremental_learning_fails_against_a_wrong_order(monkeypatch):
    """Swap two predicted jumps (keeping their times): the order claims must fail."""
    import implicit_bias.experiments.incremental_learning as exp

    original = exp.saddle_to_saddle

    def swapped(X, y):
        path = original(X, y)
        path[1]["joins"], path[2]["joins"] = path[2]["joins"], path[1]["joins"]
        return path

    monkeypatch.setattr(exp, "saddle_to_saddle", swapped)
    failed = [name for name, *_ in _failed(exp.run(exp.ENTRY.quick))]
    assert any("pick-up order" in name for name in failed), failed


def test_mirror_descent_quick_claims_hold():
    entry = get_entry("mirror-descent")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    slope = next(c for c in result.claims if "fitted slope" in c.name)
    assert slope.measured == pytest.approx(2.0, abs=0.05) and slope.kind == "sanity"  # exact one-step algebra
    assert sum("mirror flow" in c.name and c.kind == "result" for c in result.claims) == 2  # u⊙u − v⊙v and u⊙v


def test_mirror_descent_fails_with_a_wrong_hypentropy_scale(monkeypatch):
    import implicit_bias.experiments.mirror_descent as exp
    from implicit_bias.optim.mirror import hypentropy_equivalent

    def off(param, u0, v0):
        beta, rate, w0 = hypentropy_equivalent(param, u0, v0)
        return beta * 1.05, rate, w0

    monkeypatch.setattr(exp, "hypentropy_equivalent", off)
    failed = [name for name, *_ in _failed(exp.run(exp.ENTRY.quick))]
    assert any("mirror flow" in name for name in failed), failed
