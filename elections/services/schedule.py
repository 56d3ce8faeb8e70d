"""The periodic sweep: polls open, get reminders, close and are counted on time.

A plain function, run by celery beat through `sweep_polls_task`, by the
dev server's embedded scheduler, and directly by tests. Each poll moves in
its own transaction under its row lock, so two sweeps at once, or a sweep
and a secretary's click, never move one poll twice; a poll whose time
passed while nothing ran is moved at the next sweep. One poll that fails
is logged and skipped: it must not stop the others.

Casting checks the open window by itself, so a late sweep never lets a
late vote in; it only delays the close's mixing and counting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from elections.exceptions import InvalidTransition
from elections.models import ContestState, Participation, Poll, PollStatus, RollEntry
from elections.services.mixer import mix_poll

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    mixed: int = 0
    failed: list[int] = field(default_factory=list)


def sweep(
    now: datetime | None = None, *, on_closed: Callable[[int], object] | None = None
) -> SweepReport:
    """Move every poll that is due. `on_closed(poll_id)` runs after each close
    (the Celery task passes "queue the count")."""
    now = now or timezone.now()
    report = SweepReport()
    # A suspended poll (a ruling stepped in) is left for the ruling to settle.
    due_to_close = Poll.objects.filter(status=PollStatus.OPEN, closes_at__lte=now, suspended=False)
    for poll_id in due_to_close.values_list("pk", flat=True):
        if _step(report, poll_id, lambda p: p.close(by=None)):
            report.closed.append(poll_id)
            if on_closed is not None:
                on_closed(poll_id)
    due_to_open = Poll.objects.filter(
        status=PollStatus.SCHEDULED,
        opens_at__lte=now,
        closes_at__gt=now,
        suspended=False,
        contest__state__in=[ContestState.READY, ContestState.POLLING],
    )
    for poll_id in due_to_open.values_list("pk", flat=True):
        if _step(report, poll_id, lambda p: p.open(by=None)):
            report.opened.append(poll_id)
    for poll in Poll.objects.filter(
        status=PollStatus.OPEN, reminder_sent_at__isnull=True, closes_at__gt=now
    ).select_related("contest__rules"):
        hours = poll.contest.rules.reminder_hours_before_close
        due = bool(hours) and poll.closes_at - timedelta(hours=hours) <= now
        if due and _step(report, poll.pk, lambda p: send_reminders(p.pk, now)):
            report.reminded.append(poll.pk)
    # Large polls mix in batches while open; small ones wait for the close.
    for poll_id in Poll.objects.filter(status=PollStatus.OPEN).values_list("pk", flat=True):
        report.mixed += mix_poll(poll_id, final=False)
    return report


def _step(report: SweepReport, poll_id: int, action: Callable[[Poll], object]) -> bool:
    try:
        action(Poll.objects.select_related("contest").get(pk=poll_id))
    except InvalidTransition as reason:
        # Someone else moved it first (another sweep, the secretary): nothing to do.
        log.info("sweep skipped poll %s: %s", poll_id, reason)
        return False
    except Exception:
        log.exception("sweep failed on poll %s", poll_id)
        report.failed.append(poll_id)
        return False
    return True


def send_reminders(poll_id: int, now: datetime | None = None) -> int:
    """Remind those on the roll who have not voted, once per poll.

    Reads the roll and Participation only, never the ballot box: whether
    someone voted is all it needs, and all it may know.
    """
    from elections.models.notifications import NotificationKind
    from elections.notifications import notify

    now = now or timezone.now()
    with transaction.atomic():
        # The conditional update is the claim: only one sweep sends them.
        if not Poll.objects.filter(pk=poll_id, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        ):
            raise InvalidTransition("Reminders were already sent.")
        poll = Poll.objects.select_related("contest").get(pk=poll_id)
        voted = Participation.objects.filter(poll_id=poll_id).values("voter_id")
        not_voted = (
            RollEntry.objects.filter(poll_id=poll_id)
            .exclude(user_id__in=voted)
            .values_list("user_id", flat=True)
        )
        return notify(not_voted, NotificationKind.REMINDER, contest=poll.contest, poll=poll)
