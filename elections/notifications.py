"""Writing notifications (the outbox) and the member's preferences and inbox.

`notify()` is called by every event, inside the event's own transaction:
the rows commit or roll back with it, and delivery is queued only after
the commit (`elections.delivery` sends them; a periodic task picks up any
whose queueing was lost). A notice names a contest or poll and carries a
few public facts, never ballot choices nor who voted for whom.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.query import ModelIterable
from django.utils import timezone

from elections.exceptions import TellerError
from elections.models.notifications import (
    OPTIONAL_KINDS,
    Notification,
    NotificationKind,
    NotificationMute,
    NotificationStatus,
)

if TYPE_CHECKING:
    from accounts.models import User
    from elections.models import Contest, Poll

log = logging.getLogger(__name__)

# Rows per INSERT. Small enough for SQLite's bound-parameter limit with the
# dedupe pre-check, large enough that 130,000 recipients take ~130 statements.
_BATCH = 1000
# PostgreSQL takes the ids as one array parameter per statement.
_PG_BATCH = 20_000
# Notices per extra delivery run queued for one event (see _delivery_runs).
_ROWS_PER_RUN = 2000

# A notice's context is for small facts. These keys would mean someone is
# about to put a ballot, or its link to a voter, into a notice: refuse.
_FORBIDDEN_KEYS = frozenset(
    {
        "ballot",
        "ballots",
        "choice",
        "choices",
        "preference",
        "preferences",
        "ranking",
        "receipt",
        "receipt_code",
        "voted_for",
    }
)
_MAX_CONTEXT_CHARS = 2000


class UnsafeNotification(ValueError):
    """A programming error: a notice would carry what it must not."""


class CannotMute(TellerError):
    """The member tried to switch off a notice the rules require."""


def notify(
    users: Iterable[Any],
    kind: NotificationKind | str,
    *,
    contest: Contest | int | None = None,
    poll: Poll | int | None = None,
    context: dict[str, Any] | None = None,
    dedupe: str | None = None,
) -> int:
    """Write one notification per person for one event; return rows written.

    `users`: User objects or ids, or a queryset of users or of user ids
    (`values_list("user_id", flat=True)`, `values("user_id")`). A queryset
    is streamed and written in batches, so a roll of 130,000 never loads
    as model instances.

    `dedupe` names the event; it defaults to "<kind>:poll:<id>" or
    "<kind>:contest:<id>", so a second call for the same event writes
    nothing for anyone already told. Pass your own for events that can
    happen more than once per poll or contest (a second reminder, a ruling).

    People who muted an optional kind are skipped. Call it inside the
    transaction of the event it announces; delivery is queued on commit.
    """
    kind = NotificationKind(kind)
    facts = _checked_context(context)
    contest_id = _pk(contest)
    poll_id = _pk(poll)
    if poll_id is not None and contest_id is None:
        contest_id = _contest_of_poll(poll)
    key = dedupe or _default_dedupe(kind, contest_id=contest_id, poll_id=poll_id)

    now = timezone.now()
    written = 0
    # savepoint=False: if writing the notices fails, the caller's event must
    # not commit without them, so the error poisons the whole transaction.
    with transaction.atomic(savepoint=False):
        muted: set[int] = set()
        if kind in OPTIONAL_KINDS:
            mutes = NotificationMute.objects.filter(kind=kind)
            muted = set(mutes.values_list("user_id", flat=True))
        seen: set[int] = set()
        fast = connection.vendor == "postgresql"
        for chunk in _chunked(_user_ids(users), _PG_BATCH if fast else _BATCH):
            ids = [i for i in dict.fromkeys(chunk) if i not in seen and i not in muted]
            seen.update(ids)
            if not ids:
                continue
            if fast:
                written += _insert_many(ids, kind, contest_id, poll_id, facts, now, key)
                continue
            # Counted here rather than from bulk_create, which cannot say
            # which rows ON CONFLICT DO NOTHING skipped.
            already = set(
                Notification.objects.filter(dedupe_key=key, user_id__in=ids).values_list(
                    "user_id", flat=True
                )
            )
            rows = [
                Notification(
                    user_id=user_id,
                    kind=kind,
                    contest_id=contest_id,
                    poll_id=poll_id,
                    context=facts,
                    created_at=now,
                    next_attempt_at=now,
                    dedupe_key=key,
                )
                for user_id in ids
                if user_id not in already
            ]
            # ignore_conflicts: a concurrent notify for the same event may
            # have written some of these since the check; the constraint wins.
            Notification.objects.bulk_create(rows, batch_size=_BATCH, ignore_conflicts=True)
            written += len(rows)
        # robust: the event has committed by then; if the broker is down
        # the rows wait in the outbox for the periodic delivery task.
        for _ in range(_delivery_runs(written)):
            transaction.on_commit(_enqueue_delivery, robust=True)
    return written


def _insert_many(
    ids: list[int],
    kind: str,
    contest_id: int | None,
    poll_id: int | None,
    facts: dict[str, Any],
    now: Any,
    key: str,
) -> int:
    """PostgreSQL: one INSERT … SELECT FROM unnest() per chunk.

    A roll import or a ballot-open notice writes a row for each of up to
    130,000 people; building model instances for them cost ~0.7 ms a row
    (bench/roll_import_bench.py), this a few microseconds. The unique
    constraint settles duplicates, and the row count says what was new.
    """
    table = Notification._meta.db_table
    sql = (
        f"INSERT INTO {table} (user_id, kind, contest_id, poll_id, context, created_at, "  # noqa: S608
        "status, attempts, next_attempt_at, last_error, dedupe_key) "
        "SELECT u, %s, %s, %s, %s::jsonb, %s, %s, 0, %s, '', %s FROM unnest(%s::bigint[]) AS u "
        "ON CONFLICT (user_id, dedupe_key) DO NOTHING"
    )
    params = [kind, contest_id, poll_id, json.dumps(facts), now, NotificationStatus.PENDING,
              now, key, ids]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _delivery_runs(written: int) -> int:
    """How many delivery runs to queue for `written` new notices.

    Sending is mostly waiting (for the mail server's reply to each command,
    for the commit that marks each row sent), so one run uses little of a
    worker. A big event queues several, up to TELLER_NOTIFY_PARALLEL, one
    per _ROWS_PER_RUN notices: each claims its own batches (SKIP LOCKED) and
    re-queues itself while rows are due, so every worker process sends at
    once. Measured in bench/notifications_bench.py.
    """
    if not written:
        return 0
    return max(1, min(settings.TELLER_NOTIFY_PARALLEL, written // _ROWS_PER_RUN))


def _enqueue_delivery() -> None:
    from elections.tasks.notifications import deliver_notifications_task

    deliver_notifications_task.delay()


# --- preferences -----------------------------------------------------------
def muted_kinds(user: User) -> set[str]:
    return set(NotificationMute.objects.filter(user=user).values_list("kind", flat=True))


def set_muted(user: User, kind: NotificationKind | str, muted: bool) -> None:
    """Switch one optional kind of notice off (muted) or back on."""
    kind = NotificationKind(kind)
    if kind not in OPTIONAL_KINDS:
        raise CannotMute(
            f"“{kind.label}” notices are required by the rules and cannot be switched off."
        )
    if muted:
        NotificationMute.objects.get_or_create(user=user, kind=kind)
    else:
        NotificationMute.objects.filter(user=user, kind=kind).delete()


# --- inbox -----------------------------------------------------------------
def inbox_for(user: User) -> models.QuerySet[Notification]:
    return (
        Notification.objects.filter(user=user)
        .select_related("contest__body", "poll")
        .order_by("-created_at", "-id")
    )


def unread_count(user: User) -> int:
    """How many of the person's notices are unread.

    The request's user arrives with the count already read (see
    `config.security.with_request_status`); any other user costs a query.
    """
    loaded = getattr(user, "teller_unread", None)
    if loaded is not None:
        return int(loaded)
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the person's notifications read (only `ids`, if given); return how many."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    marked = qs.update(read_at=timezone.now())
    if getattr(user, "teller_unread", None) is not None:
        # Keep the count loaded with the request's user true for the page
        # that is about to render it.
        user.teller_unread = max(0, user.teller_unread - marked)  # type: ignore[attr-defined]
    return marked


# --- helpers ---------------------------------------------------------------
def _pk(obj: models.Model | int | None) -> int | None:
    if obj is None:
        return None
    return obj.pk if isinstance(obj, models.Model) else int(obj)


def _contest_of_poll(poll: Poll | int | None) -> int:
    from elections.models import Poll

    if isinstance(poll, Poll):
        return poll.contest_id
    return Poll.objects.values_list("contest_id", flat=True).get(pk=poll)


def _default_dedupe(kind: str, *, contest_id: int | None, poll_id: int | None) -> str:
    if poll_id is not None:
        return f"{kind}:poll:{poll_id}"
    if contest_id is not None:
        return f"{kind}:contest:{contest_id}"
    raise UnsafeNotification(
        "A notice about neither a contest nor a poll needs dedupe= to name its event."
    )


def _checked_context(context: dict[str, Any] | None) -> dict[str, Any]:
    facts = dict(context or {})
    _refuse_secret_keys(facts)
    try:
        encoded = json.dumps(facts, default=str)
    except (TypeError, ValueError) as exc:
        raise UnsafeNotification(f"A notice's context must be JSON: {exc}") from None
    if len(encoded) > _MAX_CONTEXT_CHARS:
        raise UnsafeNotification("A notice's context is for a few small facts; this is too big.")
    # What the database will hold, so a datetime reads back the same everywhere.
    return json.loads(encoded)


def _refuse_secret_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in _FORBIDDEN_KEYS:
                raise UnsafeNotification(
                    f"A notice must never carry {key!r}: no ballot content leaves the tally."
                )
            _refuse_secret_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_secret_keys(item)


def _user_ids(users: Iterable[Any]) -> Iterator[int]:
    items: Iterable[Any] = users
    if isinstance(users, models.QuerySet):
        # A queryset of User objects would load whole rows; ask for ids only.
        if issubclass(users._iterable_class, ModelIterable):
            users = users.values_list("pk", flat=True)
        items = users.iterator(chunk_size=_BATCH * 5)
    for item in items:
        if isinstance(item, models.Model):
            yield item.pk
        elif isinstance(item, dict):
            (value,) = item.values()
            yield int(value)
        elif isinstance(item, tuple | list):
            yield int(item[0])
        else:
            yield int(item)


def _chunked(items: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
