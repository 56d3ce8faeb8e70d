"""Fixtures for the notification tests: a contest with a clean outbox, and
mail backends that count connections or fail on purpose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from elections.models import Contest, Notification, Poll
from tests.notifications.backends import CountingBackend, FlakyBackend

BACKENDS = "tests.notifications.backends"


@pytest.fixture
def contest(make_contest: Callable[..., Contest], alice: Any, bob: Any) -> Contest:
    """An open contest whose roll is alice and bob, with an empty outbox.

    Opening it already wrote its own notices (nominations, ballot open);
    they are cleared so each test sees only what it writes.
    """
    built = make_contest()
    Notification.objects.all().delete()
    return built


@pytest.fixture
def poll(contest: Contest) -> Poll:
    found = contest.current_poll()
    assert found is not None
    return found


@pytest.fixture
def use_backend(settings: Any) -> Callable[[str], None]:
    """Switch the email backend to one of tests/notifications/backends.py."""
    CountingBackend.reset()
    FlakyBackend.failures = 2

    def use(name: str) -> None:
        settings.EMAIL_BACKEND = f"{BACKENDS}.{name}"

    return use


@pytest.fixture
def counting_backend(use_backend: Callable[[str], None]) -> type[CountingBackend]:
    use_backend("CountingBackend")
    return CountingBackend
