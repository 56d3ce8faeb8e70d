"""The register in the room: who voted on paper, and the paper counts.

Marking someone in the room writes the same Participation row an online
vote writes (channel "in person"), so the one-vote constraint keeps the
two channels apart: marked in the room means no online vote, and the
other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from elections.ballot_paper import ABSTAIN, NO, YES, PaperKind
from elections.exceptions import BallotRefused, InvalidTransition, NotAllowed
from elections.models import AuditEvent, Channel, Participation, Poll, PollStatus, RollEntry
from elections.models.ballots import VotingChannel
from elections.models.polls import lock_poll_for_casting
from elections.models.proxies import ProxyAppointment
from elections.models.register import PaperCount

if TYPE_CHECKING:
    from accounts.models import User


def mark_in_person(poll_id: int, voter: User, *, by: User, proxy: User | None = None) -> None:
    """The secretary records that `voter` (or their proxy) voted on paper."""
    try:
        with transaction.atomic():
            poll = lock_poll_for_casting(poll_id)
            poll.contest._require_admin(by)
            if poll.contest.rules.channel == Channel.ONLINE:
                raise BallotRefused("wrong_channel", "This contest is voted online only.")
            verdict = poll.accepts_votes_at(timezone.now())
            if not verdict:
                raise BallotRefused("not_open", verdict.reason)
            if not RollEntry.objects.filter(poll_id=poll.pk, user=voter).exists():
                raise BallotRefused("not_on_roll", f"{voter} is not on the roll for this poll.")
            if proxy is not None and not ProxyAppointment.valid_for(
                poll, principal=voter, proxy=proxy
            ):
                raise BallotRefused(
                    "proxy_not_valid", f"{proxy} holds no approved proxy for {voter}."
                )
            Participation.objects.create(
                poll_id=poll.pk,
                voter=voter,
                channel=VotingChannel.IN_PERSON,
                cast_by=proxy or voter,
            )
            AuditEvent.record(
                "register.marked", actor=by, contest=poll.contest, obj=poll,
                data={"voter": str(voter), "by_proxy": str(proxy) if proxy else None},
            )  # fmt: skip
    except IntegrityError:
        raise BallotRefused("already_voted", f"{voter} has already voted in this poll.") from None


def _paper_choices(poll: Poll) -> set[str]:
    paper = poll.ballot_paper()
    if paper.kind == PaperKind.RANKED or paper.kind == PaperKind.BLOCK:
        raise InvalidTransition("Paper counts can only be entered for single-choice ballots.")
    choices = {YES, NO} if paper.kind == PaperKind.YES_NO else {str(i) for i in paper.ids}
    if paper.abstention_allowed:
        choices.add(ABSTAIN)
    return choices


def enter_paper_counts(poll: Poll, counts: Mapping[str, int], *, by: User) -> None:
    """Record the paper votes after the close; they must add up to the register."""
    poll.contest._require_admin(by)
    allowed = _paper_choices(poll)
    unknown = set(counts) - allowed
    if unknown:
        raise InvalidTransition("Those choices are not on this ballot paper.")
    if any(type(v) is not int or v < 0 for v in counts.values()):
        raise InvalidTransition("Counts must be whole numbers, zero or more.")
    with transaction.atomic():
        locked = Poll.objects.select_for_update().select_related("contest").get(pk=poll.pk)
        if locked.status != PollStatus.CLOSED:
            raise InvalidTransition("Paper counts are entered after the close, before the count.")
        if PaperCount.objects.filter(poll=locked, countersigned_at__isnull=False).exists():
            raise InvalidTransition("The paper counts are countersigned and final.")
        marked = Participation.objects.filter(poll=locked, channel=VotingChannel.IN_PERSON).count()
        if sum(counts.values()) != marked:
            raise InvalidTransition(
                f"The paper counts add up to {sum(counts.values())}, "
                f"but the register shows {marked} people voted in the room."
            )
        PaperCount.objects.filter(poll=locked).delete()
        PaperCount.objects.bulk_create(
            [PaperCount(poll=locked, choice=c, votes=v, entered_by=by) for c, v in counts.items()]
        )
        AuditEvent.record(
            "paper_counts.entered", actor=by, contest=locked.contest, obj=locked,
            data={"counts": dict(counts)},
        )  # fmt: skip


def countersign_paper_counts(poll: Poll, *, by: User) -> None:
    """An observer of the body confirms the paper counts; only then can they be counted."""
    if not poll.contest.is_observer(by):
        raise NotAllowed("Only an observer of this body can countersign the paper counts.")
    with transaction.atomic():
        locked = Poll.objects.select_for_update().select_related("contest").get(pk=poll.pk)
        counts = PaperCount.objects.filter(poll=locked)
        if not counts.exists():
            raise InvalidTransition("No paper counts have been entered.")
        if counts.filter(entered_by=by).exists():
            raise NotAllowed("The person who entered the counts cannot countersign them.")
        counts.update(countersigned_by=by, countersigned_at=timezone.now())
        AuditEvent.record(
            "paper_counts.countersigned", actor=by, contest=locked.contest, obj=locked,
            data={"counts": {c.choice: c.votes for c in counts}},
        )  # fmt: skip


def paper_ballots(poll: Poll) -> list[tuple[list[int | str], int]]:
    """The countersigned paper votes as (choices, weight) for the tally."""
    rows = PaperCount.objects.filter(poll=poll)
    if rows.filter(countersigned_at__isnull=True).exists():
        raise InvalidTransition("The paper counts wait for an observer's countersignature.")
    out: list[tuple[list[int | str], int]] = []
    for row in rows:
        if row.votes == 0:
            continue
        if row.choice == ABSTAIN:
            out.append(([], row.votes))
        elif row.choice in (YES, NO):
            out.append(([row.choice], row.votes))
        else:
            out.append(([int(row.choice)], row.votes))
    return out
