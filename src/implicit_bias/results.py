"""The one shape every experiment returns: claims, metrics and figures.

A :class:`Claim` compares a measured number with an expected one under a stated
relation and tolerance; a :class:`Result` bundles the claims of one experiment with
its configuration, its long-format metrics table and its figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Relation = Literal["<=", ">=", "~=", "=="]


def _finite_or_none(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


@dataclass(frozen=True)
class Claim:
    """A checked statement: ``measured <relation> expected`` within ``tolerance``.

    Relations:
      * ``"<="``: holds when measured <= expected + tolerance (an upper bound);
      * ``">="``: holds when measured >= expected - tolerance (a lower bound);
      * ``"~="``: holds when |measured - expected| <= tolerance;
      * ``"=="``: a boolean statement; measured and expected are 1.0/0.0.
    """

    name: str
    measured: float
    expected: float
    tolerance: float
    relation: Relation = "~="
    note: str = ""

    @property
    def holds(self) -> bool:
        m, e, t = float(self.measured), float(self.expected), float(self.tolerance)
        if math.isnan(m):
            return False
        if self.relation == "<=":
            return m <= e + t
        if self.relation == ">=":
            return m >= e - t
        if self.relation == "==":
            return m == e
        return abs(m - e) <= t

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measured": _finite_or_none(float(self.measured)),
            "expected": _finite_or_none(float(self.expected)),
            "tolerance": _finite_or_none(float(self.tolerance)),
            "relation": self.relation,
            "holds": bool(self.holds),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Claim":
        def num(v: Any) -> float:
            if v is None:
                return float("nan")
            return float(v)

        return cls(d["name"], num(d["measured"]), num(d["expected"]), num(d["tolerance"]),
                   d.get("relation", "~="), d.get("note", ""))


def at_most(name: str, measured: float, bound: float, note: str = "") -> Claim:
    """Claim ``measured <= bound``."""
    return Claim(name, float(measured), float(bound), 0.0, "<=", note)


def at_least(name: str, measured: float, bound: float, note: str = "") -> Claim:
    """Claim ``measured >= bound``."""
    return Claim(name, float(measured), float(bound), 0.0, ">=", note)


def close_to(name: str, measured: float, expected: float, tolerance: float, note: str = "") -> Claim:
    """Claim ``|measured - expected| <= tolerance``."""
    return Claim(name, float(measured), float(expected), float(tolerance), "~=", note)


def is_true(name: str, value: bool, note: str = "") -> Claim:
    """Claim that a boolean statement holds (measured 1.0 means true)."""
    return Claim(name, 1.0 if bool(value) else 0.0, 1.0, 0.0, "==", note)


@dataclass
class Result:
    """What one experiment run produced.

    Attributes:
      experiment: catalog name.
      config: the configuration as a JSON-able dict.
      claims: the checked statements.
      metrics: long-format table (``pandas.DataFrame`` with at least the columns
        ``series, config, step, metric, value``), or None.
      figures: name -> matplotlib Figure (written by the store, never by the experiment).
      wall_time: seconds the run took (filled in by the runner).
      notes: free-form remarks printed with the claims (e.g. "Adam is not min-norm").
      compile_seconds: the compile time of each engine program the run built (filled in by the runner).
    """

    experiment: str
    config: dict[str, Any]
    claims: list[Claim]
    metrics: Any = None
    figures: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0
    notes: list[str] = field(default_factory=list)
    compile_seconds: list[float] = field(default_factory=list)

    def compile_summary(self) -> dict[str, float]:
        """{"programs", "total", "longest"} of the engine's compilations during the run (seconds)."""
        c = self.compile_seconds
        return {"programs": len(c), "total": float(sum(c)), "longest": float(max(c, default=0.0))}

    @property
    def all_hold(self) -> bool:
        return all(c.holds for c in self.claims)

    @property
    def n_failed(self) -> int:
        return sum(not c.holds for c in self.claims)
