"""Votes count only inside the open window, whatever the tasks have done."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from elections.exceptions import BallotRefused
from elections.models import Contest, InboxBallot, Method, Participation, Poll
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of


def _attempt(poll: Poll, voter, contest: Contest) -> str:  # type: ignore[no-untyped-def]
    try:
        cast_ballot(poll.pk, voter, [candidate_ids(contest)["Ann Archer"]])
    except BallotRefused as refusal:
        return refusal.code
    return "cast"


@pytest.mark.django_db
def test_it_refuses_a_vote_before_the_poll_opens(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY, open_poll=False)
    poll = poll_of(contest)
    assert _attempt(poll, alice, contest) == "not_open"
    # Opened, but the clock is moved back before its opening time.
    poll.open(by=sam)
    with time_machine.travel(poll.opens_at - timedelta(seconds=1)):
        assert _attempt(poll, alice, contest) == "not_open"
    assert Participation.objects.count() == InboxBallot.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_vote_after_closing_time_even_if_no_task_closed_it(alice, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    with time_machine.travel(poll.closes_at):
        poll.refresh_from_db()
        assert poll.status == "open", "nothing has closed it"
        assert _attempt(poll, alice, contest) == "not_open"
    with time_machine.travel(poll.closes_at + timedelta(hours=3)):
        assert _attempt(poll, alice, contest) == "not_open"
    assert Participation.objects.count() == InboxBallot.objects.count() == 0


@pytest.mark.django_db
def test_it_accepts_a_vote_in_the_last_second(alice, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    with time_machine.travel(poll.closes_at - timedelta(seconds=1)):
        assert _attempt(poll, alice, contest) == "cast"


@pytest.mark.django_db
def test_it_refuses_a_vote_after_the_poll_was_closed_by_hand(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    poll.close(by=sam)
    assert _attempt(poll, alice, contest) == "not_open"


@pytest.mark.django_db
def test_it_refuses_a_vote_while_the_poll_is_suspended(alice, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    Poll.objects.filter(pk=poll.pk).update(suspended=True)
    assert _attempt(poll, alice, contest) == "not_open"
