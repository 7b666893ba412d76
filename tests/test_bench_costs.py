"""Cost curves: floors, slope fits, the report, and a tiny run of every axis (structure, not speed)."""

import json

import numpy as np
import pytest

from implicit_bias import bench_costs as bc
from implicit_bias.bench_report import cost_figures, format_costs

RATES = {"matmul_flops_float64": 1e10, "matmul_flops_float32": 2e10, "bandwidth_bytes": 1e10}


def test_diagonal_floor_counts_flops_and_bytes():
    f = bc.diagonal_floor(100, 1000, 16, 10, 8, RATES, "float64", cache=2 ** 40)
    assert f["flops"] == 4 * 100 * 1000 * 16 * 10
    assert f["bytes"] == 10 * 4 * 1000 * 16 * 8  # X fits the cache: only u and v
    assert f["floor_seconds"] == pytest.approx(max(f["flops"] / 1e10, f["bytes"] / 1e10))
    g = bc.diagonal_floor(100, 1000, 16, 10, 8, RATES, "float64", cache=1024)  # X no longer fits
    assert g["bytes"] == f["bytes"] + 10 * 2 * 100 * 1000 * 8


def _points(x, secs):
    return [{"x": v, "seconds": s, "floor_seconds": s / 2, "footprint_bytes": 1000 * v, "floor_bound": "flops",
             "compile_seconds": 0.1} for v, s in zip(x, secs)]


@pytest.mark.parametrize("power, growth", [(1.0, "linear"), (2.0, "super-linear"), (0.3, "sub-linear")])
def test_summary_names_the_growth(power, growth):
    x = np.array([10, 100, 1000, 10_000])
    c = bc._summarize("d", _points(x, 1e-3 * x ** power), expect=1.0, workload="w", fixed={})
    assert c["growth"] == growth
    assert c["slope_seconds"] == pytest.approx(power)
    assert c["slope_memory"] == pytest.approx(1.0)
    assert c["slope_over"] == [100.0, 1000.0, 10_000.0]  # the upper half, where overheads are amortized
    assert c["fraction_of_floor"] == pytest.approx([2.0] * 4)


def test_upper_half_keeps_at_least_two_points():
    assert bc._upper(2) == slice(0, None)
    assert list(range(7))[bc._upper(7)] == [3, 4, 5, 6]


def test_step_flops_counts_a_matrix_product():
    from implicit_bias import losses
    from implicit_bias.models import LinearModel
    from implicit_bias.problems import gaussian_regression

    p = gaussian_regression(50, 40, n_test=0, seed=0)
    flops = bc.step_flops(LinearModel(40), losses.square, p, {"seed": 0})
    assert 2 * 2 * 50 * 40 <= flops <= 10 * 50 * 40  # Xw and Xᵀr, plus elementwise work


def _table():
    x = [10, 100, 1000]
    flow = {"axis": "P", "workload": "flow", "fits": {s: {"slope_seconds_per_step": 1.0, "slope_memory": 1.0}
                                                     for s in ("tsit5", "kvaerno5")},
            "note": "n", "points": [{"x": v, "curvature": 1.0, "auto_picks": "tsit5",
                                     **{s: {"seconds": 0.1, "solver_steps": 10, "footprint_bytes": 100 * v}
                                        for s in ("tsit5", "kvaerno5")}} for v in x]}
    d = bc._summarize("d", _points(np.array(x), [0.1, 1.0, 10.0]), 1.0, "w", {"n": 1})
    return {"device": "cpu", "dtype": "float64", "quick": True, "axes": {"d": d, "M": [d, d], "flow": flow},
            "memory": []}


def test_report_has_one_figure_per_axis_and_a_text():
    figs = cost_figures(_table())
    assert set(figs) == {"costs_d", "costs_M", "costs_flow"}
    text = format_costs(_table())
    assert "linear" in text and "auto picks tsit5" in text


@pytest.mark.slow
def test_tiny_cost_curves_cover_every_axis(tmp_path):
    from implicit_bias.bench_report import write_costs

    costs = bc.run_costs(tiny=True, rates=RATES, axes=("d", "T", "M", "flow"))
    assert set(costs["axes"]) == {"d", "T", "M", "flow"}
    for name in ("d", "T"):
        c = costs["axes"][name]
        assert [p["x"] for p in c["points"]] == list(bc.cost_sizes(tiny=True).__getattribute__(
            {"d": "d_axis", "T": "steps_axis"}[name]))
        assert all(p["seconds"] > 0 and p["floor_seconds"] > 0 and p["footprint_bytes"] > 0 for p in c["points"])
        assert np.isfinite(c["slope_seconds"]) and c["growth"] in ("linear", "super-linear", "sub-linear")
    assert c["slope_floor"] == pytest.approx(1.0)  # the floor is linear in T
    assert len(costs["axes"]["M"]) == 3 and all(p["step_flops"] > 0 for c in costs["axes"]["M"] for p in c["points"])
    flow = costs["axes"]["flow"]
    assert all(p[s]["solved"] and p[s]["solver_steps"] > 0 for p in flow["points"] for s in ("tsit5", "kvaerno5"))
    # the implicit solver holds a P×P Jacobian: more memory than the explicit one at the same P
    assert all(p["kvaerno5"]["footprint_bytes"] > p["tsit5"]["footprint_bytes"] for p in flow["points"])
    paths = write_costs(costs, tmp_path)
    assert json.loads(paths[0].read_text())["axes"]["d"]["axis"] == "d"
    assert {p.name for p in paths} >= {"costs_d.png", "costs_T.png", "costs_M.png", "costs_flow.png"}
