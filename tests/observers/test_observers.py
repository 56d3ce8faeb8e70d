"""Observers: invited by email, they watch turnout (never choices) and read the trail."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import User
from elections.models import AuditEvent, Membership, Method, Notification, NotificationKind
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of


@pytest.mark.django_db
def test_the_secretary_invites_an_observer_by_email(client, sam, body):
    client.force_login(sam)
    response = client.post(
        reverse("observer_invite", args=[body.pk]),
        {"name": "Vera Watcher", "email": "Vera@Example.org"},
    )
    assert response.status_code == HTTPStatus.FOUND
    vera = User.objects.get(email="vera@example.org")
    assert not vera.has_usable_password()
    assert Membership.objects.get(user=vera).role == Membership.Role.OBSERVER
    assert Notification.objects.filter(user=vera, kind=NotificationKind.INVITED).count() == 1
    assert AuditEvent.objects.filter(action="observer.invited").count() == 1


@pytest.mark.django_db
def test_a_member_cannot_invite_observers(client, alice, body):
    client.force_login(alice)
    response = client.post(
        reverse("observer_invite", args=[body.pk]), {"name": "X", "email": "x@example.org"}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not User.objects.filter(email="x@example.org").exists()


@pytest.mark.django_db
def test_an_observer_sees_live_turnout_but_no_choice(client, alice, bob, olive, make_contest):
    contest = make_contest(Method.PLURALITY, ("Zebedee Quixotic", "Ysolde Pembrey"))
    poll = poll_of(contest)
    cast_ballot(poll.pk, alice, [candidate_ids(contest)["Zebedee Quixotic"]])
    client.force_login(olive)
    page = client.get(reverse("turnout", args=[contest.pk])).content.decode()
    assert '<td class="num">1</td><td class="num">2</td><td class="num">50.0%</td>' in page
    assert 'http-equiv="refresh"' in page
    assert "Zebedee" not in page and "Ysolde" not in page
    trail = client.get(reverse("audit_trail", args=[contest.pk])).content.decode()
    assert "poll.opened" in trail


@pytest.mark.django_db
def test_members_and_outsiders_cannot_watch(client, alice, charlie, make_contest):
    contest = make_contest(Method.PLURALITY)
    client.force_login(alice)
    for name in ("turnout", "audit_trail"):
        assert client.get(reverse(name, args=[contest.pk])).status_code == HTTPStatus.FORBIDDEN
    client.force_login(charlie)
    for name in ("turnout", "audit_trail"):
        assert client.get(reverse(name, args=[contest.pk])).status_code == HTTPStatus.NOT_FOUND
