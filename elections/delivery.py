"""Delivering notifications by email: drain the outbox in batches.

Plain functions, no Celery: `elections.tasks.notifications` calls them, and
so do tests. Safe to run twice and concurrently:

- a batch is claimed by moving its rows from pending to sending in one
  short transaction with SELECT ... FOR UPDATE SKIP LOCKED, so two workers
  never take the same row;
- each row is marked sent right after its own send, in its own statement,
  so a crash mid-batch re-sends nothing already marked;
- a row left in "sending" (its worker was killed between the send and the
  mark, or before either) goes back to pending after
  TELLER_NOTIFY_SENDING_TIMEOUT. That window is the only way a member can
  get one notice twice, and the stable Message-ID lets mail clients fold it.

On PostgreSQL the marks (and a batch's failure records) commit with
synchronous_commit off: the commit does not wait for the WAL to reach the
disk, which was most of each mark's cost. A killed worker loses no mark
(the server has committed it); only a crash of PostgreSQL itself can lose
the marks of its last moment (up to three wal_writer_delay, 0.6 s by
default), whose rows are then re-sent after the timeout like any other
orphan. The claim still commits synchronously.

A failed send is retried with exponential backoff and given up after
TELLER_NOTIFY_MAX_ATTEMPTS, with the reason kept in `last_error`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import DatabaseError, transaction
from django.db import connection as db
from django.db.models import F
from django.utils import timezone

from elections.models import Contest, Poll
from elections.models.notifications import Notification, NotificationStatus
from elections.notification_content import EmailComposer, WireMessage

log = logging.getLogger(__name__)

PENDING = NotificationStatus.PENDING
SENDING = NotificationStatus.SENDING
SENT = NotificationStatus.SENT
FAILED = NotificationStatus.FAILED

_MAX_ERROR_CHARS = 1000


class DeliveryError(Exception):
    """The mail backend did not take the message, without raising."""


@dataclass
class DeliveryReport:
    batches: int = 0
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    recovered: int = 0
    # True when the run stopped at its batch limit with rows still due.
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "claimed": self.claimed,
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "recovered": self.recovered,
            "more": self.more,
        }


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: doubling, capped."""
    seconds = settings.TELLER_NOTIFY_BACKOFF_SECONDS * 2**attempts
    return timedelta(seconds=min(seconds, settings.TELLER_NOTIFY_BACKOFF_MAX_SECONDS))


def deliver_pending(
    *,
    batch_size: int = 500,
    now: datetime | None = None,
    max_batches: int | None = None,
) -> DeliveryReport:
    """Send every notification that is due, a batch at a time; report what happened.

    `now` fixes the clock (for tests and replays); by default each batch
    reads the time. Stops when nothing is due or after `max_batches`
    (TELLER_NOTIFY_MAX_BATCHES), leaving `report.more` set for the caller
    to run again.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else timezone.now
    report = DeliveryReport()
    report.recovered = recover_stuck(now=clock())
    limit = max_batches if max_batches is not None else settings.TELLER_NOTIFY_MAX_BATCHES
    for _ in range(limit):
        ids = _claim(batch_size, clock())
        if not ids:
            break
        report.batches += 1
        report.claimed += len(ids)
        with _marks_without_fsync():
            _send_batch(ids, clock, report)
    else:
        report.more = _due(clock()).exists()
    if report.claimed or report.recovered:
        log.info("notification delivery: %s", report.as_dict())
    return report


def deliver_all(*, batch_size: int = 500, now: datetime | None = None) -> DeliveryReport:
    """Run `deliver_pending` until nothing due is left (for commands and the
    dev server; the task re-queues itself instead, to free the worker)."""
    total = DeliveryReport()
    while True:
        report = deliver_pending(batch_size=batch_size, now=now)
        for field in ("batches", "claimed", "sent", "retrying", "failed", "recovered"):
            setattr(total, field, getattr(total, field) + getattr(report, field))
        if not report.more:
            return total


def recover_stuck(*, now: datetime | None = None) -> int:
    """Hand rows left in "sending" by a killed worker back to pending.

    The lost run counts as an attempt, so a message that kills its worker
    every time still stops at the limit instead of looping for ever.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TELLER_NOTIFY_SENDING_TIMEOUT)
    stuck = Notification.objects.filter(status=SENDING, claimed_at__lt=cutoff)
    reason = "Delivery was interrupted (the worker stopped mid-batch)."
    limit = settings.TELLER_NOTIFY_MAX_ATTEMPTS
    with transaction.atomic():
        given_up = stuck.filter(attempts__gte=limit - 1).update(
            status=FAILED,
            attempts=F("attempts") + 1,
            claimed_at=None,
            last_error=f"Gave up after {limit} attempts. Last error: {reason}",
        )
        retried = stuck.update(
            status=PENDING,
            attempts=F("attempts") + 1,
            claimed_at=None,
            next_attempt_at=now,
            last_error=reason,
        )
    if given_up or retried:
        log.warning("recovered %d stuck notifications, gave up on %d", retried, given_up)
    return given_up + retried


# --- the parts ------------------------------------------------------------
def _due(now: datetime) -> Any:
    return Notification.objects.filter(status=PENDING, next_attempt_at__lte=now)


def _claim(batch_size: int, now: datetime) -> list[int]:
    """Take up to `batch_size` due rows for this run; return their ids."""
    with transaction.atomic():
        # SKIP LOCKED: rows another worker is claiming right now are left
        # to it rather than waited for. (SQLite has no row locks; its
        # IMMEDIATE transactions serialise whole claims instead.)
        ids = list(
            _due(now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        if ids:
            Notification.objects.filter(pk__in=ids, status=PENDING).update(
                status=SENDING, claimed_at=now
            )
    return ids


def _send_batch(ids: list[int], clock: Callable[[], datetime], report: DeliveryReport) -> None:
    """Send one claimed batch over one connection to the mail server."""
    rows = _load(ids)
    connection = get_connection(fail_silently=False)
    composer = EmailComposer()
    # Django's SMTP backend: hand smtplib the composer's bytes, rather than
    # have the backend build and serialise a MIME tree for every message.
    # Exactly that class: a subclass may do more in its _send (sign, log).
    wire = type(connection) is SmtpBackend
    is_open = False
    try:
        for position, notification in enumerate(rows):
            if not notification.user.email:
                _record_failure(
                    notification, "The member has no email address.", clock(), report, final=True
                )
                continue
            # Any error in one message (a template, an address) is that
            # row's failure alone: the rest of the batch still goes.
            try:
                message: WireMessage | EmailMultiAlternatives | None = None
                if wire:
                    message = composer.wire(notification)
                if message is None:
                    message = composer.email(notification, connection=connection)
            except Exception as exc:
                _record_failure(notification, _describe(exc), clock(), report)
                continue
            if not is_open:
                try:
                    connection.open()
                    is_open = True
                except Exception as exc:
                    # The server is unreachable: every row left waits for
                    # the backoff rather than each trying to connect.
                    error = f"Could not connect to the mail server: {_describe(exc)}"
                    for rest in rows[position:]:
                        _record_failure(rest, error, clock(), report)
                    return
            try:
                if isinstance(message, WireMessage):
                    # smtplib's own session; with one recipient, sendmail
                    # raises unless the server took the message.
                    connection.connection.sendmail(
                        message.from_addr, [message.to_addr], message.data
                    )
                elif connection.send_messages([message]) != 1:
                    raise DeliveryError("The mail backend accepted no message.")
            except Exception as exc:
                _record_failure(notification, _describe(exc), clock(), report)
                # After a failed send the SMTP session may be half-dead;
                # start the next message on a fresh one.
                _close_quietly(connection)
                is_open = False
                continue
            _mark_sent(notification, clock())
            report.sent += 1
    finally:
        if is_open:
            _close_quietly(connection)


def _load(ids: list[int]) -> list[Notification]:
    """The claimed rows with their members, contests and polls.

    A batch is mostly one event: each contest and poll is loaded once and
    shared by its rows, rather than joined to and built for every row.
    """
    rows = list(
        Notification.objects.filter(pk__in=ids, status=SENDING)
        .select_related("user")
        .order_by("id")
    )
    contests = Contest.objects.select_related("body").in_bulk(
        {row.contest_id for row in rows if row.contest_id is not None}
    )
    polls = Poll.objects.in_bulk({row.poll_id for row in rows if row.poll_id is not None})
    for row in rows:
        if row.contest_id in contests:
            row.contest = contests[row.contest_id]
        if row.poll_id in polls:
            row.poll = polls[row.poll_id]
    return rows


@contextmanager
def _marks_without_fsync() -> Iterator[None]:
    """On PostgreSQL, commit the batch's marks without waiting for the disk
    (see the module docstring for what that risks, and what not)."""
    if db.vendor != "postgresql":
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        # The connection serves the worker's next task: put it back. If the
        # database went away mid-batch there is nothing left to put back.
        try:
            with db.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO DEFAULT")
        except DatabaseError:
            log.debug("could not reset synchronous_commit", exc_info=True)


def _mark_sent(notification: Notification, now: datetime) -> None:
    # The ORM's update() costs more CPU to build than the statement costs to
    # run, once per message; this is the same statement, written once.
    with db.cursor() as cursor:
        cursor.execute(
            _MARK_SENT_SQL,
            [SENT, db.ops.adapt_datetimefield_value(now), notification.pk, SENDING],
        )


_MARK_SENT_SQL = (
    f"UPDATE {Notification._meta.db_table} "  # noqa: S608 - names from the model
    "SET status = %s, sent_at = %s, claimed_at = NULL, last_error = '' "
    "WHERE id = %s AND status = %s"
)


def _record_failure(
    notification: Notification,
    error: str,
    now: datetime,
    report: DeliveryReport,
    *,
    final: bool = False,
) -> None:
    attempts = notification.attempts + 1
    limit = settings.TELLER_NOTIFY_MAX_ATTEMPTS
    error = error[:_MAX_ERROR_CHARS]
    if final or attempts >= limit:
        fields: dict[str, Any] = {
            "status": FAILED,
            "last_error": f"Gave up after {attempts} attempt{'s' if attempts != 1 else ''}. "
            f"Last error: {error}",
        }
        report.failed += 1
        log.error("gave up on notification %s: %s", notification.pk, error)
    else:
        fields = {
            "status": PENDING,
            "next_attempt_at": now + backoff(attempts),
            "last_error": error,
        }
        report.retrying += 1
        log.warning("notification %s failed (attempt %d): %s", notification.pk, attempts, error)
    Notification.objects.filter(pk=notification.pk, status=SENDING).update(
        attempts=attempts, claimed_at=None, **fields
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:
        # Closing a broken SMTP session can itself fail; the socket is gone either way.
        log.debug("closing the mail connection failed", exc_info=True)
