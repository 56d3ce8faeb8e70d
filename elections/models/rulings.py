"""Complaints about a contest, and the regional office's rulings on them.

A councillor lodges a complaint; a regional official of the body's region
hears it and issues a ruling with a written reason: dismiss it, uphold the
result, amend the rules, quash the result, order a re-run. A ruling is
never edited nor deleted: a later ruling may supersede it, and both stay on
record. The actions themselves live in `elections.services.rulings`; the
questions "may this ruling be issued now, and if not, why" live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from elections.exceptions import TellerError
from elections.models.contests import Contest, ContestState
from elections.models.regions import RegionalOfficial
from elections.permissions import ALLOWED, Verdict, refused

if TYPE_CHECKING:
    from accounts.models import User


class InvalidRuling(TellerError):
    """A ruling is incomplete or contradicts itself (no reason, bad amendments)."""


class ImmutableRuling(TellerError):
    """Something tried to change or delete a ruling that has been issued."""


def official_region_ids(user: User | Any) -> set[int]:
    """The regions this person is a regional official of (none for anonymous)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    return set(RegionalOfficial.objects.filter(user=user).values_list("region_id", flat=True))


def is_official_for(user: User | Any, contest: Contest) -> bool:
    """Whether the person is a regional official of the contest's region.

    Site admins are deliberately not included: rulings are the region's to make.
    """
    return contest.body.region_id in official_region_ids(user)


# --- complaints ------------------------------------------------------------
class ComplaintState(models.TextChoices):
    OPEN = "open", "Open"
    UNDER_REVIEW = "under_review", "Under review"
    DECIDED = "decided", "Decided"


class Complaint(models.Model):
    State = ComplaintState

    contest = models.ForeignKey(Contest, on_delete=models.PROTECT, related_name="complaints")
    complainant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="complaints"
    )
    text = models.TextField()
    state = models.CharField(
        max_length=20, choices=ComplaintState.choices, default=ComplaintState.OPEN
    )
    lodged_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    ruling = models.ForeignKey(
        "Ruling", null=True, blank=True, on_delete=models.PROTECT, related_name="decided_complaints"
    )

    class Meta:
        ordering = ["-lodged_at", "-id"]
        indexes = [models.Index(fields=["contest", "state"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(text=""), name="complaint_text_required"),
        ]

    def __str__(self) -> str:
        return f"Complaint #{self.pk} about {self.contest}"

    @property
    def is_decided(self) -> bool:
        return self.state == ComplaintState.DECIDED

    def can_review(self) -> Verdict:
        if self.state != ComplaintState.OPEN:
            return refused("Only an open complaint can be taken under review.")
        return ALLOWED


# --- rulings ---------------------------------------------------------------
class RulingKind(models.TextChoices):
    DISMISS = "dismiss", "Dismiss the complaint"
    UPHOLD = "uphold", "Uphold the result"
    AMEND_RULES = "amend_rules", "Amend the rules"
    QUASH = "quash", "Quash the result"
    ORDER_RERUN = "order_rerun", "Order a re-run"
    QUASH_AND_RERUN = "quash_and_rerun", "Quash the result and order a re-run"

    @property
    def quashes(self) -> bool:
        return self in (RulingKind.QUASH, RulingKind.QUASH_AND_RERUN)

    @property
    def orders_rerun(self) -> bool:
        return self in (RulingKind.ORDER_RERUN, RulingKind.QUASH_AND_RERUN)

    @property
    def takes_amendments(self) -> bool:
        return self == RulingKind.AMEND_RULES or self.orders_rerun


QUASHABLE = (ContestState.POLLING, ContestState.CLOSED, ContestState.COUNTED, ContestState.DECLARED)
_WITH_RESULT = (ContestState.COUNTED, ContestState.DECLARED)


def _voting_has_begun(contest: Contest) -> bool:
    """Polling, closed, counted or declared; or between the rounds of an
    exhaustive ballot (back to "ballot final" with a round already voted)."""
    if contest.state in QUASHABLE:
        return True
    return (
        contest.state == ContestState.READY
        and contest.polls.filter(opened_at__isnull=False).exists()
    )


class RulingQuerySet(models.QuerySet["Ruling"]):
    # Bulk writes bypass save() and delete(); refuse them here as well.
    def update(self, **kwargs: Any) -> int:
        raise ImmutableRuling("A ruling cannot be changed once issued; issue a later one.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRuling("A ruling cannot be deleted; issue a later one that supersedes it.")

    def in_force(self) -> RulingQuerySet:
        return self.filter(superseded_by__isnull=True)


class Ruling(models.Model):
    """One decision of the regional office, with its reason. Immutable once issued."""

    Kind = RulingKind

    contest = models.ForeignKey(Contest, on_delete=models.PROTECT, related_name="rulings")
    complaint = models.ForeignKey(
        Complaint, null=True, blank=True, on_delete=models.PROTECT, related_name="rulings"
    )
    kind = models.CharField(max_length=20, choices=RulingKind.choices)
    reason = models.TextField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rulings_issued"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    # The contest's rules as they stood before the ruling and after it (for a
    # re-run: the new contest's rules), from RuleSet.as_dict().
    rules_before = models.JSONField(default=dict, blank=True)
    rules_after = models.JSONField(default=dict, blank=True)
    rerun = models.OneToOneField(
        Contest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ordered_by_ruling",
    )
    # One-to-one: a ruling is replaced at most once, so the chain stays a line.
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    objects = RulingQuerySet.as_manager()

    class Meta:
        ordering = ["issued_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="ruling_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.contest}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRuling("A ruling cannot be changed once issued; issue a later one.")
        if not (self.reason or "").strip():
            raise InvalidRuling("A ruling needs a written reason.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("contest_rulings", args=[self.contest_id]) + f"#ruling-{self.pk}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRuling("A ruling cannot be deleted; issue a later one that supersedes it.")

    @property
    def kind_choice(self) -> RulingKind:
        return RulingKind(self.kind)

    @property
    def is_superseded(self) -> bool:
        return Ruling.objects.filter(supersedes=self).exists()

    def rule_changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every rule this ruling changed."""
        if not self.rules_after:
            return []
        return [
            (field, self.rules_before.get(field), after)
            for field, after in self.rules_after.items()
            if self.rules_before.get(field) != after
        ]

    @staticmethod
    def can_offer(contest: Contest, kind: RulingKind | str) -> Verdict:
        """Whether the office should offer this kind of ruling on the contest now.

        As `can_issue`, except that a dismissal is offered while any complaint
        about the contest is undecided (the official then picks which).
        """
        kind = RulingKind(kind)
        if kind == RulingKind.DISMISS:
            if not contest.complaints.exclude(state=ComplaintState.DECIDED).exists():
                return refused("There is no undecided complaint about this contest to dismiss.")
            return ALLOWED
        return Ruling.can_issue(contest, kind)

    @staticmethod
    def can_issue(
        contest: Contest, kind: RulingKind | str, *, complaint: Complaint | None = None
    ) -> Verdict:
        """Whether a ruling of this kind can be made on the contest as it stands."""
        kind = RulingKind(kind)
        if complaint is not None:
            if complaint.contest_id != contest.pk:
                return refused("That complaint is about another contest.")
            if complaint.is_decided:
                return refused("That complaint has already been decided.")
        state = contest.state
        if kind == RulingKind.DISMISS:
            if complaint is None:
                return refused("Only a complaint can be dismissed; choose the complaint.")
        elif kind == RulingKind.UPHOLD:
            if state not in _WITH_RESULT:
                return refused("There is no result to uphold until the poll is counted.")
        elif kind == RulingKind.AMEND_RULES:
            if state in (ContestState.DECLARED, ContestState.QUASHED):
                return refused(
                    "The contest is finished; its rules stay as they were run. "
                    "Quash it and order a re-run with the amended rules instead."
                )
        elif kind == RulingKind.QUASH or kind == RulingKind.QUASH_AND_RERUN:
            if not _voting_has_begun(contest):
                return refused(
                    "Only a contest that is polling, closed, counted or declared can be quashed."
                )
        elif kind == RulingKind.ORDER_RERUN and state != ContestState.QUASHED:
            return refused("Only a quashed contest can be re-run; quash it first.")
        if kind.orders_rerun and Contest.objects.filter(rerun_of=contest).exists():
            return refused("A re-run of this contest has already been ordered.")
        return ALLOWED


__all__ = [
    "QUASHABLE",
    "Complaint",
    "ComplaintState",
    "ImmutableRuling",
    "InvalidRuling",
    "Ruling",
    "RulingKind",
    "is_official_for",
    "official_region_ids",
]
