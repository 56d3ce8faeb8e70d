"""A quashed contest stays quashed: no close, count or declaration moves it on."""

from __future__ import annotations

import pytest
import time_machine

from elections.exceptions import InvalidTransition
from elections.models import Contest, ContestState, Method, Poll, PollStatus
from elections.services.casting import cast_ballot
from elections.services.schedule import sweep
from tests.conftest import candidate_ids, poll_of


@pytest.mark.django_db
def test_a_quashed_contests_poll_cannot_be_closed_counted_or_declared(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    poll.close(by=sam)
    Contest.objects.filter(pk=contest.pk).update(state=ContestState.QUASHED)
    with pytest.raises(InvalidTransition, match="quashed"):
        poll.count(by=sam)
    contest.refresh_from_db()
    with pytest.raises(InvalidTransition):
        contest.declare(by=sam)
    contest.refresh_from_db()
    assert contest.state == ContestState.QUASHED


@pytest.mark.django_db
def test_the_sweep_leaves_a_suspended_poll_alone(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    Poll.objects.filter(pk=poll.pk).update(suspended=True)
    with time_machine.travel(poll.closes_at, tick=False):
        assert sweep().closed == []
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN
