"""One voter, one vote, even under a race."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from elections.exceptions import BallotRefused
from elections.models import Ballot, InboxBallot, Method, Participation
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of


@pytest.mark.django_db
def test_it_refuses_a_second_cast(alice, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    cast_ballot(poll.pk, alice, [ids["Ann Archer"]])
    with pytest.raises(BallotRefused) as refusal:
        cast_ballot(poll.pk, alice, [ids["Ben Baker"]])
    assert refusal.value.code == "already_voted"
    assert Participation.objects.count() == 1
    assert InboxBallot.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_records_one_vote_when_twenty_threads_cast_at_once(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    ids = list(candidate_ids(contest).values())
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def vote(n: int) -> None:
        try:
            barrier.wait()
            cast_ballot(poll.pk, alice, [ids[n % 3]])
            result = "cast"
        except BallotRefused as refusal:
            result = refusal.code
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=vote, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already_voted"] * 19 + ["cast"]
    assert Participation.objects.filter(poll=poll, voter=alice).count() == 1
    assert InboxBallot.objects.filter(poll=poll).count() == 1
    poll.close(by=sam)
    assert Ballot.objects.filter(poll=poll).count() == 1
