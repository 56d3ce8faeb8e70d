"""Casting on the paper the last cast in the process went through: one statement,
no read before it (services/casting.py, `cast_on_known_paper`).

Every vote it takes, the full way would have taken; everything it does not take
goes the full way, which reads afresh and gives the reason, so a voter sees no
difference but the time. PostgreSQL only: elsewhere every vote goes the full way.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from elections.models import (
    ContestState,
    InboxBallot,
    Membership,
    Method,
    Participation,
    Poll,
    ProxyAppointment,
    RuleSet,
)
from elections.services import casting
from elections.services.receipts import receipt_digest
from tests.conftest import candidate_ids, poll_of, receipt_shown

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _cast(client: Client, user: User, poll: Poll, **marks: str) -> Any:
    client.force_login(user)
    form = {"paper": poll.ballot_paper().fingerprint, "action": "cast", **marks}
    return client.post(reverse("ballot", args=[poll.pk]), form)


def _voters(poll: Poll) -> set[int]:
    return set(Participation.objects.filter(poll=poll).values_list("voter_id", flat=True))


@pytest.fixture
def principal(make_members) -> User:  # type: ignore[no-untyped-def]
    return make_members(1)[0]


@pytest.fixture
def known(client, alice, bob, principal, make_contest, sam) -> Poll:  # type: ignore[no-untyped-def]
    """An open poll on which alice's vote, cast the full way, left its paper known;
    bob, on the roll, has not voted and holds `principal`'s proxy."""
    contest = make_contest(Method.PLURALITY, proxy_allowed=True, open_poll=False)
    appointment = ProxyAppointment.appoint(contest, principal=principal, proxy=bob)
    appointment.decide(by=sam, approve=True)
    poll = poll_of(contest)
    poll.open(by=sam)
    poll = Poll.objects.select_related("contest__rules").get(pk=poll.pk)
    assert poll.pk not in casting._KNOWN_PAPERS
    ann = str(candidate_ids(contest)["Ann Archer"])
    assert _cast(client, alice, poll, choice=ann).status_code == HTTPStatus.OK
    assert poll.pk in casting._KNOWN_PAPERS
    return poll


def test_the_next_vote_is_the_session_the_user_and_one_statement(client, known, bob):
    ben = candidate_ids(known.contest)["Ben Baker"]
    client.force_login(bob)
    form = {"paper": known.ballot_paper().fingerprint, "action": "cast", "choice": str(ben)}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("ballot", args=[known.pk]), form)
    assert response.status_code == HTTPStatus.OK
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3, "\n".join(statements)
    assert statements[-1].lstrip().startswith("WITH")
    assert Participation.objects.filter(poll=known, voter=bob, cast_by=bob).exists()
    page = response.content.decode()
    assert known.contest.title in page
    assert reverse("contest", args=[known.contest_id]) in page
    code = receipt_shown(page)
    assert InboxBallot.objects.filter(poll=known, receipt_digest=receipt_digest(code)).exists()
    assert sorted(InboxBallot.objects.filter(poll=known).values_list("choices", flat=True)) == (
        sorted([[candidate_ids(known.contest)["Ann Archer"]], [ben]])
    )


def test_a_second_vote_is_refused_as_the_full_way_refuses_it(client, known, alice):
    response = _cast(client, alice, known, choice="abstain")
    assert response.status_code == HTTPStatus.CONFLICT
    assert "already voted" in response.content.decode()
    assert Participation.objects.filter(poll=known).count() == 1
    assert InboxBallot.objects.filter(poll=known).count() == 1


def test_someone_who_left_the_body_since_the_roll_froze_is_not_let_in(client, known, bob):
    # Still on the roll, but the ballot page's own check no longer lets him in.
    Membership.objects.filter(user=bob).update(active=False)
    response = _cast(client, bob, known, choice="abstain")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert bob.pk not in _voters(known)


def test_an_observer_and_an_outsider_are_turned_away_as_before(client, known, olive, charlie):
    assert _cast(client, olive, known, choice="abstain").status_code == HTTPStatus.FORBIDDEN
    assert _cast(client, charlie, known, choice="abstain").status_code == HTTPStatus.NOT_FOUND
    assert _voters(known).isdisjoint({olive.pk, charlie.pk})


def test_a_ruling_since_the_known_paper_is_obeyed(client, known, bob):
    # Abstention was allowed when alice voted; a ruling has since ruled it out.
    RuleSet.objects.filter(pk=known.contest.rules_id).update(abstention_allowed=False)
    response = _cast(client, bob, known, choice="abstain")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "do not allow abstention" in response.content.decode()
    assert bob.pk not in _voters(known)


def test_a_vote_the_ruling_does_not_touch_is_taken_and_the_new_rules_are_kept(client, known, bob):
    RuleSet.objects.filter(pk=known.contest.rules_id).update(proxy_allowed=False)
    assert _cast(client, bob, known, choice="abstain").status_code == HTTPStatus.OK
    assert bob.pk in _voters(known)
    kept = casting._KNOWN_PAPERS[known.pk].rules
    assert kept[RuleSet.CASTING_FIELDS.index("proxy_allowed")] is False


def test_a_vote_after_the_close_is_refused(client, known, bob, sam):
    Poll.objects.get(pk=known.pk).close(by=sam)
    response = _cast(client, bob, known, choice="abstain")
    assert response.status_code == HTTPStatus.CONFLICT
    assert "closed" in response.content.decode()
    assert bob.pk not in _voters(known)


def test_a_vote_in_a_quashed_contest_is_refused(client, known, bob):
    type(known.contest).objects.filter(pk=known.contest_id).update(state=ContestState.QUASHED)
    response = _cast(client, bob, known, choice="abstain")
    assert response.status_code == HTTPStatus.CONFLICT
    assert bob.pk not in _voters(known)


def test_a_tampered_paper_hears_what_the_full_way_says(client, known, bob):
    response = _cast(client, bob, known, choice="999999")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "not on this ballot" in response.content.decode()
    stale = client.post(
        reverse("ballot", args=[known.pk]),
        {"paper": "0" * 16, "action": "cast", "choice": "abstain"},
    )
    assert stale.status_code == HTTPStatus.BAD_REQUEST
    assert "has changed since you opened it" in stale.content.decode()
    assert bob.pk not in _voters(known)


def test_a_proxy_vote_goes_the_full_way_as_the_principals(client, known, bob, principal):
    # His post as their proxy is the principal's ballot, not his own.
    client.force_login(bob)
    form = {"paper": known.ballot_paper().fingerprint, "action": "cast", "choice": "abstain"}
    response = client.post(reverse("proxy_ballot", args=[known.pk, principal.pk]), form)
    assert response.status_code == HTTPStatus.OK
    assert Participation.objects.filter(poll=known, voter=principal, cast_by=bob).exists()
    assert bob.pk not in _voters(known)
