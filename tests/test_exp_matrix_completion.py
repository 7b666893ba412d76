"""Quick catalog entries on matrix completion: their claims hold, and the numbers behind them are the paper's."""

import numpy as np

from implicit_bias.experiments.deep_matrix_completion import ENTRY as DMC
from implicit_bias.experiments.norms_not_enough import ENTRY as NNE


def test_deep_matrix_completion_quick_claims_hold():
    result = DMC.run(DMC.quick)
    assert result.all_hold, [c.to_dict() for c in result.claims if not c.holds]
    names = " ".join(c.name for c in result.claims)
    assert "depth 1" in names and "effective rank at depth 3" in names and "depth 3 < ½" in names
    errors = result.metrics.query("metric == 'test_error'").groupby("series")["value"].last()
    few = DMC.quick.few
    assert errors[f"depth3/m{few}"] < errors[f"depth2/m{few}"] < errors[f"depth1/m{few}"]
    assert set(result.figures) == {"test_error_vs_m", "singular_values_over_time"}


def test_norms_not_enough_quick_claims_hold():
    result = NNE.run(NNE.quick)
    assert result.all_hold, [c.to_dict() for c in result.claims if not c.holds]
    growth = [c for c in result.claims if "minimum over completions" in c.name]
    assert len(growth) == 4 and min(c.measured for c in growth) >= 10
    loss = result.metrics.query("metric == 'loss'")["value"].to_numpy()
    assert loss[-1] < 1e-4 and np.all(np.diff(loss) <= 1e-12)   # gradient flow: the loss never rises
