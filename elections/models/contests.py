"""Contests and their candidates, with the contest's lifecycle.

draft → nominations → ready → polling → closed → counted → declared, and
quashed (by a ruling) from polling onwards. Each change is a method that
checks who may make it, locks the row, writes an audit event and moves the
state, all in one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from elections.exceptions import InvalidTransition, NotAllowed
from elections.models.audit import AuditEvent, audit_actor_for
from elections.models.regions import Body, Membership
from elections.models.rules import Method, RuleSet
from elections.permissions import ALLOWED, Verdict, refused

if TYPE_CHECKING:
    from accounts.models import User
    from elections.models.candidates import Candidate
    from elections.models.polls import Poll


class ContestState(models.TextChoices):
    DRAFT = "draft", "Draft"
    NOMINATIONS = "nominations", "Nominations open"
    READY = "ready", "Ballot final"
    POLLING = "polling", "Polling"
    CLOSED = "closed", "Poll closed"
    COUNTED = "counted", "Counted"
    DECLARED = "declared", "Declared"
    QUASHED = "quashed", "Quashed"


class ContestQuerySet(models.QuerySet["Contest"]):
    def visible_to(self, user: User) -> ContestQuerySet:
        """Contests of the bodies the person belongs to, in any role."""
        if not user.is_authenticated:
            return self.none()
        bodies = Membership.objects.active().filter(user=user).values("body_id")
        return self.filter(body_id__in=bodies)


class Contest(models.Model):
    State = ContestState

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="contests")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rules = models.OneToOneField(RuleSet, on_delete=models.PROTECT, related_name="contest")
    state = models.CharField(
        max_length=20, choices=ContestState.choices, default=ContestState.DRAFT
    )
    rerun_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rerun"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    declared_at = models.DateTimeField(null=True, blank=True)
    quashed_at = models.DateTimeField(null=True, blank=True)

    objects = ContestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["body", "state"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("contest", args=[self.pk])

    # --- who ---------------------------------------------------------------
    def _has_role(self, user: User | None, role: str) -> bool:
        if user is None or not user.is_authenticated:
            return False
        return (
            Membership.objects.active().filter(body_id=self.body_id, user=user, role=role).exists()
        )

    def is_member(self, user: User | None) -> bool:
        return self._has_role(user, Membership.Role.MEMBER)

    def is_secretary(self, user: User | None) -> bool:
        return self._has_role(user, Membership.Role.SECRETARY)

    def is_observer(self, user: User | None) -> bool:
        return self._has_role(user, Membership.Role.OBSERVER)

    def can_administer(self, user: User | None) -> Verdict:
        """Secretaries of the body (and site admins) run its contests.

        `user=None` is the system itself: the scheduled tasks.
        """
        if user is None:
            return ALLOWED
        if user.is_authenticated and (user.is_superuser or self.is_secretary(user)):
            return ALLOWED
        return refused("Only the body's secretary can do this.")

    def _require_admin(self, user: User | None) -> None:
        verdict = self.can_administer(user)
        if not verdict:
            raise NotAllowed(verdict.reason)

    # --- what --------------------------------------------------------------
    @property
    def method(self) -> Method:
        return self.rules.method_choice

    @property
    def is_finished(self) -> bool:
        return self.state in (ContestState.DECLARED, ContestState.QUASHED)

    def standing_candidates(self) -> models.QuerySet[Candidate]:
        """Accepted and not withdrawn: who goes on the ballot paper."""
        from elections.models.candidates import CandidateStatus

        return self.candidates.filter(status=CandidateStatus.ACCEPTED, withdrawn_at__isnull=True)

    def current_poll(self) -> Poll | None:
        return self.polls.order_by("-number").first()

    def can_edit_candidates(self) -> Verdict:
        if self.state in (ContestState.DRAFT, ContestState.NOMINATIONS):
            return ALLOWED
        return refused("The ballot paper is final; candidates can no longer change.")

    def can_edit_rules(self) -> Verdict:
        if self.rules.is_frozen:
            return refused(
                "The rules were frozen when nominations opened; only a ruling changes them."
            )
        return ALLOWED

    def can_open_nominations(self) -> Verdict:
        if self.state != ContestState.DRAFT:
            return refused("Nominations can only open on a draft contest.")
        return ALLOWED

    def can_finalise_ballot(self) -> Verdict:
        from elections.models.candidates import CandidateStatus

        if self.state not in (ContestState.DRAFT, ContestState.NOMINATIONS):
            return refused("The ballot paper is already final.")
        pending = self.candidates.filter(status=CandidateStatus.NOMINATED)
        if pending.filter(withdrawn_at__isnull=True).exists():
            return refused("Accept or reject every nomination first.")
        standing = self.standing_candidates().count()
        if self.method == Method.YES_NO:
            if standing != 1:
                return refused("A yes/no contest has exactly one candidate or motion.")
        elif standing < 1:
            return refused("Add at least one candidate first.")
        return ALLOWED

    def can_schedule_poll(self) -> Verdict:
        if self.state != ContestState.READY:
            return refused("The ballot paper must be final before the poll is scheduled.")
        return ALLOWED

    def can_declare(self) -> Verdict:
        if self.state != ContestState.COUNTED:
            return refused("Only a counted contest can be declared.")
        return ALLOWED

    # --- transitions -------------------------------------------------------
    def _locked(self) -> Contest:
        return Contest.objects.select_for_update().select_related("rules", "body").get(pk=self.pk)

    def _move(self, to: ContestState, *, by: User | None, action: str, **audit: Any) -> None:
        """Set the state and record it; the caller holds the row lock."""
        before = self.state
        self.state = to
        self.save(update_fields=["state", *audit.pop("fields", [])])
        AuditEvent.record(
            action,
            actor=audit_actor_for(by),
            contest=self,
            obj=self,
            reason=audit.pop("reason", ""),
            data={"from": before, "to": str(to), **audit.pop("data", {})},
        )

    def open_nominations(self, *, by: User | None) -> None:
        from elections.models.notifications import NotificationKind
        from elections.notifications import notify

        self._require_admin(by)
        with transaction.atomic():
            contest = self._locked()
            _check(contest.can_open_nominations())
            contest.rules.freeze()
            notify(contest.body.voter_ids(), NotificationKind.NOMINATIONS_OPEN, contest=contest)
            contest._move(
                ContestState.NOMINATIONS,
                by=by,
                action="contest.nominations_opened",
                data={"rules": contest.rules.as_dict()},
            )
        self.refresh_from_db()

    def finalise_ballot(self, *, by: User | None) -> None:
        self._require_admin(by)
        with transaction.atomic():
            contest = self._locked()
            _check(contest.can_finalise_ballot())
            # A contest taken straight from draft still freezes its rules here.
            contest.rules.freeze()
            names = list(contest.standing_candidates().values_list("name", flat=True))
            contest._move(
                ContestState.READY,
                by=by,
                action="contest.ballot_finalised",
                data={"candidates": names},
            )
        self.refresh_from_db()

    def schedule_poll(self, *, by: User | None, opens_at: Any, closes_at: Any) -> Poll:
        """Create the first poll, or move the times of one not yet open."""
        from elections.models.polls import Poll

        self._require_admin(by)
        if closes_at <= opens_at:
            raise InvalidTransition("The poll must close after it opens.")
        with transaction.atomic():
            contest = self._locked()
            poll = contest.polls.select_for_update().order_by("-number").first()
            if poll is None:
                _check(contest.can_schedule_poll())
                poll = Poll.objects.create(
                    contest=contest, number=1, opens_at=opens_at, closes_at=closes_at
                )
                poll.candidates.set(contest.standing_candidates())
            elif poll.status != Poll.Status.SCHEDULED:
                raise InvalidTransition("This poll has opened; its times can no longer change.")
            else:
                poll.opens_at, poll.closes_at = opens_at, closes_at
                poll.save(update_fields=["opens_at", "closes_at"])
            AuditEvent.record(
                "poll.scheduled",
                actor=audit_actor_for(by),
                contest=contest,
                obj=poll,
                data={
                    "number": poll.number,
                    "opens_at": opens_at.isoformat(),
                    "closes_at": closes_at.isoformat(),
                },
            )
        return poll

    def declare(self, *, by: User | None) -> None:
        from elections.models.notifications import NotificationKind
        from elections.notifications import notify

        self._require_admin(by)
        with transaction.atomic():
            contest = self._locked()
            _check(contest.can_declare())
            poll = contest.current_poll()
            contest.declared_at = timezone.now()
            notify(contest.body.everyone_ids(), NotificationKind.RESULT_DECLARED, contest=contest)
            contest._move(
                ContestState.DECLARED,
                by=by,
                action="contest.declared",
                fields=["declared_at"],
                data={"elected": (poll.result or {}).get("elected", []) if poll else []},
            )
        self.refresh_from_db()


def _check(verdict: Verdict) -> None:
    if not verdict:
        raise InvalidTransition(verdict.reason)
