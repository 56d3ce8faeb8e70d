"""Officials' sessions end after TELLER_OFFICIAL_IDLE_SECONDS without a request;
members' sessions follow Django's SESSION_COOKIE_AGE."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import enrol_totp

pytestmark = pytest.mark.django_db

IDLE = timedelta(seconds=settings.TELLER_OFFICIAL_IDLE_SECONDS)


def test_the_default_idle_limit_is_half_an_hour():
    assert settings.TELLER_OFFICIAL_IDLE_SECONDS == 30 * 60


def test_it_signs_out_an_official_after_half_an_hour_idle(sam, make_contest):
    contest = make_contest()
    enrol_totp(sam)
    url = reverse("schedule", args=[contest.pk])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        client.force_login(sam)
        assert client.get(url).status_code == HTTPStatus.OK
        clock.shift(IDLE + timedelta(seconds=1))
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("account_login"))
        assert "_auth_user_id" not in client.session
        # And it stays signed out: the session is gone, not just this request refused.
        assert client.get(url)["Location"].startswith(reverse("account_login"))


def test_an_active_official_stays_signed_in(sam, make_contest):
    contest = make_contest()
    enrol_totp(sam)
    url = reverse("schedule", args=[contest.pk])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        client.force_login(sam)
        for _ in range(6):  # three hours, a request every 29 minutes
            assert client.get(url).status_code == HTTPStatus.OK
            clock.shift(IDLE - timedelta(minutes=1))
        assert client.get(url).status_code == HTTPStatus.OK


def test_the_session_store_also_expires_an_idle_officials_session(sam, make_contest):
    """Server-side too: the stored session's expiry is the idle limit, so an
    abandoned one is dropped by the store whatever the middleware sees."""
    contest = make_contest()
    enrol_totp(sam)
    client = Client()
    client.force_login(sam)
    assert client.get(reverse("schedule", args=[contest.pk])).status_code == HTTPStatus.OK
    assert client.session.get_expiry_age() == settings.TELLER_OFFICIAL_IDLE_SECONDS


def test_it_leaves_a_members_session_alone(alice, make_contest):
    make_contest()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        client.force_login(alice)
        assert client.get(reverse("home")).status_code == HTTPStatus.OK
        clock.shift(timedelta(hours=8))
        assert client.get(reverse("home")).status_code == HTTPStatus.OK
        assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
        # Django's own limit still applies: two weeks by default.
        clock.shift(timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
        assert client.get(reverse("home"))["Location"].startswith(reverse("account_login"))


def test_the_limit_is_a_setting(sam, make_contest, settings):
    settings.TELLER_OFFICIAL_IDLE_SECONDS = 5 * 60
    contest = make_contest()
    enrol_totp(sam)
    url = reverse("schedule", args=[contest.pk])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = Client()
        client.force_login(sam)
        assert client.get(url).status_code == HTTPStatus.OK
        clock.shift(timedelta(minutes=6))
        assert client.get(url).status_code == HTTPStatus.FOUND
