"""Who can see the ballot page and cast: only members on the roll."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from elections.models import InboxBallot, Method, Participation
from tests.conftest import candidate_ids, poll_of


@pytest.fixture
def ballot(make_contest):  # type: ignore[no-untyped-def]
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    data = {
        "paper": poll.ballot_paper().fingerprint,
        "choice": str(candidate_ids(contest)["Ann Archer"]),
        "action": "cast",
    }
    return reverse("ballot", args=[poll.pk]), data


@pytest.mark.django_db
def test_it_lets_a_member_on_the_roll_see_the_ballot(client, alice, ballot):
    url, _ = ballot
    client.force_login(alice)
    assert client.get(url).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_it_sends_a_logged_out_visitor_to_log_in(client, ballot):
    url, data = ballot
    for response in (client.get(url), client.post(url, data)):
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("account_login"))
    assert Participation.objects.count() == InboxBallot.objects.count() == 0


@pytest.mark.django_db
def test_it_hides_the_ballot_from_a_member_of_another_body(client, charlie, ballot):
    url, data = ballot
    client.force_login(charlie)
    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert client.post(url, data).status_code == HTTPStatus.NOT_FOUND
    assert Participation.objects.count() == InboxBallot.objects.count() == 0


@pytest.mark.django_db
def test_it_forbids_an_observer_to_vote(client, olive, ballot):
    url, data = ballot
    client.force_login(olive)
    assert client.get(url).status_code == HTTPStatus.FORBIDDEN
    assert client.post(url, data).status_code == HTTPStatus.FORBIDDEN
    assert Participation.objects.count() == InboxBallot.objects.count() == 0


@pytest.mark.django_db
def test_it_forbids_the_secretary_who_is_not_a_member_to_vote(client, sam, ballot):
    url, data = ballot
    client.force_login(sam)
    assert client.post(url, data).status_code == HTTPStatus.FORBIDDEN
    assert Participation.objects.count() == 0


@pytest.mark.django_db
def test_it_hides_contest_pages_from_outsiders(client, charlie, make_contest):
    contest = make_contest(Method.PLURALITY)
    client.force_login(charlie)
    for name in ("contest", "results", "receipt_check"):
        assert client.get(reverse(name, args=[contest.pk])).status_code == HTTPStatus.NOT_FOUND
