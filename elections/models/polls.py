"""Polls (rounds of voting) and the roll of who may vote in each.

A poll accepts votes only while `opens_at <= now < closes_at` and it is
open (not suspended, not quashed). Casting checks that inside its own
transaction, so a late or missing task never lets a late vote in.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from config.prepared import PreparedQuery
from elections.ballot_paper import BallotPaper, Option, PaperKind
from elections.exceptions import InvalidTransition
from elections.models.audit import AuditEvent, audit_actor_for
from elections.models.candidates import Candidate
from elections.models.contests import Contest, ContestState
from elections.models.regions import Membership
from elections.models.rules import Method, RuleSet
from elections.permissions import ALLOWED, Verdict, refused

if TYPE_CHECKING:
    from accounts.models import User


class PollStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    COUNTED = "counted", "Counted"


class Poll(models.Model):
    Status = PollStatus

    contest = models.ForeignKey(Contest, on_delete=models.PROTECT, related_name="polls")
    number = models.PositiveSmallIntegerField(default=1)
    candidates = models.ManyToManyField(Candidate, related_name="polls")
    # The plan, and what happened: kept apart.
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=PollStatus.choices, default=PollStatus.SCHEDULED
    )
    suspended = models.BooleanField(default=False)
    roll_size = models.PositiveIntegerField(default=0)
    # The count sheet from elections.counting, with names; empty until counted.
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["contest", "number"]
        constraints = [
            models.UniqueConstraint(fields=["contest", "number"], name="poll_number_per_contest"),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="poll_closes_after_opening",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "opens_at"]),
            models.Index(fields=["status", "closes_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.contest} — round {self.number}" if self.number > 1 else str(self.contest)

    def get_absolute_url(self) -> str:
        return reverse("ballot", args=[self.pk])

    def accepts_votes_at(self, now: datetime) -> Verdict:
        """Whether a vote arriving at `now` is in time, and if not, why.

        `votes_accepted_at` is the same rule as a filter, for the database
        to apply under the casting lock; a test holds the two together.
        """
        if self.suspended or self.contest.state == ContestState.QUASHED:
            return refused("This poll is suspended.")
        if self.status == PollStatus.SCHEDULED or now < self.opens_at:
            return refused("This poll has not opened yet.")
        if self.status != PollStatus.OPEN or now >= self.closes_at:
            return refused("This poll has closed.")
        return ALLOWED

    @staticmethod
    def votes_accepted_at(now: datetime) -> models.Q:
        """The polls whose `accepts_votes_at(now)` allows a vote, as a filter."""
        return models.Q(
            status=PollStatus.OPEN, suspended=False, opens_at__lte=now, closes_at__gt=now
        ) & ~models.Q(contest__state=ContestState.QUASHED)

    def roll_user_ids(self) -> models.QuerySet:
        return RollEntry.objects.filter(poll=self).values_list("user_id", flat=True)

    def ballot_paper(self) -> BallotPaper:
        rules = self.contest.rules
        if rules.method in (Method.AV, Method.STV):
            kind = PaperKind.RANKED
        elif rules.method == Method.YES_NO:
            kind = PaperKind.YES_NO
        elif rules.seats > 1 and rules.method == Method.PLURALITY:
            kind = PaperKind.BLOCK
        else:
            kind = PaperKind.SINGLE
        if self.status == PollStatus.SCHEDULED or self.opened_at is None:
            options = _read_options(self.pk)
        else:
            options = _options_once_opened(self.pk, self.opened_at)
        return BallotPaper(
            kind, options, seats=rules.seats, abstention_allowed=rules.abstention_allowed
        )

    @property
    def is_final(self) -> bool:
        """Closed and fully mixed: what is in the ballot box is all there is."""
        return self.status in (PollStatus.CLOSED, PollStatus.COUNTED)

    def _locked(self) -> Poll:
        return (
            Poll.objects.select_for_update()
            .select_related("contest", "contest__rules")
            .get(pk=self.pk)
        )

    # --- transitions -------------------------------------------------------
    def open(self, *, by: User | None) -> None:
        """Open the poll now and freeze its roll.

        Opened by hand before its planned time, the plan moves to now so that
        the open window stays the single test of whether a vote is in time.
        """
        from elections.models.notifications import NotificationKind
        from elections.notifications import notify

        self.contest._require_admin(by)
        with transaction.atomic():
            poll = self._locked()
            contest = Contest.objects.select_for_update().get(pk=poll.contest_id)
            now = timezone.now()
            if poll.status != PollStatus.SCHEDULED:
                raise InvalidTransition("This poll is not waiting to open.")
            if now >= poll.closes_at:
                raise InvalidTransition("Its closing time has passed; schedule it again.")
            if contest.state not in (ContestState.READY, ContestState.POLLING):
                raise InvalidTransition("The contest is not ready for polling.")
            poll.opens_at = min(poll.opens_at, now)
            poll.opened_at = now
            poll.status = PollStatus.OPEN
            poll.roll_size = RollEntry.freeze_for(poll)
            poll.save(update_fields=["opens_at", "opened_at", "status", "roll_size"])
            contest.state = ContestState.POLLING
            contest.save(update_fields=["state"])
            notify(poll.roll_user_ids(), NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)
            AuditEvent.record(
                "poll.opened",
                actor=audit_actor_for(by),
                contest=contest,
                obj=poll,
                data={"number": poll.number, "roll_size": poll.roll_size},
            )
        self.refresh_from_db()

    def close(self, *, by: User | None) -> None:
        """Close the poll, then mix the whole inbox into the ballot box.

        The close takes the row lock that every casting transaction shares,
        so it waits for votes in flight and no vote lands after it.
        """
        from elections.models.notifications import NotificationKind
        from elections.notifications import notify
        from elections.services.mixer import mix_poll

        self.contest._require_admin(by)
        with transaction.atomic():
            poll = self._locked()
            contest = Contest.objects.select_for_update().get(pk=poll.contest_id)
            if poll.status != PollStatus.OPEN:
                raise InvalidTransition("This poll is not open.")
            if contest.state == ContestState.QUASHED:
                raise InvalidTransition("This contest was quashed by a ruling.")
            now = timezone.now()
            poll.closes_at = min(poll.closes_at, now)
            poll.closed_at = now
            poll.status = PollStatus.CLOSED
            poll.save(update_fields=["closes_at", "closed_at", "status"])
            contest.state = ContestState.CLOSED
            contest.save(update_fields=["state"])
            notify(poll.roll_user_ids(), NotificationKind.POLL_CLOSED, contest=contest, poll=poll)
            AuditEvent.record(
                "poll.closed",
                actor=audit_actor_for(by),
                contest=contest,
                obj=poll,
                data={
                    "number": poll.number,
                    "turnout": poll.participations.count(),
                    "roll_size": poll.roll_size,
                },
            )
        mix_poll(self.pk, final=True)
        self.refresh_from_db()

    def count(self, *, by: User | None, seed: str | None = None) -> dict[str, Any]:
        from elections.services.tally import count_poll

        self.contest._require_admin(by)
        return count_poll(self, by=by, seed=seed)


class RollEntry(models.Model):
    """One person on a poll's roll, frozen when the poll opens."""

    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="roll")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ward = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "user"], name="roll_once_per_poll")]

    def __str__(self) -> str:
        return f"{self.user} on the roll of {self.poll}"

    @classmethod
    def freeze_for(cls, poll: Poll) -> int:
        """Copy the body's current voting members onto the poll's roll.

        A re-run keeps the roll of the contest it replaces: the same
        electorate votes again, whoever has joined or left since.
        """
        original = poll.contest.rerun_of_id
        if original is not None:
            first = Poll.objects.filter(contest_id=original).order_by("number").first()
            if first is not None and first.roll.exists():
                rows = [
                    cls(poll=poll, user_id=user_id, ward=ward)
                    for user_id, ward in first.roll.values_list("user_id", "ward")
                ]
                cls.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
                return cls.objects.filter(poll=poll).count()
        members = Membership.objects.voting().filter(body_id=poll.contest.body_id)
        rows = [
            cls(poll=poll, user_id=user_id, ward=ward)
            for user_id, ward in members.values_list("user_id", "ward").iterator(chunk_size=5000)
        ]
        cls.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
        return cls.objects.filter(poll=poll).count()


@receiver(m2m_changed, sender=Poll.candidates.through)
def _candidates_fixed_once_opened(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A poll's candidates are set while it is scheduled and never after.

    Casting relies on it: the ballot paper a voter's page read is the paper
    the vote is counted on (services/casting.py, `cast_marked_paper`).
    """
    if not action.startswith("pre_"):
        return
    if reverse:  # candidate.polls.add(...): the polls are in pk_set
        polls = (
            Poll.objects.filter(pk__in=pk_set or ()) if action != "pre_clear" else instance.polls
        )
        touched = polls.exclude(status=PollStatus.SCHEDULED).exists()
    else:
        touched = instance.status != PollStatus.SCHEDULED
    if touched:
        raise InvalidTransition("A poll's candidates cannot change once it has opened.")


def _poll(poll_id: int) -> models.QuerySet[Poll]:
    return Poll.objects.filter(pk=poll_id)


def _poll_for_vote(poll_id: int, voter_id: int, now: datetime) -> models.QuerySet[Poll]:
    from elections.models.ballots import Participation

    # Only what `accepts_votes_at` reads: every vote returns this row.
    only = ("contest", "status", "suspended", "opens_at", "closes_at")
    return (
        Poll.objects.filter(pk=poll_id)
        .only(*only)
        .order_by()
        .annotate(
            accepting=models.ExpressionWrapper(
                Poll.votes_accepted_at(now), output_field=models.BooleanField()
            ),
            voter_on_roll=Exists(RollEntry.objects.filter(poll=OuterRef("pk"), user_id=voter_id)),
            voter_has_voted=Exists(
                Participation.objects.filter(poll=OuterRef("pk"), voter_id=voter_id)
            ),
            # What `poll_for_voter` checks before a ballot page: a voting member of the
            # body now, not only on the roll frozen at the opening.
            voter_is_member=Exists(
                Membership.objects.voting().filter(
                    body_id=OuterRef("contest__body_id"), user_id=voter_id
                )
            ),
            contest_title=F("contest__title"),
            # The rules as they stand under the lock (`rules_method`, ...).
            **{f"rules_{f}": F(f"contest__rules__{f}") for f in RuleSet.CASTING_FIELDS},
        )
    )


def _poll_candidates(poll_id: int) -> models.QuerySet[Candidate]:
    only = ("name", "affiliation")  # what the paper shows
    return Candidate.objects.filter(polls=poll_id).only(*only).order_by("position", "name")


# Every ballot takes these: compiled once (config/prepared.py).
_LOCK_POLL = PreparedQuery(_poll, "poll_id", for_share=True)
# Casting runs this one inside its statement (services/casting.py).
LOCK_POLL_FOR_VOTE = PreparedQuery(
    _poll_for_vote, "poll_id", "voter_id", datetimes=("now",), for_share=True
)
_POLL_CANDIDATES = PreparedQuery(_poll_candidates, "poll_id")


def _read_options(poll_id: int) -> tuple[Option, ...]:
    return tuple(Option(c.pk, c.name, c.affiliation) for c in _POLL_CANDIDATES.run(poll_id=poll_id))


# An opened poll's candidates never change (`_candidates_fixed_once_opened`), so each
# process reads them once: every ballot page, confirmation and cast of an election
# would otherwise read the same rows again. The opening instant is in the key so that
# a poll id SQLite hands out again after a delete is never taken for the old poll.
@lru_cache(maxsize=1024)
def _options_once_opened(poll_id: int, opened_at: datetime) -> tuple[Option, ...]:
    return _read_options(poll_id)


def lock_poll_for_casting(
    poll_id: int,
    voter: Any = None,
    contest: Contest | None = None,
    now: datetime | None = None,
) -> Poll:
    """Read the poll under a shared row lock, with its contest and rules.

    Many votes can hold it at once; the close's exclusive lock waits for
    them all, and votes arriving after the close see it closed. With a
    `voter`, the same statement says whether the poll takes votes at `now`
    (`accepting`), and whether they are on the poll's roll (`voter_on_roll`)
    and have voted in it (`voter_has_voted`). The contest and rules are read
    by a statement of their own after the lock is granted, unless the caller
    already holds them (`contest`).
    """
    if voter is None:
        found = _LOCK_POLL.run(poll_id=poll_id)
    else:
        found = LOCK_POLL_FOR_VOTE.run(
            poll_id=poll_id, voter_id=voter.pk, now=now or timezone.now()
        )
    if not found:
        raise Poll.DoesNotExist
    poll = found[0]
    if contest is None or contest.pk != poll.contest_id:
        contest = Contest.objects.select_related("rules").get(pk=poll.contest_id)
    poll.contest = contest
    return poll
