"""Several seeds, one verdict: run an entry once per seed and keep, claim by claim, the worst case.

An entry whose claims rest on random data declares ``seeds: tuple[int, ...]`` next to ``seed``;
when ``seeds`` is not empty, :func:`over_seeds` runs ``run_one(replace(config, seed=s))`` for
each s and returns one Result whose every claim is the worst seed's (a failing one first, else
the one with the least slack), with the seed named in the note. Metrics and figures are the
first seed's; notes are kept per seed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

from implicit_bias.results import Claim, Result


def slack(claim: Claim) -> float:
    """How far a claim is from failing (negative: it fails; NaN counts as failing)."""
    m, e, t = float(claim.measured), float(claim.expected), float(claim.tolerance)
    if math.isnan(m):
        return -math.inf
    if claim.relation == "<=":
        return e + t - m
    if claim.relation == ">=":
        return m - (e - t)
    if claim.relation == "==":
        return 0.0 if m == e else -1.0
    return t - abs(m - e)


def worst_claims(per_seed: list[tuple[int, list[Claim]]]) -> list[Claim]:
    """For each claim name (in the first seed's order), the worst seed's claim, its seed in the note."""
    order: list[str] = []
    by_name: dict[str, list[tuple[int, Claim]]] = {}
    for seed, claims in per_seed:
        for c in claims:
            if c.name not in by_name:
                order.append(c.name)
                by_name[c.name] = []
            by_name[c.name].append((seed, c))
    out = []
    for name in order:
        entries = by_name[name]
        seed, worst = min(entries, key=lambda sc: (sc[1].holds, slack(sc[1])))
        where = f"worst of seeds {', '.join(str(s) for s, _ in entries)}: seed {seed}"
        out.append(dataclasses.replace(worst, note=f"{worst.note}; {where}" if worst.note else where))
    return out


def over_seeds(run_one: Callable[[Any], Result], config: Any) -> Result:
    """``run_one`` on every seed of ``config.seeds`` (or once on ``config.seed`` when it is empty)."""
    seeds = tuple(getattr(config, "seeds", ()) or ())
    if not seeds:
        return run_one(config)
    results = [(s, run_one(dataclasses.replace(config, seed=int(s)))) for s in seeds]
    first = results[0][1]
    if any(r.figures for _, r in results[1:]):
        import matplotlib.pyplot as plt

        for _, r in results[1:]:
            for fig in r.figures.values():
                plt.close(fig)
    notes = [f"seed {s}: {n}" for s, r in results for n in r.notes]
    return Result(first.experiment, dataclasses.asdict(config), worst_claims([(s, r.claims) for s, r in results]),
                  first.metrics, first.figures, notes=notes)
