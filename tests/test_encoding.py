"""One rule for numbers in JSON: NaN -> null, ±inf -> "inf"/"-inf", and back."""

import json
import math

from implicit_bias.encoding import decode_number, encode_number
from implicit_bias.results import Claim, at_most


def test_non_finite_numbers_round_trip():
    for x in (1.5, float("inf"), float("-inf")):
        assert decode_number(json.loads(json.dumps(encode_number(x)))) == x
    assert encode_number(float("nan")) is None and math.isnan(decode_number(None))


def test_a_claim_with_an_infinite_bound_reads_back_the_same():
    claim = at_most("loss is finite", 3.0, float("inf"), kind="guard")
    again = Claim.from_dict(json.loads(json.dumps(claim.to_dict(), allow_nan=False)))
    assert again == claim and again.holds


def test_every_json_writer_uses_the_one_encoding(tmp_path, capsys):
    """--json output, reference summaries and the store's files encode non-finite numbers one way."""
    import numpy as np

    from implicit_bias.cli_support import emit_json
    from implicit_bias.encoding import dumps, to_jsonable
    from implicit_bias.references import Reference
    from implicit_bias.store.atomic import write_json_atomic

    value = {"up": np.float32("inf"), "down": float("-inf"), "none": np.float64("nan"), "sizes": (1, np.int64(2)),
             "flag": np.bool_(True)}
    expected = {"up": "inf", "down": "-inf", "none": None, "sizes": [1, 2], "flag": True}
    assert to_jsonable(value) == expected and json.loads(dumps(value)) == expected
    emit_json(value)
    assert json.loads(capsys.readouterr().out) == expected
    assert json.loads(write_json_atomic(tmp_path / "v.json", value).read_text()) == expected
    summary = Reference("demo", np.zeros(2), float("inf"), "optimal", info={"margin": np.float64("nan")}).summary()
    assert summary["objective"] == "inf" and summary["margin"] is None
    json.dumps(summary, allow_nan=False)
