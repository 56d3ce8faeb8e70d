"""Plurality and block vote, worked by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from elections.counting import Ballot, Candidate, CountError, Method, count

from .helpers import ballots, cands


def test_plurality_winner_and_blank_papers() -> None:
    r = count(Method.PLURALITY, cands("abc"), ballots((5, "a"), (3, "b"), (1, "c"), (2, "")))
    assert r.elected == ["a"]
    assert r.valid_poll == 9 and r.blank == 2
    assert r.stages[0].totals == {"a": 5, "b": 3, "c": 1}
    assert r.stages[0].action == "First count; A elected"
    assert r.ties == [] and r.quota is None


def test_plurality_several_seats_elects_the_top() -> None:
    r = count("plurality", cands("abcd"), ballots((5, "a"), (3, "b"), (4, "c"), (1, "d")), seats=2)
    assert r.elected == ["a", "c"]


def test_card_votes_are_weights() -> None:
    bs = [Ballot(("a",), 120), Ballot(("b",), Fraction(241, 2)), Ballot(("a",))]
    r = count("plurality", cands("ab"), bs)
    assert r.elected == ["a"]
    assert r.valid_poll == Fraction(483, 2)
    assert r.to_dict()["stages"][0]["totals"] == {"a": "121.00000", "b": "120.50000"}


def test_tie_for_the_last_seat_is_drawn_by_lot_and_replayable() -> None:
    bs = ballots((4, "a"), (4, "b"), (4, "c"), (1, "d"))
    r = count("plurality", cands("abcd"), bs, seats=1, seed=2024)
    assert len(r.ties) == 1
    tie = r.ties[0]
    assert tie.purpose == "last seat" and tie.decided_by == "lot"
    assert tie.candidates == ["a", "b", "c"]
    assert tie.draw["seed"] == 2024 and tie.draw["pool"] == ["a", "b", "c"]
    assert sorted(tie.draw["order"]) == ["a", "b", "c"]
    assert r.elected == [tie.chosen] == [tie.draw["order"][0]]
    again = count("plurality", cands("abcd"), list(reversed(bs)), seats=1, seed=2024)
    assert again.elected == r.elected and again.ties == r.ties
    winners = {count("plurality", cands("abcd"), bs, seed=s).elected[0] for s in range(30)}
    assert winners == {"a", "b", "c"}


def test_tie_inside_the_seats_needs_no_lot() -> None:
    r = count("block", cands("abc"), ballots((3, "ab"), (1, "c")), seats=2)
    assert sorted(r.elected) == ["a", "b"] and r.ties == []


def test_unseeded_lot_records_the_seed_it_drew() -> None:
    bs = ballots((1, "a"), (1, "b"))
    r = count("plurality", cands("ab"), bs)
    assert r.seed is not None and r.ties[0].draw["seed"] == r.seed
    assert count("plurality", cands("ab"), bs, seed=r.seed).elected == r.elected


def test_block_vote() -> None:
    bs = ballots((4, "ab"), (3, "bc"), (2, "cd"), (2, "d"))
    r = count(Method.BLOCK, cands("abcd"), bs, seats=2)
    assert r.stages[0].totals == {"a": 4, "b": 7, "c": 5, "d": 4}
    assert r.elected == ["b", "c"]
    assert r.valid_poll == 11


def test_block_tie_for_last_seat() -> None:
    bs = ballots((4, "ab"), (4, "ac"))
    r = count(Method.BLOCK, cands("abc"), bs, seats=2, seed=7)
    assert r.elected[0] == "a" and r.elected[1] in "bc"
    assert [t.purpose for t in r.ties] == ["last seat"]


def test_block_minimum_women() -> None:
    # Men a, b, c lead; women d, e trail: two of three seats must go to women.
    bs = ballots((5, "abc"), (4, "a"), (2, "b"), (2, "de"), (1, "e"))
    r = count(Method.BLOCK, cands("abcde", women="de"), bs, seats=3, min_women=2)
    assert r.elected == ["a", "e", "d"]
    assert r.excluded == ["b", "c"]
    assert "Minimum of 2 women" in r.stages[0].notes[0]
    assert "B, C excluded" in r.stages[0].notes[0]


def test_block_minimum_women_met_already() -> None:
    bs = ballots((9, "ad"), (2, "bc"))
    r = count(Method.BLOCK, cands("abcd", women="d"), bs, seats=2, min_women=1)
    assert r.elected == ["a", "d"] and r.excluded == []


def test_minimum_women_with_too_few_women_standing() -> None:
    # One woman only: she is elected; a and b (equal) draw lots for the other seat.
    bs = ballots((9, "ab"), (3, "c"))
    r = count(Method.BLOCK, cands("abc", women="c"), bs, seats=2, min_women=2, seed=1)
    assert sorted(r.elected) in (["a", "c"], ["b", "c"])
    assert [(t.purpose, t.candidates) for t in r.ties] == [("last seat", ["a", "b"])]


@pytest.mark.parametrize(
    ("method", "ranking", "message"),
    [
        ("plurality", ("a", "b"), "more than one candidate"),
        ("block", ("a", "b", "c"), "more than 2 candidates"),
        ("plurality", ("z",), "unknown candidate"),
        ("plurality", ("a", "a"), "ranks a candidate twice"),
    ],
)
def test_bad_ballots(method: str, ranking: tuple[str, ...], message: str) -> None:
    with pytest.raises(CountError, match=message):
        count(method, cands("abc"), [Ballot(ranking)], seats=2 if method == "block" else 1)


@pytest.mark.parametrize("weight", [1.5, -1, "2"])
def test_bad_weights(weight: object) -> None:
    with pytest.raises(CountError, match="weight"):
        count("plurality", cands("ab"), [Ballot(("a",), weight)])


def test_bad_options() -> None:
    with pytest.raises(CountError, match="unknown method"):
        count("borda", cands("ab"), [])
    with pytest.raises(CountError, match="seats"):
        count("plurality", cands("ab"), [], seats=0)
    with pytest.raises(CountError, match="unique"):
        count("plurality", [Candidate("a", "A"), Candidate("a", "B")], [])
    with pytest.raises(CountError, match="multi-seat"):
        count("av", cands("ab"), [], min_women=1)
    with pytest.raises(CountError, match="exceeds"):
        count("block", cands("ab"), [], seats=1, min_women=2)
    with pytest.raises(CountError, match="rules"):
        count("stv", cands("ab"), [], rules="meek")


def test_withdrawn_candidate_is_skipped() -> None:
    cs = [Candidate("a", "A"), Candidate("b", "B", withdrawn=True), Candidate("c", "C")]
    r = count("av", cs, ballots((3, "ba"), (2, "c"), (1, "b")))
    assert r.stages[0].totals == {"a": 3, "c": 2}
    assert r.blank == 1 and r.elected == ["a"]


def test_women_genders() -> None:
    assert Candidate("a", "A", gender="Female").is_woman
    assert Candidate("a", "A", gender=" woman ").is_woman
    assert Candidate("a", "A", gender="F").is_woman
    assert not Candidate("a", "A", gender="male").is_woman
    assert not Candidate("a", "A").is_woman
