"""Small builders for hand-worked examples."""

from __future__ import annotations

from fractions import Fraction

from elections.counting import Ballot, Candidate


def cands(spec: str, women: str = "") -> list[Candidate]:
    """``cands("abc", women="b")``: candidates a, b, c named A, B, C; b a woman."""
    return [Candidate(c, c.upper(), gender="female" if c in women else "male") for c in spec]


def ballots(*spec: tuple[int | Fraction, str]) -> list[Ballot]:
    """``ballots((3, "ab"), (2, ""))``: 3 papers ranking a then b, 2 blank papers."""
    return [Ballot(tuple(ranking), weight) for weight, ranking in spec]


def totals(result, stage: int) -> dict[str, Fraction]:
    return result.stages[stage - 1].totals
