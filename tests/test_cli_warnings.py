"""A run that did not do what was asked says so: one warning line on stderr and exit 1 when the ODE solver
stopped before the horizon, a one-line note (exit 0) when a step method did not converge."""

import json

import numpy as np
import pytest
from cli_helpers import call

from implicit_bias.diagnostics import flow_failure


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, X=rng.standard_normal((4, 6)), y=rng.standard_normal(4))
    return path


def test_a_flow_out_of_budget_warns_and_exits_1(data, tmp_path, capsys):
    code, out, err = call(["train", "--data", data, "--optimizer", "flow", "--time", "1e4", "--max-steps", "3",
                           "--save", tmp_path / "w.npz", "--json"], capsys)
    assert code == 1
    summary = json.loads(out)
    assert summary["solver_ok"] is False
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "3-step budget" in lines[0]
    assert "--solver kvaerno5" in lines[0] and "--max-steps" in lines[0]
    assert (tmp_path / "w.npz").exists()  # the partial result is kept, and flagged


def test_a_step_method_that_did_not_converge_notes_it_and_exits_0(data, tmp_path, capsys):
    code, out, err = call(["train", "--data", data, "--steps", "3", "--step-size", "0.01", "--save", tmp_path / "w.npz"],
                          capsys)
    assert code == 0
    assert err.strip().startswith("note: the run did not converge") and len(err.strip().splitlines()) == 1


def test_the_cause_of_a_stalled_flow_is_named():
    kink = flow_failure(solver="tsit5", solver_steps=200_000, max_steps=200_000, loss_start=1.0, loss_end=1.0,
                        explicit=True)
    assert "not smooth" in kink and "--optimizer gd" in kink
    stiff = flow_failure(solver="tsit5", solver_steps=200_000, max_steps=200_000, loss_start=1.0, loss_end=0.1,
                         explicit=True)
    assert "kvaerno5" in stiff
    implicit = flow_failure(solver="kvaerno5", solver_steps=10, max_steps=10, loss_start=1.0, loss_end=0.1,
                            explicit=False)
    assert "kvaerno5 (implicit" not in implicit and "--max-steps" in implicit
    early = flow_failure(solver="tsit5", solver_steps=17, max_steps=1000, loss_start=1.0, loss_end=np.nan,
                         explicit=True)
    assert "stopped early" in early


@pytest.mark.slow
def test_bench_times_the_catalog_from_an_empty_cache_and_from_the_cache(capsys):
    code, out, err = call(["bench", "--catalog", "--only", "norms-not-enough", "--json"], capsys)
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["run"] for r in runs] == [1, 2] and all(r["exit_code"] == 0 for r in runs)
    assert runs[0]["compile_seconds"] > 0 and 0 < runs[0]["compile_share"] <= 1
    assert runs[1]["compile_seconds"] < runs[0]["compile_seconds"]  # served from the persistent cache


def test_an_entry_whose_own_solve_stopped_early_cannot_read_all_claims_hold():
    import implicit_bias as ib
    from implicit_bias.cli_support import run_entry
    from implicit_bias.results import Result, at_most

    class Entry:
        @staticmethod
        def run(max_steps):
            p = ib.problems.gaussian_regression(4, 6, seed=0)
            out = ib.train(ib.models.LinearModel(6), ib.losses.square, ib.optim.Flow(max_steps=max_steps), p,
                           time_horizon=1e3, description="tiny flow")
            return Result("tiny", {}, [at_most("loss is finite", float(out.final_loss[0]), np.inf)])

    failed = run_entry(Entry, 3)
    assert not failed.all_hold and not failed.established
    guard = failed.claims[-1]
    assert guard.kind == "guard" and "tiny flow: 1 of 1" in guard.note
    assert run_entry(Entry, 100_000).all_hold


def test_component_options_reach_the_optimizer_and_the_reference(data, tmp_path, capsys):
    """--opt key=value sets any optimizer field (train) or reference option (reference)."""
    code, out, err = call(["train", "--data", data, "--optimizer", "momentum", "--opt", "momentum=0.0", "--steps", "50",
                           "--step-size", "0.05", "--save", tmp_path / "m.npz"], capsys)
    assert code in (0, 1), err
    code, out, err = call(["train", "--data", data, "--optimizer", "gd", "--steps", "50", "--step-size", "0.05",
                           "--save", tmp_path / "g.npz"], capsys)
    np.testing.assert_allclose(np.load(tmp_path / "m.npz")["w"], np.load(tmp_path / "g.npz")["w"], rtol=1e-12)
    w0 = tmp_path / "w0.npy"
    np.save(w0, np.ones(6))
    code, out, err = call(["reference", "min-l2", "--data", data, "--opt", f"init={w0}", "--save", tmp_path / "r.npz",
                           "--json"], capsys)
    assert code == 0, err
    code, out2, err = call(["reference", "min-l2", "--data", data, "--init", w0, "--save", tmp_path / "r2.npz"], capsys)
    np.testing.assert_array_equal(np.load(tmp_path / "r.npz")["w"], np.load(tmp_path / "r2.npz")["w"])
