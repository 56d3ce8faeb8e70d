"""Notifications: an outbox of notices to members, and what they chose to mute.

A Notification row is written in the same transaction as the event it
announces (see `elections.notifications.notify`), so an event that rolls
back tells nobody and one that commits is never lost. `elections.delivery`
drains the pending rows by email; the member's inbox reads the same rows.

A notice never carries ballot choices or who voted for whom: it points at a
contest or poll and holds only small public facts in `context` (a round
number, an excluded candidate's name, a ruling's reason). Nothing here has
a relation to Ballot or InboxBallot.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class NotificationKind(models.TextChoices):
    INVITED = "invited", "Invitation to Teller"
    NOMINATIONS_OPEN = "nominations_open", "Nominations open"
    BALLOT_OPEN = "ballot_open", "Ballot open"
    REMINDER = "reminder", "Reminder to vote"
    POLL_CLOSED = "poll_closed", "Poll closed"
    COUNT_READY = "count_ready", "Count ready to declare"
    RESULT_DECLARED = "result_declared", "Result declared"
    RESULT_QUASHED = "result_quashed", "Result quashed"
    RERUN_ORDERED = "rerun_ordered", "Re-run ordered"
    RULING_ISSUED = "ruling_issued", "Ruling issued"
    COMPLAINT_RECEIVED = "complaint_received", "Complaint received"
    ROUND_SCHEDULED = "round_scheduled", "Next round scheduled"


# Members may mute these. Every other kind is a notice the rules require a
# member to be given (a ballot opening, a result, a quashing, a re-run), so
# it cannot be switched off.
OPTIONAL_KINDS: frozenset[NotificationKind] = frozenset({NotificationKind.REMINDER})


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Could not be sent"


class Notification(models.Model):
    Kind = NotificationKind
    Status = NotificationStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    contest = models.ForeignKey(
        "elections.Contest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    poll = models.ForeignKey(
        "elections.Poll",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    # Small public facts for the message; never choices or who voted for whom.
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    # Delivery by email (the outbox).
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # When a sender took the row; a row left "sending" long past this had
    # its worker killed mid-batch and is handed back to pending.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    # The inbox.
    read_at = models.DateTimeField(null=True, blank=True)

    # Names the event, so one event never notifies a person twice.
    dedupe_key = models.CharField(max_length=200)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"], name="notification_once_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
            models.Index(fields=["user", "-created_at"], name="notification_inbox"),
            # The unread count in every page's nav reads only this.
            models.Index(
                fields=["user"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id} ({self.status})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def is_optional(self) -> bool:
        return self.kind in OPTIONAL_KINDS


class NotificationMute(models.Model):
    """A member's choice not to receive one optional kind of notice."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_mutes"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="mute_once_per_kind"),
            # The database refuses too, so no bulk write or admin edit can
            # silence a legal notice.
            models.CheckConstraint(
                condition=models.Q(kind__in=sorted(OPTIONAL_KINDS)),
                name="mute_only_optional_kinds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} muted {self.kind}"

    def clean(self) -> None:
        super().clean()
        if self.kind not in OPTIONAL_KINDS:
            raise ValidationError(
                {"kind": "This is a notice the rules require every member to receive."}
            )
