"""Properties that hold for every count (hypothesis)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from elections.counting import Ballot, Candidate, Method, count

IDS = "abcdef"


@st.composite
def elections(draw, max_candidates: int = 6, min_candidates: int = 2):
    n = draw(st.integers(min_candidates, max_candidates))
    women = draw(st.sets(st.sampled_from(IDS[:n])))
    candidates = [Candidate(c, c.upper(), gender="f" if c in women else "m") for c in IDS[:n]]
    ranking = st.permutations(IDS[:n]).flatmap(
        lambda p: st.integers(0, n).map(lambda k: tuple(p[:k]))
    )
    papers = draw(st.lists(st.tuples(ranking, st.integers(1, 6)), min_size=1, max_size=25))
    ballots = [Ballot(r, w) for r, w in papers]
    seats = draw(st.integers(1, min(4, n)))
    return candidates, ballots, seats


def check_sheet(result) -> None:
    for stage in result.stages:
        assert sum(stage.totals.values()) + stage.non_transferable == result.valid_poll
        assert all(v >= 0 for v in stage.totals.values())
    assert len(result.elected) <= result.seats
    assert len(set(result.elected)) == len(result.elected)
    assert not set(result.elected) & set(result.excluded)


RULES = st.sampled_from(["scottish", "ers97"])


@settings(max_examples=300, deadline=None)
@given(elections(), RULES)
def test_stv_sheet_adds_up_and_fills_the_seats(election, rules: str) -> None:
    candidates, ballots, seats = election
    r = count(Method.STV, candidates, ballots, seats=seats, rules=rules, seed=1)
    check_sheet(r)
    assert len(r.elected) == min(seats, len(candidates))


@settings(max_examples=200, deadline=None)
@given(elections(), st.randoms(use_true_random=False), RULES)
def test_stv_ignores_the_order_of_ballots(election, rnd: random.Random, rules: str) -> None:
    candidates, ballots, seats = election
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    a = count(Method.STV, candidates, ballots, seats=seats, rules=rules, seed=7)
    b = count(Method.STV, candidates, shuffled, seats=seats, rules=rules, seed=7)
    assert a.to_dict() == b.to_dict()


@settings(max_examples=200, deadline=None)
@given(elections(), st.randoms(use_true_random=False))
def test_av_sheet_adds_up_and_ignores_ballot_order(election, rnd: random.Random) -> None:
    candidates, ballots, _ = election
    r = count(Method.AV, candidates, ballots, seed=3)
    check_sheet(r)
    assert len(r.elected) == 1
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert count(Method.AV, candidates, shuffled, seed=3).to_dict() == r.to_dict()


@settings(max_examples=300, deadline=None)
@given(elections())
def test_av_majority_of_first_preferences_wins(election) -> None:
    candidates, ballots, _ = election
    first: dict[str, int] = {}
    for b in ballots:
        if b.ranking:
            first[b.ranking[0]] = first.get(b.ranking[0], 0) + b.weight
    valid = sum(first.values())
    r = count(Method.AV, candidates, ballots, seed=3)
    for c, votes in first.items():
        if 2 * votes > valid:
            assert r.elected == [c]
            assert len(r.stages) == 1


@settings(max_examples=200, deadline=None)
@given(elections(), st.integers(0, 4), st.sampled_from(["stv", "stv-ers97", "block"]))
def test_min_women_is_met_when_enough_women_stand(election, min_women: int, method: str) -> None:
    candidates, ballots, seats = election
    min_women = min(min_women, seats)
    if method == "block":
        ballots = [Ballot(b.ranking[:seats], b.weight) for b in ballots]
    rules = "ers97" if method.endswith("ers97") else "scottish"
    r = count(
        method.split("-")[0],
        candidates,
        ballots,
        seats=seats,
        min_women=min_women,
        rules=rules,
        seed=2,
    )
    women = {c.id for c in candidates if c.is_woman}
    assert len(r.elected) <= seats
    assert sum(1 for c in r.elected if c in women) >= min(min_women, len(women))
    if method != "block":
        check_sheet(r)
        assert len(r.elected) == min(seats, len(candidates))


@settings(max_examples=200, deadline=None)
@given(elections())
def test_plurality_and_block_elect_no_more_than_the_seats(election) -> None:
    candidates, ballots, seats = election
    single = [Ballot(b.ranking[:1], b.weight) for b in ballots]
    r = count(Method.PLURALITY, candidates, single, seats=seats, seed=1)
    assert len(r.elected) == min(seats, len(candidates))
    block = [Ballot(b.ranking[:seats], b.weight) for b in ballots]
    r = count(Method.BLOCK, candidates, block, seats=seats, seed=1)
    assert len(r.elected) == min(seats, len(candidates))
