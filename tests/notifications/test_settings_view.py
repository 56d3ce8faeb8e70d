"""The notification settings page: reminders can be switched off, legal notices cannot."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from pytest_django.asserts import assertContains

from elections.models import OPTIONAL_KINDS, NotificationKind, NotificationMute
from elections.notifications import CannotMute, notify, set_muted

URL = reverse("notification_settings")


@pytest.mark.django_db
def test_it_shows_reminders_as_a_choice_and_legal_notices_as_always_on(client, alice):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == HTTPStatus.OK
    assertContains(response, "<legend>Notices you can switch off</legend>", html=True)
    assertContains(response, "<legend>Notices you always receive</legend>", html=True)
    assertContains(
        response,
        '<input type="checkbox" name="reminder" id="id_reminder" checked'
        ' aria-describedby="id_reminder_help">',
        html=True,
    )
    assertContains(
        response,
        '<input type="checkbox" name="ballot_open" id="id_ballot_open" disabled checked'
        ' aria-describedby="id_ballot_open_help">',
        html=True,
    )
    assertContains(response, "Always on: the rules require every member to be told of this.")


@pytest.mark.django_db
def test_a_member_mutes_reminders_and_is_then_skipped(client, contest, poll, alice, bob):
    client.force_login(alice)
    response = client.post(URL, {})  # the reminder box unticked
    assert response.status_code == HTTPStatus.FOUND
    assert NotificationMute.objects.filter(user=alice, kind=NotificationKind.REMINDER).exists()
    assertContains(  # now unticked
        client.get(URL),
        '<input type="checkbox" name="reminder" id="id_reminder"'
        ' aria-describedby="id_reminder_help">',
        html=True,
    )

    assert notify([alice, bob], NotificationKind.REMINDER, contest=contest, poll=poll) == 1
    assert list(contest.notifications.values_list("user", flat=True)) == [bob.pk]


@pytest.mark.django_db
def test_a_member_turns_reminders_back_on(client, alice):
    NotificationMute.objects.create(user=alice, kind=NotificationKind.REMINDER)
    client.force_login(alice)
    client.post(URL, {"reminder": "on"})
    assert not NotificationMute.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_the_page_refuses_to_mute_ballot_open(client, contest, poll, alice):
    client.force_login(alice)
    # Unticking a disabled box (or forging the post) changes nothing.
    client.post(URL, {"reminder": "on", "ballot_open": ""})
    client.post(URL, {"reminder": "on", "ballot_open": "off", "result_declared": "0"})
    assert not NotificationMute.objects.filter(user=alice).exists()
    assert notify([alice], NotificationKind.BALLOT_OPEN, contest=contest, poll=poll) == 1


@pytest.mark.django_db
def test_a_legal_notice_cannot_be_muted_anywhere(alice):
    legal = [k for k in NotificationKind if k not in OPTIONAL_KINDS]
    assert NotificationKind.BALLOT_OPEN in legal and NotificationKind.RESULT_QUASHED in legal
    for kind in legal:
        with pytest.raises(CannotMute):
            set_muted(alice, kind, muted=True)
        with pytest.raises(ValidationError):
            NotificationMute(user=alice, kind=kind).full_clean()
    # Not even a direct write gets past the database.
    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationMute.objects.create(user=alice, kind=NotificationKind.RERUN_ORDERED)
    assert not NotificationMute.objects.exists()


def test_only_reminders_are_optional():
    assert set(OPTIONAL_KINDS) == {NotificationKind.REMINDER}


@pytest.mark.django_db
def test_charlie_changes_only_his_own_settings(client, alice, charlie):
    client.force_login(charlie)
    client.post(URL, {})
    assert list(NotificationMute.objects.values_list("user", flat=True)) == [charlie.pk]


def test_it_needs_a_login(client, db):
    response = client.get(URL)
    assert response.status_code == HTTPStatus.FOUND
    assert reverse("account_login") in response["Location"]
