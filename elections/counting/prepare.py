"""Checking the input and grouping identical ballots, shared by every method."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .types import Ballot, Candidate, CountError

Weight = int | Fraction


@dataclass
class Prepared:
    candidates: list[Candidate]  # every candidate, as given
    standing: list[str]  # ids of candidates not withdrawn, in the order given
    groups: dict[tuple[str, ...], Weight]  # ranking (withdrawn removed) -> total weight
    blank: Weight  # weight of papers with no preference for a standing candidate

    @property
    def valid_poll(self) -> Fraction:
        return Fraction(sum(self.groups.values()))


def check_candidates(candidates: Sequence[Candidate]) -> None:
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise CountError(f"candidate ids must be unique; repeated: {', '.join(dupes)}")
    for c in candidates:
        if not isinstance(c, Candidate):
            raise CountError(f"not a Candidate: {c!r}")


def prepare(
    candidates: Sequence[Candidate], ballots: Iterable[Ballot], *, extra_ids: Iterable[str] = ()
) -> Prepared:
    """Group the ballots by ranking, checking every id, each ranking and each weight.

    Withdrawn candidates are dropped from rankings (the next preference counts instead); a
    paper left with no preference at all is counted with the blank papers.  ``extra_ids``
    are further ids a ballot may name (``AGAINST`` for yes/no).
    """
    candidates = list(candidates)
    check_candidates(candidates)
    withdrawn = {c.id for c in candidates if c.withdrawn}
    known = {c.id for c in candidates} | set(extra_ids)
    raw: dict[tuple[str, ...], Weight] = {}
    get = raw.get
    for b in ballots:
        w = b.weight
        # Exact numbers only: a float weight would make the count inexact.
        if type(w) is not int and not isinstance(w, Fraction):
            raise CountError(f"ballot weight must be an int or Fraction, not {w!r}")
        if w < 0:
            raise CountError(f"ballot weight must not be negative: {w}")
        r = b.ranking
        raw[r] = get(r, 0) + w
    blank: Weight = 0
    # One set operation per ranking, in C: taking its ids out of the known ones leaves as
    # many fewer as it has ids only if every one is known and none is repeated. (A loop in
    # Python per id was most of the time of preparing a count of 130,000 papers; a set of
    # each ranking and a second look for unknown ids, a quarter more than this.)
    outside = known.difference
    n_known = len(known)
    for ranking in raw:
        if type(ranking) is not tuple and not isinstance(ranking, tuple):
            raise CountError(f"ballot ranking must be a tuple of ids: {ranking!r}")
        if len(outside(ranking)) + len(ranking) != n_known:
            if len(set(ranking)) != len(ranking):
                raise CountError(f"a ballot ranks a candidate twice: {ranking!r}")
            unknown = [c for c in ranking if c not in known]
            raise CountError(f"a ballot names unknown candidate(s) {unknown!r}")
    if withdrawn or () in raw or 0 in raw.values():
        groups: dict[tuple[str, ...], Weight] = {}
        for ranking, w in raw.items():
            if withdrawn and not withdrawn.isdisjoint(ranking):
                ranking = tuple(c for c in ranking if c not in withdrawn)
            if not ranking:
                blank += w
            elif w:
                # Rankings that differed only by a withdrawn candidate now meet: add them.
                groups[ranking] = groups.get(ranking, 0) + w
    else:
        # Nothing withdrawn, no blank paper, no zero weight: the grouping is the groups.
        groups = raw
    standing = [c.id for c in candidates if not c.withdrawn]
    return Prepared(candidates, standing, groups, blank)


def display_places(weights: Iterable[Weight]) -> int:
    """Whole-number weights show as whole numbers; otherwise five decimals."""
    return 0 if all(type(w) is int or w.denominator == 1 for w in weights) else 5
