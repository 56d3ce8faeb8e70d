"""Casting a ballot: one transaction writes that the person voted and
drops what they voted into the inbox; nothing else about them is kept.

Nothing here logs, audits or returns the choices, and the only thing that
leaves with the voter is the receipt code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from elections.ballot_paper import NO, YES, BallotPaper, PaperKind
from elections.exceptions import BallotRefused
from elections.models import (
    Channel,
    Contest,
    InboxBallot,
    Participation,
    Poll,
    RollEntry,
    VotingChannel,
)
from elections.models.polls import lock_poll_for_casting
from elections.models.proxies import ProxyAppointment
from elections.services.receipts import new_receipt_code, receipt_digest

if TYPE_CHECKING:
    from accounts.models import User


def can_vote(poll: Poll, user: User, *, proxy: User | None = None) -> tuple[bool, str]:
    """Whether `user` (or `proxy` for them) may open the ballot now.

    A hint for pages; casting checks everything again in its transaction.
    """
    verdict = poll.accepts_votes_at(timezone.now())
    if not verdict:
        return False, verdict.reason
    if poll.contest.rules.channel == Channel.IN_PERSON:
        return False, "This contest is voted in the room, not online."
    you = "You are" if proxy is None else f"{user} is"
    if not RollEntry.objects.filter(poll=poll, user=user).exists():
        return False, f"{you} not on the roll for this poll."
    if proxy is not None and not ProxyAppointment.valid_for(poll, principal=user, proxy=proxy):
        return False, "You hold no proxy for this member that was approved before polling opened."
    if Participation.objects.filter(poll=poll, voter=user).exists():
        voted = "You have" if proxy is None else f"{user} has"
        return False, f"{voted} already voted in this poll."
    return True, ""


# Refusals about the poll or the person rather than the marked paper: the
# voter cannot fix these by changing their marks.
REFUSED_FOR_THE_POLL = frozenset({
    "no_poll", "not_open", "wrong_channel", "not_on_roll",
    "proxy_not_allowed", "proxy_not_valid", "already_voted",
})  # fmt: skip


def cast_ballot(
    poll_id: int,
    voter: User,
    choices: Sequence[int | str],
    *,
    cast_by: User | None = None,
    channel: str = VotingChannel.ONLINE,
) -> str:
    """Record one ballot; return its receipt code, or raise BallotRefused.

    `choices` must come from `BallotPaper.read` for this poll's paper; they
    are checked again here against the poll's candidates, inside the same
    transaction that checks the poll is open and writes the rows.
    """
    chosen = list(choices)
    return _cast(poll_id, voter, lambda paper: chosen, cast_by=cast_by, channel=channel)


def cast_marked_paper(
    poll: Poll, voter: User, form: Mapping[str, Any], *, cast_by: User | None = None
) -> str:
    """Read the marked paper from the voter's posted form and cast it; return the receipt code.

    `poll` is as the page loaded it, with its contest and rules. Its ballot
    paper and rules are taken from there rather than read again inside the
    transaction: a poll's candidates are fixed when the poll is created, and
    rules change only by a ruling, which locks the rules row, not the poll,
    so no read under the poll's lock would order a ruling against a vote any
    better than the page's read a moment before. What the poll's lock does
    order, the poll being open or closed, is read under it. A form that does
    not fit the paper (stale, tampered) raises BallotRefused with
    `BallotPaper.read`'s code, like any refusal.
    """
    paper = poll.ballot_paper()
    return _cast(
        poll.pk, voter, lambda _: paper.read(form), cast_by=cast_by, known=(poll.contest, paper)
    )


def _cast(
    poll_id: int,
    voter: User,
    read: Callable[[BallotPaper], list[int | str]],
    *,
    cast_by: User | None,
    channel: str = VotingChannel.ONLINE,
    known: tuple[Contest, BallotPaper] | None = None,
) -> str:
    by_proxy = cast_by is not None and cast_by != voter
    try:
        with transaction.atomic():
            try:
                poll = lock_poll_for_casting(
                    poll_id, voter=voter, contest=known[0] if known else None
                )
            except Poll.DoesNotExist:
                raise BallotRefused("no_poll", "There is no such poll.") from None
            verdict = poll.accepts_votes_at(timezone.now())
            if not verdict:
                raise BallotRefused("not_open", verdict.reason)
            if channel == VotingChannel.ONLINE and poll.contest.rules.channel == Channel.IN_PERSON:
                raise BallotRefused(
                    "wrong_channel", "This contest is voted in the room, not online."
                )
            if not poll.voter_on_roll:
                raise BallotRefused(
                    "not_on_roll", f"{_you(voter, by_proxy)} not on the roll for this poll."
                )
            if by_proxy:
                _check_proxy(poll, principal=voter, proxy=cast_by)  # type: ignore[arg-type]
            if poll.voter_has_voted:
                # The friendly answer for the common case; the unique
                # constraint below is what stops two requests racing.
                raise _already_voted(voter, by_proxy)
            paper = known[1] if known else poll.ballot_paper()
            choices = read(paper)
            _check_choices(paper, choices)
            Participation.objects.create(
                poll_id=poll.pk, voter=voter, channel=channel, cast_by=cast_by or voter
            )
            code = new_receipt_code()
            InboxBallot.objects.create(
                poll_id=poll.pk, choices=list(choices), receipt_digest=receipt_digest(code)
            )
    except IntegrityError:
        raise _already_voted(voter, by_proxy) from None
    return code


def _you(voter: User, by_proxy: bool) -> str:
    return f"{voter} is" if by_proxy else "You are"


def _already_voted(voter: User, by_proxy: bool) -> BallotRefused:
    who = f"{voter} has" if by_proxy else "You have"
    return BallotRefused("already_voted", f"{who} already voted in this poll.")


def _check_proxy(poll: Poll, *, principal: User, proxy: User) -> None:
    if not poll.contest.rules.proxy_allowed:
        raise BallotRefused(
            "proxy_not_allowed", "The rules of this contest do not allow proxy votes."
        )
    if not ProxyAppointment.valid_for(poll, principal=principal, proxy=proxy):
        raise BallotRefused(
            "proxy_not_valid",
            "You hold no proxy for this member that was approved before polling opened.",
        )


def _check_choices(paper: BallotPaper, choices: Sequence[int | str]) -> None:
    if paper.kind == PaperKind.YES_NO:
        ok = list(choices) in ([], [YES], [NO])
    else:
        ok = all(isinstance(c, int) and c in paper.ids for c in choices)
        ok = ok and len(set(choices)) == len(choices)
        if paper.kind == PaperKind.SINGLE:
            ok = ok and len(choices) <= 1
        elif paper.kind == PaperKind.BLOCK:
            ok = ok and len(choices) <= paper.seats
    if not choices and not paper.abstention_allowed:
        ok = False
    if not ok:
        raise BallotRefused("unknown_candidate", "That ballot does not fit this poll.")
