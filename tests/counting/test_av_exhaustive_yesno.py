"""Alternative vote, exhaustive ballot rounds and yes/no, worked by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from elections.counting import (
    AGAINST,
    FOR,
    Ballot,
    Candidate,
    CountError,
    Method,
    count,
    exhaustive_round,
)

from .helpers import ballots, cands, totals


def test_av_majority_at_first_count() -> None:
    r = count(Method.AV, cands("abc"), ballots((5, "ab"), (2, "b"), (2, "cb")))
    assert r.elected == ["a"] and len(r.stages) == 1
    assert r.stages[0].action == "First count; A elected"


def test_av_transfers() -> None:
    r = count("av", cands("abc"), ballots((4, "a"), (3, "b"), (2, "cb")))
    assert [s.action for s in r.stages] == ["First count", "C excluded; B elected"]
    assert totals(r, 2) == {"a": 4, "b": 5, "c": 0}
    assert r.excluded == ["c"] and r.elected == ["b"]


def test_av_exclusion_tie_decided_by_lookback() -> None:
    # Stage 2: B and C both on 5; at stage 1 B had 4, C 5, so B goes out.
    bs = ballots((10, "a"), (4, "bc"), (5, "c"), (1, "db"), (2, "d"))
    r = count("av", cands("abcd"), bs)
    assert totals(r, 2) == {"a": 10, "b": 5, "c": 5, "d": 0}
    assert r.stages[1].non_transferable == 2
    assert r.excluded == ["d", "b"]
    (tie,) = r.ties
    assert (tie.stage, tie.purpose, tie.decided_by, tie.chosen) == (3, "exclusion", "lookback", "b")
    # Stage 3: C 9 and A 10 of the 19 votes still in the count: A has a majority.
    assert totals(r, 3) == {"a": 10, "b": 0, "c": 9, "d": 0}
    assert r.stages[2].non_transferable == 3
    assert r.elected == ["a"]


def test_av_exclusion_tie_decided_by_lot() -> None:
    bs = ballots((4, "a"), (2, "ba"), (2, "cb"))
    r = count("av", cands("abc"), bs, seed="replay me")
    tie = r.ties[0]
    assert tie.decided_by == "lot" and tie.candidates == ["b", "c"]
    assert tie.draw["seed"] == "replay me"
    assert r.excluded[0] == tie.chosen
    assert count("av", cands("abc"), bs, seed="replay me").to_dict() == r.to_dict()


def test_av_exhausted_papers_leave_the_count() -> None:
    # A 4, B 3, C 2 -> C excluded; one of C's papers exhausts: A 4 of 8 is no majority...
    bs = ballots((4, "a"), (3, "b"), (1, "c"), (1, "cb"))
    r = count("av", cands("abc"), bs, seed=1)
    assert totals(r, 2) == {"a": 4, "b": 4, "c": 0}
    # ...A and B tie on 4 and at stage 1 B had fewer (3): B goes out, A elected.
    assert r.elected == ["a"] and r.excluded == ["c", "b"]
    assert [t.decided_by for t in r.ties] == ["lookback"]


def test_exhaustive_round_majority() -> None:
    r = count(Method.EXHAUSTIVE, cands("abc"), ballots((6, "a"), (3, "b"), (2, "c")))
    assert r.elected == ["a"] and r.excluded == []


def test_exhaustive_round_excludes_the_lowest() -> None:
    r = count(Method.EXHAUSTIVE, cands("abc"), ballots((5, "a"), (4, "b"), (2, "c"), (3, "")))
    assert r.elected == [] and r.excluded == ["c"]
    assert r.valid_poll == 11 and r.blank == 3
    assert "C excluded before the next round" in r.stages[0].action


def test_exhaustive_round_tie_by_lot() -> None:
    bs = ballots((4, "a"), (2, "b"), (2, "c"))
    r = count(Method.EXHAUSTIVE, cands("abc"), bs, seed=11)
    (tie,) = r.ties
    assert tie.purpose == "exclusion" and tie.decided_by == "lot"
    assert r.excluded == [tie.chosen]


def test_exhaustive_round_tie_by_earlier_round() -> None:
    bs = ballots((4, "a"), (2, "b"), (2, "c"))
    earlier = [
        {"a": Fraction(4), "b": Fraction(2), "c": Fraction(1), "d": Fraction(1)},
        {"a": Fraction(5), "b": Fraction(1), "c": Fraction(3)},
    ]
    r = exhaustive_round(cands("abc"), bs, previous_rounds=earlier)
    assert r.excluded == ["b"]  # fewer in the most recent round at which they differed
    assert r.ties[0].decided_by == "lookback"
    assert r.stages[0].action.startswith("Round 3")


def test_exhaustive_round_needs_single_choices() -> None:
    with pytest.raises(CountError, match="one candidate"):
        count(Method.EXHAUSTIVE, cands("ab"), ballots((1, "ab")))


def test_yes_no() -> None:
    cs = [Candidate("m", "Motion 1")]
    bs = [Ballot(("m",), 3), Ballot((FOR,)), Ballot((AGAINST,), 3), Ballot(())]
    r = count(Method.YES_NO, cs, bs)
    assert r.elected == ["m"] and r.valid_poll == 7 and r.blank == 1
    assert r.stages[0].totals == {"m": 4, AGAINST: 3}


def test_yes_no_tie_does_not_elect() -> None:
    r = count("yes_no", [Candidate("c", "Carol")], [Ballot(("c",)), Ballot((AGAINST,))])
    assert r.elected == []
    assert "tie does not elect" in r.stages[0].notes[0]


def test_yes_no_needs_one_candidate() -> None:
    with pytest.raises(CountError, match="exactly one"):
        count("yes_no", cands("ab"), [])
    with pytest.raises(CountError, match="one answer"):
        count("yes_no", cands("a"), [Ballot(("a", AGAINST))])
