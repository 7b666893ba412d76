"""Every usage error of every subcommand: one line ``error: ...`` on stderr naming what was wrong, exit 2,
no traceback, nothing written."""

import numpy as np
import pytest
from cli_helpers import call

#: (arguments, a word the message must contain) — an unknown flag, a missing option or argument, a value
#: of the wrong type, for each subcommand.
USAGE_ERRORS = [
    (["nosuch"], "nosuch"),
    (["list", "--bogus"], "--bogus"),
    (["run"], "name"),
    (["run", "min-norm-regression", "--bogus"], "--bogus"),
    (["run", "no-such-entry"], "no-such-entry"),
    (["run", "min-norm-regression", "--set", "nokey=1"], "nokey"),
    (["run", "min-norm-regression", "--set", "seed=abc"], "seed"),
    (["train"], "--data"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--steps", "ten"], "--steps"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--bogus"], "--bogus"),
    (["train", "--data", "MISSING", "--save", "OUT/w.npz", "--steps", "5", "--step-size", "0.1"], "MISSING"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--model", "nosuch", "--steps", "5", "--step-size", "0.1"], "nosuch"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--steps", "5", "--step-size", "0.1", "--max-steps", "9"], "--max-steps"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--optimizer", "flow", "--time", "1", "--max-steps", "0"],
     "max_steps"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--optimizer", "momentum", "--steps", "5", "--step-size", "0.1",
      "--opt", "bogus=1"], "bogus"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--steps", "5", "--step-size", "0.1", "--opt", "novalue"], "key=value"),
    (["reference"], "name"),
    (["reference", "min-l2", "--data", "DATA", "--save", "OUT/r.npz", "--opt", "w0=MISSING.npy"], "not found"),
    (["reference", "min-l2", "--data", "DATA", "--save", "OUT/r.npz", "--opt", "alpha=2"], "alpha"),
    (["reference", "min-l2"], "--data"),
    (["reference", "nosuch", "--data", "DATA", "--save", "OUT/r.npz"], "nosuch"),
    (["reference", "q-alpha", "--data", "DATA", "--save", "OUT/r.npz", "--init-scale", "big"], "init-scale"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--optimizer", "momentum", "--steps", "5", "--step-size", "0.1",
      "--momentum", "abc"], "momentum"),
    (["train", "--data", "DATA", "--save", "OUT/w.npz", "--optimizer", "momentum", "--steps", "5", "--step-size", "0.1",
      "--momentum", "1.5"], "[0, 1)"),
    (["reproduce", "--bogus"], "--bogus"),
    (["reproduce", "--only", "no-such-entry", "--out", "OUT/rep"], "no-such-entry"),
    (["reproduce", "--device", "tpu", "--out", "OUT/rep"], "tpu"),
    (["report"], "directory"),
    (["report", "MISSING"], "MISSING"),
    (["runs", "--bogus"], "--bogus"),
    (["runs", "MISSING"], "run directories"),
    (["bench", "--max-configs", "many"], "--max-configs"),
    (["bench", "--max-configs", "0"], "--max-configs"),
    (["bench", "--only", "max-margin"], "--catalog"),
    (["bench", "--catalog", "--only", "no-such-entry"], "no-such-entry"),
    (["identify"], "--param"),
]


@pytest.fixture
def paths(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, X=rng.standard_normal((4, 6)), y=rng.standard_normal(4))
    out = tmp_path / "out"
    out.mkdir()
    return {"DATA": str(data), "OUT": str(out), "MISSING": str(tmp_path / "missing.npz")}


@pytest.mark.parametrize("args,word", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_are_one_line_and_exit_2(args, word, paths, capsys):
    def fill(a: str) -> str:
        for k, v in paths.items():
            a = a.replace(k, v) if a.startswith(k) else a
        return a

    args = [fill(a) for a in args]
    word = paths.get(word, word)
    code, out, err = call(args, capsys)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert word.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in err
    from pathlib import Path

    assert list(Path(paths["OUT"]).iterdir()) == []  # nothing written


def test_a_bare_command_prints_its_help(capsys):
    code, out, err = call([], capsys)
    assert code == 0 and "Usage" in out and err == ""
