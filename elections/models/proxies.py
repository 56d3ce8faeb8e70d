"""Proxy appointments: a member names another member to vote for them.

Allowed only where the contest's frozen rules allow proxies; approved or
refused by the secretary before polling opens; voided when a ruling
disallows proxies. The proxy holder casts the principal's ballot as a
ballot of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from elections.exceptions import InvalidTransition, NotAllowed
from elections.models.audit import AuditEvent, audit_actor_for
from elections.models.contests import Contest, ContestState
from elections.models.regions import Membership

if TYPE_CHECKING:
    from accounts.models import User
    from elections.models.polls import Poll

_BEFORE_POLLING = (ContestState.DRAFT, ContestState.NOMINATIONS, ContestState.READY)


class ProxyStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the secretary"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    VOIDED = "voided", "Voided by a ruling"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ProxyAppointment(models.Model):
    Status = ProxyStatus

    contest = models.ForeignKey(Contest, on_delete=models.PROTECT, related_name="proxies")
    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proxies_given"
    )
    proxy = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proxies_held"
    )
    status = models.CharField(
        max_length=20, choices=ProxyStatus.choices, default=ProxyStatus.PENDING
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            # One live appointment per principal and contest.
            models.UniqueConstraint(
                fields=["contest", "principal"],
                condition=models.Q(status__in=["pending", "approved"]),
                name="one_live_proxy_per_principal",
            ),
            models.CheckConstraint(
                condition=~models.Q(principal=models.F("proxy")), name="proxy_is_someone_else"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proxy} for {self.principal} ({self.get_status_display()})"

    @classmethod
    def appoint(cls, contest: Contest, *, principal: User, proxy: User) -> ProxyAppointment:
        if not contest.rules.proxy_allowed:
            raise NotAllowed("The rules of this contest do not allow proxy votes.")
        if principal == proxy:
            raise InvalidTransition("Choose another member as your proxy.")
        voters = Membership.objects.voting().filter(body_id=contest.body_id)
        if not voters.filter(user=principal).exists() or not voters.filter(user=proxy).exists():
            raise NotAllowed("Both people must be voting members of the body.")
        with transaction.atomic():
            locked = Contest.objects.select_for_update().get(pk=contest.pk)
            if locked.state not in _BEFORE_POLLING:
                raise InvalidTransition("Proxies can only be appointed before polling opens.")
            if cls.objects.filter(contest=contest, principal=principal, status__in=_LIVE).exists():
                raise InvalidTransition("You have already appointed a proxy for this contest.")
            appointment = cls.objects.create(contest=contest, principal=principal, proxy=proxy)
            AuditEvent.record(
                "proxy.appointed", actor=principal, contest=contest, obj=appointment,
                data={"principal": str(principal), "proxy": str(proxy)},
            )  # fmt: skip
        return appointment

    def decide(self, *, by: User | None, approve: bool, reason: str = "") -> None:
        """The secretary approves or refuses, before polling opens."""
        self.contest._require_admin(by)
        with transaction.atomic():
            contest = (
                Contest.objects.select_for_update().select_related("rules").get(pk=self.contest_id)
            )
            me = ProxyAppointment.objects.select_for_update().get(pk=self.pk)
            if contest.state not in _BEFORE_POLLING:
                raise InvalidTransition("Proxies can only be decided before polling opens.")
            if approve and not contest.rules.proxy_allowed:
                raise NotAllowed("The rules of this contest do not allow proxy votes.")
            if me.status != ProxyStatus.PENDING:
                raise InvalidTransition("This appointment has already been decided.")
            me.status = ProxyStatus.APPROVED if approve else ProxyStatus.REFUSED
            me.decided_by, me.decided_at, me.reason = audit_actor_for(by), timezone.now(), reason
            me.save(update_fields=["status", "decided_by", "decided_at", "reason"])
            AuditEvent.record(
                f"proxy.{me.status}", actor=audit_actor_for(by), contest=contest, obj=me,
                reason=reason, data={"principal": str(me.principal), "proxy": str(me.proxy)},
            )  # fmt: skip
        self.refresh_from_db()

    @classmethod
    def void_for(cls, contest: Contest, *, reason: str, by: User | None = None) -> int:
        """Void every live appointment of a contest: a ruling disallowed proxies."""
        with transaction.atomic():
            live = list(cls.objects.select_for_update().filter(contest=contest, status__in=_LIVE))
            for appointment in live:
                appointment.status = ProxyStatus.VOIDED
                appointment.reason = reason
                appointment.save(update_fields=["status", "reason"])
            if live:
                AuditEvent.record(
                    "proxy.voided", actor=audit_actor_for(by), contest=contest, reason=reason,
                    data={"count": len(live)},
                )  # fmt: skip
        return len(live)

    @classmethod
    def valid_for(cls, poll: Poll, *, principal: User, proxy: User) -> bool:
        """Whether `proxy` may cast `principal`'s ballot in this poll now."""
        if not poll.contest.rules.proxy_allowed or poll.opened_at is None:
            return False
        return cls.objects.filter(
            contest_id=poll.contest_id,
            principal=principal,
            proxy=proxy,
            status=ProxyStatus.APPROVED,
            decided_at__lt=poll.opened_at,
        ).exists()


_LIVE = (ProxyStatus.PENDING, ProxyStatus.APPROVED)
