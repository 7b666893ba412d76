"""The one shape every experiment returns: claims, metrics and figures.

A :class:`Claim` compares a measured number with an expected one under a stated
relation and tolerance; a :class:`Result` bundles the claims of one experiment with
its configuration, its long-format metrics table and its figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from implicit_bias.encoding import decode_number, encode_number

Relation = Literal["<=", ">=", "~=", "=="]
#: what a claim is evidence of: the paper's statement (``result``), a precondition of a result
#: (``guard``: convergence, interpolation, solver success) or a check of the set-up (``sanity``).
ClaimKind = Literal["result", "guard", "sanity"]
CLAIM_KINDS: tuple[str, ...] = ("result", "guard", "sanity")


@dataclass(frozen=True)
class Claim:
    """A checked statement: ``measured <relation> expected`` within ``tolerance``.

    ``kind`` says what the claim is evidence of (see :data:`ClaimKind`); a failed guard
    leaves the results of its experiment not established.

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
    kind: ClaimKind = "result"

    def __post_init__(self) -> None:
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"claim kind must be one of {CLAIM_KINDS}, got {self.kind!r}")

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
            "measured": encode_number(float(self.measured)),
            "expected": encode_number(float(self.expected)),
            "tolerance": encode_number(float(self.tolerance)),
            "relation": self.relation,
            "holds": bool(self.holds),
            "note": self.note,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Claim":
        num = decode_number
        return cls(d["name"], num(d["measured"]), num(d["expected"]), num(d["tolerance"]),
                   d.get("relation", "~="), d.get("note", ""), d.get("kind", "result"))


def at_most(name: str, measured: float, bound: float, note: str = "", *, kind: ClaimKind = "result") -> Claim:
    """Claim ``measured <= bound``."""
    return Claim(name, float(measured), float(bound), 0.0, "<=", note, kind)


def at_least(name: str, measured: float, bound: float, note: str = "", *, kind: ClaimKind = "result") -> Claim:
    """Claim ``measured >= bound``."""
    return Claim(name, float(measured), float(bound), 0.0, ">=", note, kind)


def close_to(name: str, measured: float, expected: float, tolerance: float, note: str = "", *,
             kind: ClaimKind = "result") -> Claim:
    """Claim ``|measured - expected| <= tolerance``."""
    return Claim(name, float(measured), float(expected), float(tolerance), "~=", note, kind)


def is_true(name: str, value: bool, note: str = "", *, kind: ClaimKind = "result") -> Claim:
    """Claim that a boolean statement holds (measured 1.0 means true)."""
    return Claim(name, 1.0 if bool(value) else 0.0, 1.0, 0.0, "==", note, kind)


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
    def established(self) -> bool:
        """Every guard holds, so the result claims mean what they say."""
        return all(c.holds for c in self.claims if c.kind == "guard")

    def counts(self) -> dict[str, tuple[int, int]]:
        """kind -> (claims that hold, claims) for each of result, guard, sanity."""
        return {k: (sum(c.holds for c in self.claims if c.kind == k), sum(c.kind == k for c in self.claims))
                for k in CLAIM_KINDS}

    @property
    def n_failed(self) -> int:
        return sum(not c.holds for c in self.claims)

    def status(self, claim: Claim) -> str:
        """How one of this run's claims reads: see :func:`claim_status`."""
        return claim_status(claim, self.established)

    def verdict(self) -> str:
        """``"5 of 5 results hold, 3 of 3 guards, 1 of 1 sanity checks"``: see :func:`verdict_text`."""
        return verdict_text([self])


def claim_status(claim: Claim, established: bool = True) -> str:
    """``"holds"``, ``"FAILS"``, or ``"not established"`` for a result claim of a run whose guard failed."""
    if claim.kind == "result" and not established:
        return "not established"
    return "holds" if claim.holds else "FAILS"


def verdict_text(results: list[Result]) -> str:
    """Results, guards and sanity checks counted apart over several runs.

    ``"12 of 12 results hold, 4 of 4 guards, 2 of 2 sanity checks"``; the result claims of a run
    with a failed guard count as not established, never as holding:
    ``"3 of 5 results hold (2 not established: a guard fails), 3 of 4 guards, 1 of 1 sanity check"``.
    """
    held = {k: 0 for k in CLAIM_KINDS}
    total = {k: 0 for k in CLAIM_KINDS}
    unestablished = 0
    for result in results:
        established = result.established
        for c in result.claims:
            total[c.kind] += 1
            if c.kind == "result" and not established:
                unestablished += 1
            elif c.holds:
                held[c.kind] += 1
    text = f"{held['result']} of {total['result']} result{'s' if total['result'] != 1 else ''} " \
           f"hold{'s' if total['result'] == 1 else ''}"
    if unestablished:
        text += f" ({unestablished} not established: a guard fails)"
    if total["guard"]:
        text += f", {held['guard']} of {total['guard']} guard{'s' if total['guard'] != 1 else ''}"
    if total["sanity"]:
        text += f", {held['sanity']} of {total['sanity']} sanity check{'s' if total['sanity'] != 1 else ''}"
    return text
