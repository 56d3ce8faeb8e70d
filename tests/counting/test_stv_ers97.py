"""ERS97 STV, worked by hand, and the tie-break directions."""

from __future__ import annotations

from fractions import Fraction as F

from elections.counting import Method, count
from elections.counting.ties import TieBreaker

from .helpers import ballots, cands, totals


def ers(spec: str, *papers: tuple[int, str], seats: int, **kw):
    return count(Method.STV, cands(spec), ballots(*papers), seats=seats, rules="ers97", **kw)


def test_quota_is_two_decimals_above_the_quotient() -> None:
    assert ers("ab", (12, "a"), (8, "b"), seats=2).quota == F("6.67")
    assert ers("ab", (13, "a"), (8, "b"), seats=2).quota == F("7.01")


def test_first_stage_surplus_takes_all_papers_at_two_decimals() -> None:
    r = ers("abcd", (6, "ab"), (3, "ac"), (1, "a"), (2, "b"), (4, "c"), (4, "dc"), seats=2)
    assert r.rules == "ers97" and r.quota == F("6.67")
    # Surplus 3.33 over 9 transferable papers: 0.37 each.
    assert totals(r, 2) == {"a": F("6.67"), "b": F("4.22"), "c": F("5.11"), "d": 4}
    assert r.stages[1].non_transferable == 0
    assert r.stages[2].action == "D excluded; C elected"
    assert r.elected == ["a", "c"]
    assert r.to_dict()["stages"][1]["totals"]["b"] == "4.22"


def test_later_surplus_takes_only_the_last_parcel_and_deferral_and_bulk_exclusion() -> None:
    r = ers("abcdef", (12, "a"), (8, "b"), (8, "cd"), (8, "d"), (3, "ecb"), (2, "f"), seats=3)
    assert r.quota == F("10.26")
    assert [s.action for s in r.stages] == [
        "First count; A elected",
        "Surplus of A transferred",
        "F, E excluded; C elected",
        "Surplus of C transferred",
        "D excluded; B elected",
    ]
    assert r.stages[1].non_transferable == F("1.74")
    # Only the 3 papers that elected C move (0.74 / 3 -> 0.24 each); none reach D.
    assert totals(r, 4) == {
        "a": F("10.26"),
        "b": F("8.72"),
        "c": F("10.26"),
        "d": 8,
        "e": 0,
        "f": 0,
    }
    assert r.stages[3].non_transferable == F("3.76")
    assert r.elected == ["a", "c", "b"]


def test_surplus_deferred_when_it_cannot_save_the_lowest() -> None:
    r = ers("abcde", (11, "a"), (6, "b"), (6, "cd"), (4, "d"), (3, "ecb"), seats=2)
    assert r.quota == F("10.01")
    assert r.stages[1].action.startswith("E excluded")
    assert "Surpluses deferred" in r.stages[1].notes[0]


def test_exclusion_passes_papers_one_value_at_a_time() -> None:
    r = ers("abcd", (10, "abd"), (2, "bc"), (5, "c"), (4, "d"), seats=2)
    assert r.quota == F("7.01")
    assert totals(r, 2)["b"] == F("4.90")
    actions = [s.action for s in r.stages]
    assert actions[2] == "D excluded"
    assert actions[3].startswith("B excluded (papers at 1.00)")
    for s in r.stages:
        assert sum(s.totals.values()) + s.non_transferable == r.valid_poll


def test_ties_look_forward_under_ers97_and_back_under_scottish() -> None:
    history = [{"b": F(3), "c": F(4)}, {"b": F(5), "c": F(4)}, {"b": F(5), "c": F(5)}]
    assert TieBreaker().pick(4, ["b", "c"], "exclusion", history, lowest=True) == "c"
    forward = TieBreaker()
    assert forward.pick(4, ["b", "c"], "exclusion", history, lowest=True, forward=True) == "b"
    assert forward.ties[0].decided_by == "lookback"
