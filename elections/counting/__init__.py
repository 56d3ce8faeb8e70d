"""Teller's vote-counting engine: exact, rule-faithful and replayable.  No Django here.

Input: ``Candidate(id, name, gender=None, withdrawn=False)`` and ``Ballot(ranking, weight=1)``,
where ``ranking`` is a tuple of candidate ids in order of preference (one id for a single
choice; ``()`` for a blank paper, an abstention that is not part of the valid poll) and
``weight`` an ``int`` or ``Fraction`` (delegate card votes).  Withdrawn candidates are skipped
in rankings; a paper left with no preference counts as blank.

``count(method, candidates, ballots, seats=1, rules="scottish", min_women=0, seed=None)``
returns a ``Result``: the elected in order of election, the excluded, the quota, the valid
poll, the blank papers, and the count sheet as ``Stage``s (each candidate's total, the
non-transferable total, what happened) plus every ``Tie`` and how it was broken.  All
arithmetic is exact (``Fraction``); values are cut only where the rules say so.
``Result.to_dict(names)`` gives the JSON shape the command line prints.

Methods (``Method``):

- ``plurality``: one choice per paper; with ``seats`` > 1, the top ``seats`` are elected.
- ``block``: up to ``seats`` choices per paper, top ``seats`` elected.
- ``av``: alternative vote, one seat; lowest excluded until one has a majority of the votes
  still in the count.
- ``exhaustive``: ONE round of an exhaustive ballot: elected if a majority of valid votes,
  else the lowest goes out (see ``exhaustive.exhaustive_round`` for look-back over earlier
  rounds).
- ``stv``: ``rules="scottish"`` (Scottish Local Government Elections Order 2007, rules 45-52;
  checked against the official results of 85 wards of 2017) or ``rules="ers97"``
  (Electoral Reform Society rules, 1997, as read in ``stv_ers97``).
- ``yes_no``: one candidate or motion; see ``yesno`` for the ``FOR``/``AGAINST`` ballots.

Ties: decided by looking back to the most recent stage at which the tied candidates differed
(ERS97: the earliest), then by lot: a ``random.Random(seed)`` draw over the sorted ids,
recorded in ``Tie.draw`` so it can be replayed (a seed is drawn and recorded when none is
given).

``Result.excluded``: candidates excluded during the count (AV, STV, the exhaustive round);
for plurality and block vote, only those passed over by the women rule.  Totals cover the
standing (not withdrawn) candidates.

``min_women`` (multi-seat methods): once the seats left can only just be filled by the women
still standing, the others are excluded and the stage notes say so (see ``women``).  A
candidate's gender counts as a woman's when it is "female", "woman", "f" or "w" (any case).

BLT files: ``read_blt`` / ``write_blt`` (``BltError`` names the offending line).
Command line: ``python -m elections.counting FILE.blt --method stv [--json]``.
"""

from __future__ import annotations

from .blt import BltData, BltError, read_blt, write_blt
from .dispatch import count
from .exhaustive import exhaustive_round
from .types import (
    AGAINST,
    FOR,
    WOMEN_GENDERS,
    Ballot,
    Candidate,
    CountError,
    Method,
    Result,
    Stage,
    StageKind,
    Tie,
)
from .yesno import ABSTAIN

__all__ = [
    "ABSTAIN",
    "AGAINST",
    "FOR",
    "WOMEN_GENDERS",
    "Ballot",
    "BltData",
    "BltError",
    "Candidate",
    "CountError",
    "Method",
    "Result",
    "Stage",
    "StageKind",
    "Tie",
    "count",
    "exhaustive_round",
    "read_blt",
    "write_blt",
]
