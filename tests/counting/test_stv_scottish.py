"""Scottish STV, worked by hand."""

from __future__ import annotations

from fractions import Fraction as F

from elections.counting import Ballot, Candidate, Method, StageKind, count

from .helpers import ballots, cands, totals


def stv(spec: str, *papers: tuple[int, str], seats: int, **kw):
    women = kw.pop("women", "")
    return count(Method.STV, cands(spec, women=women), ballots(*papers), seats=seats, **kw)


def test_surplus_then_exclusions() -> None:
    r = stv("abcd", (6, "ab"), (3, "ac"), (1, "a"), (2, "b"), (4, "c"), (4, "dc"), seats=2)
    assert r.quota == 7 and r.valid_poll == 20
    assert [s.action for s in r.stages] == [
        "First count; A elected",
        "Surplus of A transferred",
        "B excluded",
        "D excluded; C elected",
    ]
    assert [s.kind for s in r.stages] == [
        StageKind.FIRST,
        StageKind.SURPLUS,
        StageKind.EXCLUSION,
        StageKind.EXCLUSION,
    ]
    # Surplus 3 of 10: every paper of A passes at 0.3.
    assert totals(r, 2) == {"a": 7, "b": F("3.8"), "c": F("4.9"), "d": 4}
    assert r.stages[1].non_transferable == F("0.3")
    assert r.stages[2].non_transferable == F("4.1")  # B's 2 at 1 and 6 at 0.3 exhaust
    assert totals(r, 4) == {"a": 7, "b": 0, "c": F("8.9"), "d": 0}
    assert r.elected == ["a", "c"] and r.excluded == ["b", "d"]


def test_transfer_values_are_cut_to_five_places() -> None:
    r = stv("abc", (5, "ab"), (1, "ac"), (1, "b"), (2, "c"), seats=2)
    assert r.quota == 4
    # 2/6 = 0.333333... cut to 0.33333; the 0.00002 lost is non-transferable.
    assert totals(r, 2) == {"a": 4, "b": F("2.66665"), "c": F("2.33333")}
    assert r.stages[1].non_transferable == F("0.00002")
    assert r.to_dict()["stages"][1]["totals"]["b"] == "2.66665"
    # C excluded; B, the only one left, is deemed elected below the quota.
    assert r.stages[2].action == "C excluded; B elected"
    assert "deemed elected" in r.stages[2].notes[0]
    assert r.stages[2].non_transferable == F("2.33335")
    assert r.elected == ["a", "b"]


def test_exactly_the_quota_leaves_no_surplus_stage() -> None:
    r = stv("abcd", (6, "ab"), (5, "b"), (4, "c"), (2, "db"), seats=2)
    assert r.quota == 6
    assert [s.action for s in r.stages] == ["First count; A elected", "D excluded; B elected"]
    assert r.elected == ["a", "b"]


def test_equal_totals_on_election_and_equal_surpluses_by_lookback() -> None:
    r = stv("abcde", (8, "ad"), (7, "be"), (2, "cae"), (3, "cb"), (6, "d"), (6, "e"), seats=3)
    assert r.quota == 9
    assert totals(r, 2) == {"a": 10, "b": 10, "c": 0, "d": 6, "e": 6}
    # A and B equal at stage 2; at stage 1 A had 8 to B's 7.
    assert [(t.stage, t.purpose, t.decided_by, t.chosen) for t in r.ties] == [
        (2, "election order", "lookback", "a"),
        (3, "surplus order", "lookback", "a"),
    ]
    assert [s.action for s in r.stages] == [
        "First count",
        "C excluded; A, B elected",
        "Surplus of A transferred",
        "Surplus of B transferred",
        "D excluded; E elected",
    ]
    assert totals(r, 3) == {"a": 9, "b": 10, "c": 0, "d": F("6.8"), "e": F("6.2")}
    assert totals(r, 4) == {"a": 9, "b": 9, "c": 0, "d": F("6.8"), "e": F("6.9")}
    assert r.elected == ["a", "b", "e"]


def test_largest_surplus_first() -> None:
    r = stv("abcd", (9, "ac"), (12, "bc"), (3, "c"), (4, "d"), seats=3)
    assert r.quota == 8
    assert r.elected[:2] == ["b", "a"]  # higher total elected first
    assert r.stages[1].action.startswith("Surplus of B")
    assert r.stages[2].action.startswith("Surplus of A")


def test_equal_surpluses_equal_throughout_go_by_the_lot_that_ordered_election() -> None:
    r = stv("abcde", (8, "ac"), (8, "bd"), (3, "c"), (3, "d"), (2, "e"), seats=3, seed=5)
    assert r.quota == 7
    first, surplus = r.ties[0], r.ties[1]
    assert (first.purpose, first.decided_by) == ("election order", "lot")
    assert (surplus.purpose, surplus.decided_by) == ("surplus order", "lot")
    assert surplus.chosen == first.chosen == r.elected[0]
    assert surplus.draw == first.draw
    assert r.stages[1].action == f"Surplus of {r.elected[0].upper()} transferred"


def test_exclusion_tie_by_lookback() -> None:
    r = stv("abcd", (10, "a"), (4, "bc"), (5, "c"), (1, "db"), (2, "d"), seats=1)
    assert r.quota == 12
    assert totals(r, 2) == {"a": 10, "b": 5, "c": 5, "d": 0}
    assert r.excluded[:2] == ["d", "b"]
    (tie,) = r.ties
    assert (tie.stage, tie.purpose, tie.decided_by) == (3, "exclusion", "lookback")
    assert r.elected == ["a"]


def test_exclusion_tie_by_lot_is_recorded_and_replays() -> None:
    papers = ((5, "a"), (2, "bd"), (2, "c"), (4, "d"))
    r = stv("abcd", *papers, seats=2, seed=99)
    (tie, *_) = r.ties
    assert (tie.stage, tie.purpose, tie.decided_by) == (2, "exclusion", "lot")
    assert tie.candidates == ["b", "c"] and tie.draw["seed"] == 99
    assert r.excluded[0] == tie.chosen
    assert stv("abcd", *reversed(papers), seats=2, seed=99).to_dict() == r.to_dict()


def test_lookback_narrows_before_lot() -> None:
    # Three equal lowest at stage 2: at stage 1 C had more, so B and D go to the lot.
    r = stv("abcde", (5, "ab"), (5, "ad"), (2, "b"), (3, "c"), (2, "d"), (5, "e"), seats=2, seed=3)
    assert r.quota == 8
    assert totals(r, 2) == {"a": 8, "b": 3, "c": 3, "d": 3, "e": 5}
    lots = [t for t in r.ties if t.stage == 3]
    assert lots[0].decided_by == "lookback and lot"
    assert lots[0].draw["pool"] == ["b", "d"]


def test_fractional_weights() -> None:
    cs = cands("abc")
    bs = [Ballot(("a", "b"), F(7, 2)), Ballot(("b",), 1), Ballot(("c",), F(3, 2))]
    r = count("stv", cs, bs, seats=1)
    assert r.valid_poll == 6 and r.quota == 4
    for s in r.stages:
        assert sum(s.totals.values()) + s.non_transferable == r.valid_poll


def test_fewer_candidates_than_seats() -> None:
    r = stv("ab", (3, "a"), (1, "b"), seats=3)
    assert r.elected == ["a", "b"]


def test_min_women_excludes_the_others_when_only_women_can_fill_the_seats() -> None:
    r = stv("abcd", (10, "ab"), (6, "b"), (2, "c"), (3, "dc"), seats=2, women="c", min_women=1)
    assert r.elected == ["a", "c"]
    assert r.stages[1].action == "B, D excluded; C elected"
    assert "Minimum of 1 women" in r.stages[1].notes[0]
    assert sum(totals(r, 2).values()) + r.stages[1].non_transferable == r.valid_poll


def test_min_women_keeps_the_last_woman_standing() -> None:
    r = stv(
        "abcde", (6, "a"), (5, "b"), (4, "e"), (3, "db"), (2, "c"), seats=3, women="c", min_women=1
    )
    assert r.stages[1].action.startswith("D excluded")
    assert "lowest woman is not excluded" in r.stages[1].notes[0]
    assert "c" in r.elected and len(r.elected) == 3
    assert r.elected[:2] == ["a", "b"]


def test_without_min_women_the_same_count_elects_men() -> None:
    r = stv("abcde", (6, "a"), (5, "b"), (4, "e"), (3, "db"), (2, "c"), seats=3)
    assert "c" not in r.elected


def test_withdrawn_candidates_are_passed_over() -> None:
    cs = [Candidate("a", "A"), Candidate("b", "B", withdrawn=True), Candidate("c", "C")]
    r = count("stv", cs, ballots((3, "ba"), (2, "c")), seats=1)
    assert r.stages[0].totals == {"a": 3, "c": 2}
    assert r.elected == ["a"]
