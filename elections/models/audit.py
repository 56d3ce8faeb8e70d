"""The audit trail: append-only and hash-chained.

Each event holds the digest of the one before, so editing or deleting any
row breaks the chain from there on; `manage.py verify_audit` finds where.
Events never record how anyone voted, nor the casting of a single ballot:
the Participation row is the record that a person voted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

GENESIS = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 7_311_042


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField(primary_key=True)
    at = models.DateTimeField()
    # The actor is kept as an id and a label rather than a foreign key, so
    # that nothing (a cascade, a rename) ever rewrites a chained row.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=250)
    action = models.CharField(max_length=60, db_index=True)
    contest_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    body_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    object_ref = models.CharField(max_length=80, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit events are append-only")

    def payload(self) -> dict[str, Any]:
        at = self.at.astimezone(UTC) if self.at.tzinfo else self.at
        return {
            "seq": self.seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor": self.actor_label,
            "action": self.action,
            "contest_id": self.contest_id,
            "body_id": self.body_id,
            "object": self.object_ref,
            "reason": self.reason,
            "data": self.data,
            "prev": self.prev_digest,
        }

    def compute_digest(self) -> str:
        return hashlib.sha256(_canonical(self.payload())).hexdigest()

    @classmethod
    def record(
        cls,
        action: str,
        *,
        actor: Any = None,
        contest: Any = None,
        body: Any = None,
        obj: models.Model | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event to the chain, inside the caller's transaction."""
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
            last = cls.objects.order_by("-seq").values("seq", "digest").first()
            if body is None and contest is not None:
                body = contest.body
            event = cls(
                seq=(last["seq"] + 1) if last else 1,
                at=timezone.now(),
                actor_id=getattr(actor, "pk", None),
                actor_label=_label(actor),
                action=action,
                contest_id=getattr(contest, "pk", None),
                body_id=getattr(body, "pk", None),
                object_ref=_ref(obj) if obj is not None else "",
                reason=reason,
                data=data or {},
                prev_digest=last["digest"] if last else GENESIS,
            )
            # Round-trip the payload so the digest covers what the database stores.
            event.data = json.loads(_canonical({"d": event.data}))["d"]
            event.digest = event.compute_digest()
            event.save(force_insert=True)
            return event


def _label(actor: Any) -> str:
    if actor is None:
        return "system"
    email = getattr(actor, "email", "")
    name = str(actor)
    return f"{name} <{email}>" if email and email != name else name


def _ref(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainBreak | None:
    """Recompute the chain; return the first event that does not fit, or None."""
    prev = GENESIS
    expected_seq = 1
    for event in events if events is not None else _iter_events():
        if event.seq != expected_seq:
            return ChainBreak(event.seq, f"expected event #{expected_seq}; one is missing")
        if event.prev_digest != prev:
            return ChainBreak(event.seq, "its link to the previous event does not match")
        if event.compute_digest() != event.digest:
            return ChainBreak(event.seq, "its contents do not match its digest")
        prev = event.digest
        expected_seq += 1
    return None


def _iter_events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)


def audit_actor_for(user: Any) -> Any:
    """The actor to record: a real user, or None for the system (tasks)."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


__all__ = ["GENESIS", "AuditEvent", "ChainBreak", "audit_actor_for", "verify_chain"]
