"""Redis goes down, or hangs; voting does not stop.

Redis is the cache (where the ballot page's rate limit counts posts) and the
Celery broker. Casting needs neither: the ballot page and `cast_ballot` must
go on taking votes, the rate limit failing open with a logged warning rather
than turning voters away, and a hung Redis costing a voter a moment, not
their vote. Run against a throwaway Redis, with the cache configured exactly
as config/settings.py configures it when REDIS_URL is set.
"""

from __future__ import annotations

import logging
import runpy
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
import redis
from django.urls import reverse

from accounts.models import User
from elections.models import Body, InboxBallot, Membership, Method, Participation
from elections.services.casting import cast_ballot
from tests.faults.conftest import ROOT, ThrowawayRedis
from tests.secrecy.helpers import cast_through_the_page, open_contest

NAMES = ("Ann Archer", "Ben Baker")
IDS = (7_350_001, 7_350_002)


@pytest.fixture
def redis_cache(
    settings: Any, throwaway_redis: ThrowawayRedis, monkeypatch: pytest.MonkeyPatch
) -> ThrowawayRedis:
    """Production's cache settings, read from config/settings.py with
    REDIS_URL pointing at our own Redis."""
    monkeypatch.setenv("REDIS_URL", throwaway_redis.url)
    production = runpy.run_path(str(ROOT / "config" / "settings.py"))
    settings.CACHES = production["CACHES"]
    assert settings.CACHES["default"]["LOCATION"] == throwaway_redis.url
    return throwaway_redis


def _voters(body: Body, n: int) -> list[User]:
    people = [User.objects.create_user(f"voter{i}@outage.example", None) for i in range(n)]
    Membership.objects.bulk_create(Membership(body=body, user=p) for p in people)
    return people


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outage", ["stopped", "hung"])
def test_voting_goes_on_while_redis_is_out(
    client: Any,
    body: Body,
    sam: User,
    redis_cache: ThrowawayRedis,
    caplog: pytest.LogCaptureFixture,
    outage: str,
) -> None:
    early, page_voter, service_voter = _voters(body, 3)
    _, poll = open_contest(body, sam, Method.PLURALITY, NAMES, IDS)
    fields = {"paper": poll.ballot_paper().fingerprint, "choice": str(IDS[0])}

    # Redis up: the page works, and its rate limit really counts in Redis.
    client.force_login(early)
    assert cast_through_the_page(client, poll, fields)
    assert redis.Redis.from_url(redis_cache.url).keys("*"), "the rate limit counts in Redis"

    break_it: Callable[[], None] = redis_cache.stop if outage == "stopped" else redis_cache.hang
    break_it()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        client.force_login(page_voter)
        assert client.get(reverse("ballot", args=[poll.pk])).status_code == HTTPStatus.OK
        assert cast_through_the_page(client, poll, fields), "the page still takes the vote"
        assert cast_ballot(poll.pk, service_voter, [IDS[1]])
    # Two posts (check, then cast), each waiting at most the cache's timeouts.
    assert time.monotonic() - started < 15, "a hung Redis held the voter up"

    assert Participation.objects.filter(poll=poll).count() == 3
    assert InboxBallot.objects.filter(poll=poll).count() == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("Redis cache unavailable" in w for w in warnings), warnings


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_voter_can_sign_in_while_redis_is_down(redis_cache: ThrowawayRedis) -> None:
    """The cache falls back to an in-process one (config/cache.py), so the
    login rate limit still counts, per process, and the voter gets in."""
    from django.test import Client

    from tests.conftest import PASSWORD

    User.objects.create_user("late.voter@outage.example", PASSWORD)
    redis_cache.stop()
    client = Client(raise_request_exception=False)
    response = client.post(
        reverse("account_login"), {"login": "late.voter@outage.example", "password": PASSWORD}
    )
    assert response.status_code == HTTPStatus.FOUND


def test_the_cache_keeps_one_client_and_it_finds_redis_again(
    redis_cache: ThrowawayRedis,
) -> None:
    """One Redis client per process is built and kept (config/cache.py);
    it must reconnect by itself when Redis comes back from an outage."""
    from django.core.cache import cache

    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("teller-test", 1)
    redis_cache.stop()
    assert cache.get("teller-test") is None  # the in-process stand-in answers
    redis_cache.start()
    cache.set("teller-test", 2)
    assert redis.Redis.from_url(redis_cache.url).get(cache.make_key("teller-test")) == b"2"
    assert cache._cache.get_client() is client
