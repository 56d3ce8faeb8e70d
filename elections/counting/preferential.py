"""Alternative vote: one seat, preferential ballots.

Each stage either elects the candidate with more than half of the votes still in the count
(papers whose preferences have run out are non-transferable and no longer count), or excludes
the continuing candidate with the fewest votes, whose papers pass at full value to their next
continuing preference.  Equal lowest: fewer votes at the most recent stage at which they
differed, then by lot.  The last continuing candidate is elected.
"""

from __future__ import annotations

from fractions import Fraction

from .prepare import Prepared, display_places
from .ties import TieBreaker
from .types import Method, Result, Stage, StageKind

Paper = tuple[tuple[str, ...], int, int | Fraction]  # ranking, position held, weight


def count_av(prep: Prepared, tb: TieBreaker) -> Result:
    names = {c.id: c.name for c in prep.candidates}
    continuing = list(prep.standing)
    piles: dict[str, list[Paper]] = {c: [] for c in continuing}
    # Sums are made in plain ints (or Fractions, for fractional weights) and added to the
    # Fraction totals once per candidate: adding an int to a Fraction for every paper was
    # most of the time of a count of 130,000.
    first: dict[str, int | Fraction] = {c: 0 for c in continuing}
    for ranking, w in prep.groups.items():
        piles[ranking[0]].append((ranking, 0, w))
        first[ranking[0]] += w
    totals: dict[str, Fraction] = {c: Fraction(first[c]) for c in continuing}
    non_transferable = Fraction(0)
    history: list[dict[str, Fraction]] = []
    stages: list[Stage] = []
    excluded: list[str] = []
    elected: list[str] = []
    action, kind, out = "First count", StageKind.FIRST, []

    while True:
        in_count = sum(totals[c] for c in continuing)
        top = max((totals[c] for c in continuing), default=Fraction(0))
        notes = []
        if len(continuing) == 1 or (in_count and 2 * top > in_count):
            leaders = [c for c in continuing if totals[c] == top]
            elected = [leaders[0]] if len(continuing) > 1 else list(continuing)
            if len(continuing) > 1:
                notes.append(
                    f"{names[elected[0]]} has more than half of the {in_count} votes in the count"
                )
            action += f"; {names[elected[0]]} elected"
        stages.append(
            Stage(
                len(stages) + 1,
                action,
                kind,
                dict(totals),
                non_transferable,
                elected=list(elected),
                excluded=out,
                notes=notes,
            )
        )
        history.append(dict(totals))
        if elected or not continuing:
            break
        low = min(totals[c] for c in continuing)
        tied = [c for c in continuing if totals[c] == low]
        loser = tb.pick(len(stages) + 1, tied, "exclusion", history, lowest=True)
        continuing.remove(loser)
        excluded.append(loser)
        totals[loser] = Fraction(0)
        live = set(continuing)
        gains: dict[str, int | Fraction] = {}
        lost: int | Fraction = 0
        for ranking, pos, w in piles.pop(loser):
            for nxt in range(pos + 1, len(ranking)):
                t = ranking[nxt]
                if t in live:
                    piles[t].append((ranking, nxt, w))
                    gains[t] = gains.get(t, 0) + w
                    break
            else:
                lost += w
        for t, gain in gains.items():
            totals[t] += gain
        non_transferable += lost
        action, kind, out = f"{names[loser]} excluded", StageKind.EXCLUSION, [loser]

    return Result(
        method=Method.AV,
        seats=1,
        elected=elected,
        excluded=excluded,
        quota=None,
        valid_poll=prep.valid_poll,
        blank=Fraction(prep.blank),
        stages=stages,
        ties=tb.ties,
        seed=tb.seed,
        places=display_places([*prep.groups.values(), prep.blank]),
    )
