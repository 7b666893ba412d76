"""The identify-regularizer catalog entry: its claims hold, and a perturbed prediction fails the flow check."""

import dataclasses

import pytest

from implicit_bias.experiments.identify_regularizer import ENTRY


@pytest.mark.slow
def test_quick_claims_hold_and_negative_control_fails():
    result = ENTRY.run(ENTRY.quick)
    failed = [c.name for c in result.claims if not c.holds]
    assert not failed, failed
    assert result.established
    kinds = {c.kind for c in result.claims}
    assert kinds == {"result", "guard"}
    assert "identify" in result.figures and not result.metrics.empty
    # negative control: move every predicted limit by 1e-3 — the engine's flow must disagree with each
    broken = ENTRY.run(dataclasses.replace(ENTRY.quick, perturb=1e-3))
    flow_claims = [c for c in broken.claims if c.name.endswith("flow limit = predicted limit")]
    assert len(flow_claims) == 5 and not any(c.holds for c in flow_claims)
    # everything not comparing against the flow is untouched
    assert all(c.holds for c in broken.claims if c not in flow_claims)
