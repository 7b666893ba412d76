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
