"""Logins, password resets and ballot posts are rate-limited, and the limits
hold behind a reverse proxy (TELLER_TRUSTED_PROXY_COUNT)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.security import BALLOT_HELD_BACK_KEY
from tests.conftest import PASSWORD, candidate_ids, poll_of

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
TOO_MANY = "Too many failed login attempts"


def _login(client: Client, email: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"login": email, "password": password}, **headers)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_whole_room_can_sign_in_from_one_address(make_members):
    """60 councillors at one venue, one network address, within a minute."""
    councillors = make_members(60)
    for councillor in councillors:
        client = Client(REMOTE_ADDR="203.0.113.9")
        response = _login(client, councillor.email, PASSWORD)
        assert response.status_code == HTTPStatus.FOUND, councillor.email
        assert _signed_in(client), councillor.email


def test_a_room_survives_a_few_typos(make_members):
    councillors = make_members(40)
    for councillor in councillors:
        client = Client(REMOTE_ADDR="203.0.113.9")
        _login(client, councillor.email, "not-my-password")
        _login(client, councillor.email, PASSWORD)
        assert _signed_in(client), councillor.email


def test_guessing_one_accounts_password_is_stopped(alice):
    client = Client()
    answers = [_login(client, alice.email, f"guess-{n}") for n in range(10)]
    assert all(response.status_code == HTTPStatus.OK for response in answers)
    assert TOO_MANY not in answers[0].content.decode()
    assert TOO_MANY in answers[-1].content.decode()
    # Once limited, not even the right password gets in, from anywhere.
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    refused = _login(elsewhere, alice.email, PASSWORD)
    assert TOO_MANY in refused.content.decode()
    assert not _signed_in(elsewhere)


def test_one_account_being_guessed_does_not_lock_out_the_room(alice, bob):
    for n in range(10):
        _login(Client(), alice.email, f"guess-{n}")
    client = Client()
    _login(client, bob.email, PASSWORD)
    assert _signed_in(client)


def test_many_failures_from_one_address_are_stopped(make_members, settings):
    """Trying one password on many accounts (credential stuffing) is limited per address."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "5/m/ip"}
    councillors = make_members(7)
    answers = [_login(Client(), c.email, "Summer2026!") for c in councillors]
    assert TOO_MANY not in answers[4].content.decode()
    assert TOO_MANY in answers[5].content.decode()


def test_a_spoofed_forwarded_for_does_not_dodge_the_limit_behind_a_proxy(make_members, settings):
    """Behind one proxy, the right-most X-Forwarded-For entry is the one the
    proxy wrote; whatever the client put to its left is ignored."""
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == settings.TELLER_TRUSTED_PROXY_COUNT == 0
    settings.TELLER_TRUSTED_PROXY_COUNT = settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "5/m/ip"}
    councillors = make_members(8)
    proxy = "10.0.0.2"  # every request arrives from the proxy
    answers = [
        _login(
            Client(REMOTE_ADDR=proxy),
            councillor.email,
            "Summer2026!",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.66",  # spoofed, then real
        )
        for n, councillor in enumerate(councillors[:6])
    ]
    assert TOO_MANY not in answers[4].content.decode()
    assert TOO_MANY in answers[5].content.decode()
    # Another real client behind the same proxy is not caught by it.
    other = Client(REMOTE_ADDR=proxy)
    _login(other, councillors[6].email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.67")
    assert _signed_in(other)


def test_password_reset_requests_are_limited_per_address(alice, settings, mailoutbox):
    url = reverse("account_reset_password")
    client = Client()
    answers = [client.post(url, {"email": alice.email}) for _ in range(7)]
    # Per address 20 a minute; per email address 5 an hour, then a 429.
    assert [a.status_code for a in answers[:5]] == [HTTPStatus.FOUND] * 5
    assert answers[5].status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert len(mailoutbox) == 5


def _ballot(make_contest):  # type: ignore[no-untyped-def]
    contest = make_contest()
    poll = poll_of(contest)
    paper = {"paper": poll.ballot_paper().fingerprint}
    choice = {**paper, "choice": candidate_ids(contest)["Ann Archer"], "action": "review"}
    return poll, reverse("ballot", args=[poll.pk]), choice


def _signed_in_as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_ballot_posts_are_limited_per_voter_with_a_clear_page(alice, bob, make_contest):
    poll, url, choice = _ballot(make_contest)
    client = _signed_in_as(alice)
    allowed = int(settings.TELLER_BALLOT_RATE.split("/")[0])
    for _ in range(allowed):
        assert client.post(url, choice).status_code == HTTPStatus.OK
    limited = client.post(url, choice)
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many requests" in limited.content.decode()
    assert "Wait a minute, then try again" in limited.content.decode()
    # Held back for the rest of the minute: a cast is turned away too.
    assert client.post(url, {**choice, "action": "cast"}).status_code == 429
    assert not poll.participations.exists()
    # Reading the ballot is not limited, and another voter is not affected.
    assert client.get(url).status_code == HTTPStatus.OK
    assert _signed_in_as(bob).post(url, choice).status_code == HTTPStatus.OK


def test_the_post_that_casts_the_vote_is_not_counted(alice, make_contest, settings):
    settings.TELLER_BALLOT_RATE = "3/m"
    poll, url, choice = _ballot(make_contest)
    client = _signed_in_as(alice)
    assert [client.post(url, choice).status_code for _ in range(3)] == [HTTPStatus.OK] * 3
    cast = client.post(url, {**choice, "action": "cast"})
    assert cast.status_code == HTTPStatus.OK and "Your vote has been cast" in cast.content.decode()
    assert poll.participations.filter(voter=alice).exists()
    # The count stood at the limit, not over it, until the next post.
    assert client.post(url, choice).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_hammering_the_cast_is_stopped_before_the_casting_statement(alice, make_contest, settings):
    settings.TELLER_BALLOT_RATE = "3/m"
    poll, url, choice = _ballot(make_contest)
    client = _signed_in_as(alice)
    cast = {**choice, "action": "cast"}
    assert client.post(url, cast).status_code == HTTPStatus.OK
    # Each refused cast counts: three are answered, the fourth is over the limit.
    answers = [client.post(url, cast).status_code for _ in range(4)]
    assert answers == [HTTPStatus.CONFLICT] * 3 + [HTTPStatus.TOO_MANY_REQUESTS]
    # From then on the session is held back: nothing reaches the poll's tables.
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, cast).status_code == HTTPStatus.TOO_MANY_REQUESTS
    casting = [q["sql"] for q in queries if "elections_participation" in q["sql"]]
    assert casting == [], casting
    assert poll.participations.count() == 1


def test_a_held_back_session_is_let_go_when_the_window_ends(alice, make_contest, settings):
    settings.TELLER_BALLOT_RATE = "1/m"
    _, url, choice = _ballot(make_contest)
    client = _signed_in_as(alice)
    assert client.post(url, choice).status_code == HTTPStatus.OK
    assert client.post(url, choice).status_code == HTTPStatus.TOO_MANY_REQUESTS
    until = client.session[BALLOT_HELD_BACK_KEY]
    with time_machine.travel(until - 1, tick=False):
        assert client.post(url, choice).status_code == HTTPStatus.TOO_MANY_REQUESTS
    with time_machine.travel(until + 1, tick=False):
        # A new window: the post is counted afresh and answered.
        assert client.post(url, choice).status_code == HTTPStatus.OK
        assert BALLOT_HELD_BACK_KEY not in client.session
