"""Shared fixtures: a named cast and builders for the world they live in.

The cast, as in every view test:
- alice and bob: councillors (members) of the Ashby group;
- sam: the Ashby group's secretary;
- olive: the Ashby group's observer;
- charlie: a councillor of another group (an outsider to Ashby).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.db import connection
from django.db.models.signals import post_save
from django.utils import timezone

from accounts.models import User
from elections.models import (
    Body,
    Candidate,
    Contest,
    Membership,
    Method,
    Poll,
    Region,
    RegionalOfficial,
    RuleSet,
)

PASSWORD = "a-long-test-password-1"


@pytest.fixture(autouse=True)
def _fast_test_settings(settings: Any) -> None:
    # Real hashing costs a tenth of a second per user; tests make hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache(settings: Any) -> None:
    """Each test its own cache keys: rate-limit counters (per address, per
    account, per user id, which SQLite reuses from test to test) must not
    carry over. A key prefix rather than cache.clear(), which on Redis would
    flush a database that a Celery broker may share."""
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        alias: {**conf, "KEY_PREFIX": prefix} for alias, conf in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def _fresh_ballot_papers() -> None:
    """Each test reads its opened polls' papers afresh, and no cast starts on a paper
    an earlier test's cast left known: SQLite hands the same poll id and, under a
    frozen clock, the same opening instant to the next test's poll."""
    from elections.models.polls import _options_once_opened
    from elections.services.casting import _KNOWN_PAPERS
    from elections.views.receipt_page import _PAGES

    _options_once_opened.cache_clear()
    _KNOWN_PAPERS.clear()
    _PAGES.clear()


def enrol_totp(user: User) -> str:
    """Give `user` a TOTP authenticator, as allauth's setup page would; returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_secret(user: User) -> str:
    """The secret of `user`'s TOTP authenticator (e.g. one `_officials_enrolled_in_mfa`
    gave them), for a test that signs an official in through the login form."""
    from allauth.mfa.utils import decrypt

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def totp_code(secret: str) -> str:
    """The code an authenticator app shows for `secret` right now."""
    from allauth.mfa import app_settings

    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))


OFFICIAL_ROLES = {Membership.Role.SECRETARY, Membership.Role.OBSERVER}


@pytest.fixture(autouse=True)
def _officials_enrolled_in_mfa() -> Iterator[None]:
    """Officials (secretaries, observers, regional officials, superusers) must
    have a second factor before they can act in their role (config.security).
    Here every official a test makes, however it makes them, gets a TOTP
    authenticator at once, so tests that `force_login` an official and expect
    their pages keep working. tests/security overrides this fixture to test
    the requirement itself. Logging an official in through the login form
    now asks for a code: use `totp_code(secret)` with a secret from `enrol_totp`."""

    def enrol(user: User) -> None:
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            enrol_totp(user)

    def on_membership(instance: Membership, created: bool, **kwargs: Any) -> None:
        if instance.role in OFFICIAL_ROLES:
            enrol(instance.user)

    def on_official(instance: RegionalOfficial, created: bool, **kwargs: Any) -> None:
        enrol(instance.user)

    def on_user(instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
        if instance.is_superuser and not raw:
            enrol(instance)

    receivers = [(on_membership, Membership), (on_official, RegionalOfficial), (on_user, User)]
    for receiver, sender in receivers:
        post_save.connect(receiver, sender=sender, weak=False, dispatch_uid=f"mfa-{sender}")
    yield
    for receiver, sender in receivers:
        post_save.disconnect(receiver, sender=sender, dispatch_uid=f"mfa-{sender}")


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker (tests/integration)."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def _postgres_marker(request: pytest.FixtureRequest) -> None:
    """Tests marked `postgres` skip on SQLite, and fail in CI, which must run them."""
    if request.node.get_closest_marker("postgres") is None:
        return
    if connection.vendor != "postgresql":
        reason = "needs PostgreSQL (set DATABASE_URL=postgres://...)"
        if os.environ.get("TELLER_REQUIRE_POSTGRES"):
            pytest.fail(f"{reason}: CI must run it")
        pytest.skip(reason)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = {"n": 0}

    def build(name: str | None = None, email: str | None = None, **extra: Any) -> User:
        counter["n"] += 1
        name = name or f"Person {counter['n']}"
        email = email or f"{name.lower().replace(' ', '.')}.{counter['n']}@example.org"
        return User.objects.create_user(email, PASSWORD, full_name=name, **extra)

    return build


@pytest.fixture
def region(db: None) -> Region:
    rules = RuleSet.objects.create(name="Test region defaults")
    return Region.objects.create(name="Testshire", slug="testshire", default_rules=rules)


@pytest.fixture
def body(region: Region) -> Body:
    return Body.objects.create(region=region, name="Ashby group", slug="ashby")


@pytest.fixture
def other_body(region: Region) -> Body:
    return Body.objects.create(region=region, name="Brindle group", slug="brindle")


def _member(body: Body, user: User, role: str = Membership.Role.MEMBER) -> User:
    Membership.objects.create(body=body, user=user, role=role)
    return user


@pytest.fixture
def alice(make_user: Callable[..., User], body: Body) -> User:
    return _member(body, make_user("Alice Member"))


@pytest.fixture
def bob(make_user: Callable[..., User], body: Body) -> User:
    return _member(body, make_user("Bob Member"))


@pytest.fixture
def sam(make_user: Callable[..., User], body: Body) -> User:
    return _member(body, make_user("Sam Secretary"), Membership.Role.SECRETARY)


@pytest.fixture
def olive(make_user: Callable[..., User], body: Body) -> User:
    return _member(body, make_user("Olive Observer"), Membership.Role.OBSERVER)


@pytest.fixture
def charlie(make_user: Callable[..., User], other_body: Body) -> User:
    return _member(other_body, make_user("Charlie Outsider"))


@pytest.fixture
def make_members(make_user: Callable[..., User], body: Body) -> Callable[[int], list[User]]:
    def build(n: int) -> list[User]:
        return [_member(body, make_user(f"Councillor {i}")) for i in range(n)]

    return build


@pytest.fixture
def make_contest(body: Body, sam: User) -> Callable[..., Contest]:
    """A contest with candidates, ballot final; `open_poll=True` opens its poll now."""

    def build(
        method: str = Method.PLURALITY,
        names: tuple[str, ...] = ("Ann Archer", "Ben Baker", "Cat Carter"),
        *,
        seats: int = 1,
        open_poll: bool = True,
        in_body: Body | None = None,
        **rules: Any,
    ) -> Contest:
        target = in_body or body
        ruleset = RuleSet.objects.create(name="Contest rules", method=method, seats=seats, **rules)
        contest = Contest.objects.create(body=target, title=f"{method} contest", rules=ruleset)
        admin = sam if target == body else None
        contest.open_nominations(by=admin)
        for name in names:
            Candidate.add(contest, by=admin, name=name)
        contest.finalise_ballot(by=admin)
        now = timezone.now()
        poll = contest.schedule_poll(
            by=admin, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=2)
        )
        if open_poll:
            poll.open(by=admin)
        contest.refresh_from_db()
        return contest

    return build


def poll_of(contest: Contest) -> Poll:
    poll = contest.current_poll()
    assert poll is not None
    return poll


def candidate_ids(contest: Contest) -> dict[str, int]:
    return {c.name: c.pk for c in contest.candidates.all()}


# The receipt page's code: four groups of four from the receipt alphabet.
RECEIPT_ON_PAGE = re.compile(r'<p class="receipt" id="receipt">([0-9A-Z-]{19})</p>')


def receipt_shown(page: str) -> str:
    """The receipt code a receipt page shows."""
    found = RECEIPT_ON_PAGE.search(page)
    assert found, "the page shows no receipt code"
    return found[1]
