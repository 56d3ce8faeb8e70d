"""Ballots reach the counter in an order that says nothing about the order
they were cast in: `engine_input` groups identical papers and sorts them, so
whatever order the box is read in, the count (and the BLT file anyone can
download) is the same."""

from __future__ import annotations

from typing import Any

import pytest

from elections.models import Ballot, Method
from elections.results import ballots_blt
from elections.services import mixer
from elections.services.casting import cast_ballot
from elections.services.tally import engine_input
from tests.secrecy.helpers import make_councillors, open_contest

NAMES = ("Anwen Lloyd", "Berwyn Hale", "Caron Price")
# The same papers cast twice, in opposite orders: (ranking by name, how many).
PAPERS = [
    (["Anwen Lloyd", "Caron Price"], 4),
    (["Berwyn Hale"], 3),
    (["Caron Price", "Berwyn Hale", "Anwen Lloyd"], 2),
    ([], 1),
    (["Anwen Lloyd"], 2),
]


def _named(poll: Any) -> tuple[list[str], list[tuple[tuple[str, ...], int]]]:
    candidates, ballots = engine_input(poll)
    name = {c.id: c.name for c in candidates}
    return [c.name for c in candidates], [
        (tuple(name[c] for c in b.ranking), int(b.weight)) for b in ballots
    ]


@pytest.mark.django_db
def test_the_count_reads_the_same_whatever_order_the_votes_were_cast_in(
    body: Any, sam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No shuffle: the box is then read in the casting order, and only
    # engine_input's grouping and sorting stand between that order and the count.
    monkeypatch.setattr(mixer, "_shuffle", lambda rows: None)
    papers = [ranking for ranking, n in PAPERS for _ in range(n)]
    voters = make_councillors(body, len(papers))
    polls = []
    for ids, order in (((7_330_081, 7_330_082, 7_330_083), papers),
                       ((7_330_091, 7_330_092, 7_330_093), papers[::-1])):  # fmt: skip
        contest, poll = open_contest(body, sam, Method.AV, NAMES, ids, title="Group leader")
        by_name = {c.name: c.pk for c in contest.candidates.all()}
        for voter, ranking in zip(voters, order, strict=True):
            cast_ballot(poll.pk, voter, [by_name[n] for n in ranking])
        poll.close(by=sam)
        poll.count(by=sam)
        poll.refresh_from_db()
        polls.append((poll, {pk: name for name, pk in by_name.items()}))

    raw = [
        [tuple(names[c] for c in choices) for choices in
         Ballot.objects.filter(poll=poll).values_list("choices", flat=True)]
        for poll, names in polls
    ]  # fmt: skip
    assert sorted(raw[0]) == sorted(raw[1])
    assert raw[0] != raw[1], "unshuffled, the two boxes are read in their casting orders"

    first, second = (_named(poll) for poll, _ in polls)
    assert first == second
    assert len(first[1]) == len(PAPERS), "identical papers are one weighted ballot"
    assert sum(weight for _, weight in first[1]) == len(papers)
    # So the count, stage by stage, and the file anyone can recount are the same too.
    assert _totals_by_name(polls[0]) == _totals_by_name(polls[1])
    assert ballots_blt(polls[0][0]) == ballots_blt(polls[1][0])


def _totals_by_name(found: tuple[Any, dict[int, str]]) -> list[dict[str, str]]:
    poll, names = found
    return [
        {names[int(c)]: v for c, v in stage["totals"].items()} for stage in poll.result["stages"]
    ]
