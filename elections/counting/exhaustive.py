"""Exhaustive ballot: one round at a time (the web app runs the rounds).

A round elects the candidate with more than half of the valid votes.  Otherwise the one
candidate with the fewest votes goes out before the next round.  Equal lowest: within one
round nothing can be looked back on, so ``count(Method.EXHAUSTIVE, ...)`` decides by lot;
``exhaustive_round(..., previous_rounds=[...])`` first looks back over the totals of earlier
rounds (most recent first) and puts out the one with fewer votes in the most recent round at
which the tied candidates differed, as the STV rules do with stages; lot if they never did.
A lone standing candidate is elected.  Each paper names one candidate (or none: blank).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

from .prepare import Prepared, display_places, prepare
from .ties import TieBreaker
from .types import Ballot, Candidate, CountError, Method, Result, Stage, StageKind


def count_round(
    prep: Prepared, tb: TieBreaker, previous_rounds: Sequence[Mapping[str, Fraction]] = ()
) -> Result:
    names = {c.id: c.name for c in prep.candidates}
    totals: dict[str, Fraction] = {c: Fraction(0) for c in prep.standing}
    for ranking, w in prep.groups.items():
        if len(ranking) != 1:
            raise CountError(f"an exhaustive-ballot paper names one candidate, not {ranking!r}")
        totals[ranking[0]] += w
    valid = prep.valid_poll
    elected: list[str] = []
    excluded: list[str] = []
    notes: list[str] = []
    action = f"Round {len(previous_rounds) + 1}"
    if totals:
        top = max(totals.values())
        if len(totals) == 1 or 2 * top > valid:
            elected = [c for c in totals if totals[c] == top][:1]
            action += f"; {names[elected[0]]} elected"
            if len(totals) > 1:
                notes.append(f"More than half of the {valid} valid votes")
        else:
            low = min(totals.values())
            tied = [c for c in totals if totals[c] == low]
            history = [dict(r) for r in previous_rounds]
            loser = tb.pick(1, tied, "exclusion", history, lowest=True)
            excluded = [loser]
            action += f"; no majority; {names[loser]} excluded before the next round"
    stage = Stage(
        1,
        action,
        StageKind.ROUND,
        totals,
        Fraction(0),
        elected=list(elected),
        excluded=list(excluded),
        notes=notes,
    )
    return Result(
        method=Method.EXHAUSTIVE,
        seats=1,
        elected=elected,
        excluded=excluded,
        quota=None,
        valid_poll=valid,
        blank=Fraction(prep.blank),
        stages=[stage],
        ties=tb.ties,
        seed=tb.seed,
        places=display_places([*prep.groups.values(), prep.blank]),
    )


def exhaustive_round(
    candidates: Sequence[Candidate],
    ballots: Iterable[Ballot],
    *,
    seed: int | str | None = None,
    previous_rounds: Sequence[Mapping[str, Fraction]] = (),
) -> Result:
    """One round of an exhaustive ballot, with ``previous_rounds`` (each round's totals by
    candidate id, oldest first) used to break a tie for the exclusion before lot."""
    return count_round(prepare(candidates, ballots), TieBreaker(seed), previous_rounds)
