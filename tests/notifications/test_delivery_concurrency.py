"""Two delivery runs at once, on real PostgreSQL: every notice goes exactly once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from elections import notifications as notifications_module
from elections.delivery import DeliveryReport, deliver_pending
from elections.models import Notification, NotificationKind, NotificationStatus
from elections.notifications import notify


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_notice_exactly_once(
    make_members, counting_backend, mailoutbox, monkeypatch
):
    # Left to itself, notify would deliver at its own commit (tasks are
    # eager in tests); this test wants the outbox full and two senders racing.
    monkeypatch.setattr(notifications_module, "_enqueue_delivery", lambda: None)
    members = make_members(40)
    assert notify(members, NotificationKind.INVITED, dedupe="invited:race") == 40

    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            # Small batches so the two runs take turns many times.
            reports.append(deliver_pending(batch_size=3))
        except BaseException as exc:  # reported by the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sum(r.sent for r in reports) == 40
    assert sum(r.claimed for r in reports) == 40
    sent_to = Counter(m.to[0] for m in mailoutbox)
    assert sent_to == Counter(m.email for m in members)
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}
