"""What the busiest requests cost in queries: each is a round trip to the database,
and when 130,000 members vote in the first hours they are what the machine spends.

The counts are exact, so a change that adds a query to a ballot or to every page
shows here and has to say why.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.security import official_status
from elections.exceptions import InvalidTransition
from elections.models import Method, Participation
from tests.conftest import candidate_ids, poll_of


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """The queries, without the savepoints a test's own transaction turns commits into."""
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.mark.django_db
def test_casting_reads_each_thing_once(client, alice, make_contest):
    contest = make_contest(Method.STV)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    client.force_login(alice)
    form = {
        "paper": poll.ballot_paper().fingerprint,
        f"rank-{ids['Ben Baker']}": "1",
        f"rank-{ids['Ann Archer']}": "2",
        "action": "cast",
    }

    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("ballot", args=[poll.pk]), form)

    assert response.status_code == HTTPStatus.OK
    assert Participation.objects.filter(poll=poll, voter=alice).exists()
    # The session; the user with their roles and unread count; the poll with its
    # rules and the person's membership (access); then one statement that locks
    # the poll, checks the roll and participation, and writes the two rows (on
    # PostgreSQL; elsewhere a transaction of three). The paper was read when the
    # form was made, above, and an opened poll's paper is read once per process.
    statements = _statements(queries)
    expected = 4 if connection.vendor == "postgresql" else 6
    assert len(statements) == expected, "\n".join(statements)
    assert sum("elections_rollentry" in s for s in statements) == 1
    assert not any("elections_candidate" in s for s in statements)


@pytest.mark.django_db
def test_an_opened_polls_paper_is_read_once(make_contest, django_assert_num_queries):
    contest = make_contest(Method.PLURALITY)
    poll, again = poll_of(contest), poll_of(contest)
    poll.contest = again.contest = contest
    assert contest.rules.method == Method.PLURALITY  # read now: only the paper is counted
    with django_assert_num_queries(1):
        first = poll.ballot_paper()
    with django_assert_num_queries(0):
        assert again.ballot_paper() == first
    assert [o.name for o in first.options] == ["Ann Archer", "Ben Baker", "Cat Carter"]


@pytest.mark.django_db
def test_a_scheduled_polls_paper_is_read_each_time(make_contest, sam):
    # Until it opens, its candidates may still change: nothing is kept.
    contest = make_contest(Method.PLURALITY, open_poll=False)
    poll = poll_of(contest)
    before = poll.ballot_paper()
    poll.candidates.remove(contest.candidates.get(name="Cat Carter"))
    after = poll.ballot_paper()
    assert [o.name for o in before.options] == ["Ann Archer", "Ben Baker", "Cat Carter"]
    assert [o.name for o in after.options] == ["Ann Archer", "Ben Baker"]
    assert before.fingerprint != after.fingerprint


@pytest.mark.django_db
def test_a_page_reads_roles_and_the_nav_with_the_user(client, alice, make_contest):
    make_contest(Method.PLURALITY)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == HTTPStatus.OK
    assert "Inbox" in response.content.decode()
    # The official check (middleware), the regional office link and the unread
    # count (nav) are all answered by the one statement that loads the user.
    statements = _statements(queries)
    for table in ("elections_regionalofficial", "mfa_authenticator", "elections_notification"):
        reading = [s for s in statements if table in s]
        assert len(reading) == 1, f"{table}: " + "\n".join(reading)
        assert 'FROM "accounts_user"' in reading[0]


@pytest.mark.django_db
def test_a_user_loaded_elsewhere_is_still_checked(sam, django_assert_num_queries):
    # `sam` comes from a fixture, not the session: his status costs one query.
    with django_assert_num_queries(1):
        status = official_status(sam)
        assert official_status(sam) == status
    assert status.official


@pytest.mark.django_db
def test_an_open_polls_candidates_cannot_change(make_contest):
    # The cast takes the paper the page read; that holds because this cannot happen.
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    ann = contest.candidates.get(name="Ann Archer")
    with pytest.raises(InvalidTransition), transaction.atomic():
        poll.candidates.remove(ann)
    with pytest.raises(InvalidTransition), transaction.atomic():
        ann.polls.clear()
    assert poll.candidates.count() == 3
