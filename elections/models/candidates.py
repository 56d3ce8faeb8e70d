"""Candidates and their nominations.

A member stands with a statement; other members nominate them; the
secretary accepts (once the rules' threshold of nominators is met) or
rejects with a reason. A candidate may withdraw until the ballot paper is
final. Candidates the secretary adds directly are accepted at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from elections.exceptions import InvalidTransition, NotAllowed
from elections.models.audit import AuditEvent, audit_actor_for
from elections.models.contests import Contest, ContestState, _check
from elections.models.regions import Membership

if TYPE_CHECKING:
    from accounts.models import User


class CandidateStatus(models.TextChoices):
    NOMINATED = "nominated", "Nominated, waiting for the secretary"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Candidate(models.Model):
    Status = CandidateStatus

    contest = models.ForeignKey(Contest, on_delete=models.PROTECT, related_name="candidates")
    name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidacies",
    )
    gender = models.CharField(max_length=10, blank=True)
    affiliation = models.CharField(max_length=120, blank=True)
    statement = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=CandidateStatus.choices, default=CandidateStatus.ACCEPTED
    )
    decision_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["contest", "user"],
                condition=models.Q(user__isnull=False),
                name="one_candidacy_per_member",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_standing(self) -> bool:
        return self.status == CandidateStatus.ACCEPTED and self.withdrawn_at is None

    @classmethod
    def add(cls, contest: Contest, *, by: User | None, name: str, **fields: Any) -> Candidate:
        """The secretary puts a candidate straight on the paper."""
        contest._require_admin(by)
        with transaction.atomic():
            locked = contest._locked()
            _check(locked.can_edit_candidates())
            position = locked.candidates.count() + 1
            candidate = cls.objects.create(
                contest=locked, name=name, position=position, status=CandidateStatus.ACCEPTED,
                **fields,
            )  # fmt: skip
            AuditEvent.record(
                "candidate.added", actor=audit_actor_for(by), contest=locked, obj=candidate,
                data={"name": name},
            )  # fmt: skip
        return candidate

    @classmethod
    def stand(
        cls, contest: Contest, *, member: User, statement: str, affiliation: str = ""
    ) -> Candidate:
        """A member puts themselves forward while nominations are open."""
        if not contest.is_member(member):
            raise NotAllowed("Only a voting member of the body can stand.")
        with transaction.atomic():
            locked = contest._locked()
            if locked.state != ContestState.NOMINATIONS:
                raise InvalidTransition("Nominations are not open.")
            if cls.objects.filter(contest=locked, user=member).exists():
                raise InvalidTransition("You are already standing in this contest.")
            candidate = cls.objects.create(
                contest=locked, user=member, name=member.full_name or str(member),
                gender=getattr(member, "gender", ""), statement=statement,
                affiliation=affiliation if locked.rules.show_affiliation else "",
                position=locked.candidates.count() + 1, status=CandidateStatus.NOMINATED,
            )  # fmt: skip
            AuditEvent.record(
                "candidate.stood", actor=member, contest=locked, obj=candidate,
                data={"name": candidate.name},
            )  # fmt: skip
        return candidate

    def nominators_needed(self) -> int:
        return max(0, self.contest.rules.nomination_threshold - self.nominations.count())

    def accept(self, *, by: User | None) -> None:
        self._decide(by=by, accept=True, reason="")

    def reject(self, *, by: User | None, reason: str) -> None:
        if not reason.strip():
            raise InvalidTransition("Give a reason for rejecting a nomination.")
        self._decide(by=by, accept=False, reason=reason)

    def _decide(self, *, by: User | None, accept: bool, reason: str) -> None:
        self.contest._require_admin(by)
        with transaction.atomic():
            contest = self.contest._locked()
            me = Candidate.objects.select_for_update().get(pk=self.pk)
            _check(contest.can_edit_candidates())
            if me.status != CandidateStatus.NOMINATED or me.withdrawn_at:
                raise InvalidTransition("This nomination has already been decided.")
            if accept and me.nominators_needed():
                raise InvalidTransition(
                    f"{me.name} needs {me.nominators_needed()} more nominator(s) under the rules."
                )
            me.status = CandidateStatus.ACCEPTED if accept else CandidateStatus.REJECTED
            me.decision_reason = reason
            me.save(update_fields=["status", "decision_reason"])
            AuditEvent.record(
                f"candidate.{me.status}", actor=audit_actor_for(by), contest=contest, obj=me,
                reason=reason, data={"name": me.name, "nominators": me.nominations.count()},
            )  # fmt: skip
        self.refresh_from_db()

    def withdraw(self, *, by: User | None, reason: str = "") -> None:
        """The candidate themselves, or the secretary, until the ballot is final."""
        if by is None or by != self.user:
            self.contest._require_admin(by)
        with transaction.atomic():
            contest = self.contest._locked()
            _check(contest.can_edit_candidates())
            if self.withdrawn_at is None:
                self.withdrawn_at = timezone.now()
                self.save(update_fields=["withdrawn_at"])
                AuditEvent.record(
                    "candidate.withdrawn", actor=audit_actor_for(by), contest=contest, obj=self,
                    reason=reason, data={"name": self.name},
                )  # fmt: skip


class Nomination(models.Model):
    """A member's nomination of a candidate who stood."""

    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="nominations")
    nominator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="nominations_made"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "nominator"], name="nominate_once"),
        ]

    def __str__(self) -> str:
        return f"{self.nominator} nominates {self.candidate}"

    @classmethod
    def add(cls, candidate: Candidate, *, nominator: User) -> Nomination:
        contest = candidate.contest
        if nominator == candidate.user:
            raise InvalidTransition("Candidates cannot nominate themselves.")
        if not Membership.objects.voting().filter(body_id=contest.body_id, user=nominator).exists():
            raise NotAllowed("Only a voting member of the body can nominate.")
        with transaction.atomic():
            locked = contest._locked()
            if locked.state != ContestState.NOMINATIONS:
                raise InvalidTransition("Nominations are not open.")
            if candidate.status != CandidateStatus.NOMINATED or candidate.withdrawn_at:
                raise InvalidTransition("This candidate is no longer open to nomination.")
            if cls.objects.filter(candidate=candidate, nominator=nominator).exists():
                raise InvalidTransition("You have already nominated this candidate.")
            nomination = cls.objects.create(candidate=candidate, nominator=nominator)
            AuditEvent.record(
                "candidate.nominated", actor=nominator, contest=locked, obj=candidate,
                data={"name": candidate.name, "nominator": str(nominator)},
            )  # fmt: skip
        return nomination
