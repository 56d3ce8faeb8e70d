"""The task that delivers notifications by email.

It takes no arguments: a message on the broker says only "deliver what is
due", never who is told what. Safe to run twice or concurrently, because
`deliver_pending` claims each row before sending it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from elections.delivery import deliver_pending


@shared_task(
    name="elections.deliver_notifications",
    acks_late=True,
    # Only the database going away is worth retrying the whole run for;
    # a failed email is the row's business, retried with its own backoff.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=10,
    max_retries=5,
    ignore_result=True,
)
def deliver_notifications_task() -> dict[str, Any]:
    report = deliver_pending()
    if report.more:
        # Stopped at its batch limit with rows still due: continue in a
        # fresh task so other work gets the worker in between.
        deliver_notifications_task.delay()
    return report.as_dict()
