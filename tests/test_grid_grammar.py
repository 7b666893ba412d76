"""The grid grammar of the command line and sweep files: every form, zip groups, and one-line errors."""

import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.sweeps import grid, parse_axis, parse_grid


@pytest.mark.parametrize("text,expected", [
    ("0.01,0.1,1", [0.01, 0.1, 1.0]),
    ("0..3", [0, 1, 2, 3]),
    ("0..20..5", [0, 5, 10, 15, 20]),
    ("logspace(-2,0,3)", [0.01, 0.1, 1.0]),
    ("linspace(0, 1, 3)", [0.0, 0.5, 1.0]),
    ("geomspace(1e-3,1,4)", [1e-3, 1e-2, 1e-1, 1.0]),
    ("logspace(-2,-1,2),0.5", [0.01, 0.1, 0.5]),
    ("7", [7.0]),
])
def test_every_form_of_an_axis(text, expected):
    np.testing.assert_allclose(parse_axis(text), expected, rtol=1e-14)


@pytest.mark.parametrize("text,message", [
    ("", "empty"), ("abc", "number"), ("1,,2", "empty"), ("logspace(1,2)", "three arguments"),
    ("logspace(0,1,2.5)", "positive integer"), ("powspace(1,2,3)", "unknown form"), ("3..1", "empty range"),
    ("0..1.5", "integers"), ("logspace(0,1,3", "unbalanced"), ("geomspace(0,1,3)", "positive"), ("nan", "finite"),
])
def test_bad_axes_are_one_line_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_axis(text, "init_scale")


def test_crossed_axes_equal_the_library_grid():
    parsed = parse_grid({"init_scale": "logspace(-2,0,3)", "seed": "0..1"})
    expected = grid(init_scale=np.logspace(-2, 0, 3), seed=[0, 1])
    assert parsed.keys() == expected.keys()
    for k in parsed:
        np.testing.assert_array_equal(parsed[k], expected[k])


def test_zipped_axes_are_paired_and_crossed_with_the_rest():
    out = parse_grid({"init_scale": "0.1,1", "seed": "0..2", "step_size": "0.01,0.02"}, [["init_scale", "step_size"]])
    assert len(out["seed"]) == 6
    pairs = set(zip(out["init_scale"], out["step_size"]))
    assert pairs == {(0.1, 0.01), (1.0, 0.02)}
    with pytest.raises(InputError, match="equal lengths"):
        parse_grid({"a": "1,2", "b": "1,2,3"}, [["a", "b"]])
    with pytest.raises(InputError, match="not in the grid"):
        parse_grid({"a": "1,2"}, [["a", "c"]])
