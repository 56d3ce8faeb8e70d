"""Tasks that move polls: the periodic sweep and the count after a close."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from elections.exceptions import InvalidTransition
from elections.models import Poll
from elections.services.schedule import sweep


@shared_task(name="elections.sweep_polls")
def sweep_polls_task() -> dict[str, object]:
    report = sweep(on_closed=lambda poll_id: count_poll_task.delay(poll_id))
    return {"opened": report.opened, "closed": report.closed, "reminded": report.reminded,
            "mixed": report.mixed, "failed": report.failed}  # fmt: skip


@shared_task(
    name="elections.count_poll",
    autoretry_for=(OperationalError,),
    retry_backoff=10,
    max_retries=6,
)
def count_poll_task(poll_id: int) -> str:
    """Count a closed poll. Safe to run twice: a counted poll is left alone."""
    poll = Poll.objects.select_related("contest").get(pk=poll_id)
    try:
        poll.count(by=None)
    except InvalidTransition as reason:
        return f"not counted: {reason}"
    return "counted"
