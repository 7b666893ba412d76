"""Catalog entries igr-backward-error and sgd-modified-loss: quick claims hold, and fail when the theory is wrong."""

import dataclasses
from typing import ClassVar

import numpy as np
import pytest

from implicit_bias import compilation
from implicit_bias.experiments import get_entry
from implicit_bias.optim.modified import IGRFlow

pytestmark = pytest.mark.slow


def test_igr_backward_error_quick_claims_hold():
    entry = get_entry("igr-backward-error")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    slopes = {c.name: c.measured for c in result.claims if "slope" in c.name}
    assert len(slopes) == 6  # plain and modified, for the quadratic, the diagonal network and the MLP
    assert "backward_error" in result.figures
    assert {"distance_to_flow", "distance_to_modified_flow"} <= set(result.metrics["metric"])


def test_sgd_modified_loss_quick_claims_hold():
    entry = get_entry("sgd-modified-loss")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert "sgd_modified_flow" in result.figures
    assert np.isfinite(result.metrics["value"]).all()


def test_sgd_modified_loss_claims_fail_without_the_batch_term(monkeypatch):
    """With the minibatch-variance term removed, SGD's modified flow is GD's: the ratio claims must fail."""
    import implicit_bias.optim.modified as modified

    monkeypatch.setattr(modified, "batch_variance", lambda objective, m, partition="reshuffled": (
        lambda params, X, y, hp: 0.0 * objective(params, X, y, hp)))
    compilation.clear_cache()
    entry = get_entry("sgd-modified-loss")
    result = entry.run(entry.quick)
    compilation.clear_cache()
    ratio = [c for c in result.claims if c.name.startswith("max over h of ‖E[θ_SGD] − θ_SGD-flow‖")]
    assert ratio and not ratio[0].holds
    assert not result.all_hold


@dataclasses.dataclass(frozen=True)
class HalfIGRFlow(IGRFlow):
    """The modified flow with the wrong coefficient h/8 instead of h/4."""

    name: ClassVar[str] = "half-igr-flow"

    def strength(self, hp):
        return super().strength(hp) / 2.0


def test_igr_claims_fail_with_the_wrong_coefficient(monkeypatch):
    import implicit_bias.experiments.igr_backward_error as exp

    monkeypatch.setattr(exp, "IGRFlow", HalfIGRFlow)
    result = exp.run(exp.ENTRY.quick)
    failed = [c.name for c in result.claims if c.kind == "result" and not c.holds]
    assert sum("modified flow, O(h²)" in name for name in failed) >= 2, failed
