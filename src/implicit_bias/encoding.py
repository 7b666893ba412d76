"""The one rule for numbers in every JSON the package writes: NaN -> null, ±inf -> "inf"/"-inf".

JSON has no non-finite numbers; a tolerance or bound of ±inf must survive a round trip (claims are
re-read by ``report``), so infinities are kept as strings and only NaN (no value) becomes null.
"""

from __future__ import annotations

import math
from typing import Any


def encode_number(x: Any) -> Any:
    """A float for JSON: NaN -> None, ±inf -> "inf"/"-inf", finite numbers as they are."""
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def decode_number(v: Any) -> float:
    """The inverse of :func:`encode_number`: None -> NaN, "inf"/"-inf" -> ±inf."""
    return float("nan") if v is None else float(v)
