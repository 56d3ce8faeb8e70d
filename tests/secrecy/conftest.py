"""Fixtures for the secrecy tests: task messages recorded as they would be sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from celery.app.task import Task


@dataclass(frozen=True)
class TaskMessage:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@pytest.fixture
def task_messages(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[TaskMessage]]:
    """Every task queued, with the arguments that would go on the broker.

    `delay()` and `apply_async()` both end in `Task.apply_async`, which
    serialises its args and kwargs into the message whether the task then
    runs eagerly (as in tests) or on a worker; recording them there sees
    exactly what a broker would hold.
    """
    sent: list[TaskMessage] = []
    original = Task.apply_async

    def recording(self: Task, args: Any = None, kwargs: Any = None, *rest: Any, **options: Any):  # type: ignore[no-untyped-def]
        sent.append(TaskMessage(self.name, tuple(args or ()), dict(kwargs or {})))
        return original(self, args, kwargs, *rest, **options)

    monkeypatch.setattr(Task, "apply_async", recording)
    yield sent
