"""Checking and grouping the ballots before any count: the checks that run over all the
ballots at once must find what the loop one ballot at a time finds, and name the first
culprit."""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import pytest

from elections.counting import Ballot, CountError, count
from elections.counting.prepare import prepare
from tests.counting.helpers import ballots, cands


def test_it_adds_up_a_ranking_given_twice() -> None:
    prep = prepare(cands("abc"), ballots((2, "ab"), (3, "c"), (4, "ab"), (Fraction(1, 2), "c")))
    assert prep.groups == {("a", "b"): 6, ("c",): Fraction(7, 2)}
    assert prep.valid_poll == Fraction(19, 2)


def test_it_takes_any_iterable_of_ballot_like_objects() -> None:
    class Paper(NamedTuple):  # not our Ballot: its fields in another order
        weight: int
        ranking: tuple[str, ...]

    prep = prepare(cands("ab"), (p for p in [Paper(2, ("b", "a")), Paper(1, ("a",))]))
    assert prep.groups == {("b", "a"): 2, ("a",): 1}


class FractionLike(Fraction):
    pass


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1, True], "int or Fraction, not True"),
        ([1, 1.0, -1], "int or Fraction, not 1.0"),
        ([1, -2, 1.0], "must not be negative: -2"),
        ([Fraction(-1, 2)], "must not be negative: -1/2"),
    ],
)
def test_it_names_the_first_bad_weight(weights: list[object], message: str) -> None:
    papers = [Ballot((c,), w) for c, w in zip("abc", weights, strict=False)]
    with pytest.raises(CountError, match=message):
        prepare(cands("abc"), papers)


def test_it_accepts_a_fraction_subclass_as_a_weight() -> None:
    assert prepare(cands("a"), [Ballot(("a",), FractionLike(3, 2))]).valid_poll == Fraction(3, 2)


@pytest.mark.parametrize(
    ("rankings", "message"),
    [
        ([("a", "b"), ("b", "b"), ("z",)], r"ranks a candidate twice: \('b', 'b'\)"),
        ([("a", "b"), ("z", "a"), ("b", "b")], r"unknown candidate\(s\) \['z'\]"),
        ([("a", "z", "z")], r"ranks a candidate twice: \('a', 'z', 'z'\)"),
        ([("a",), "ab"], "must be a tuple of ids: 'ab'"),
    ],
)
def test_it_names_the_first_bad_ranking(rankings: list[object], message: str) -> None:
    with pytest.raises(CountError, match=message):
        count("stv", cands("abc"), [Ballot(r) for r in rankings], seats=2)  # type: ignore[arg-type]


def test_grouped_and_per_paper_input_count_alike() -> None:
    spec = [(5, "abc"), (3, "bca"), (2, "cab"), (4, "acb"), (1, "b"), (2, "cb")]
    grouped = count("stv", cands("abc"), ballots(*spec), seats=2, seed=1)
    papers = [Ballot(tuple(r)) for n, r in spec for _ in range(n)]
    per_paper = count("stv", cands("abc"), papers, seats=2, seed=1)
    assert per_paper.to_dict() == grouped.to_dict()
