"""Casting a ballot: one transaction writes that the person voted and
drops what they voted into the inbox; nothing else about them is kept.

Nothing here logs, audits or returns the choices, and the only thing that
leaves with the voter is the receipt code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from elections.ballot_paper import NO, YES, BallotPaper, PaperKind
from elections.exceptions import BallotRefused
from elections.models import (
    Contest,
    InboxBallot,
    Participation,
    Poll,
    RollEntry,
    RuleSet,
    VotingChannel,
)
from elections.models.polls import LOCK_POLL_FOR_VOTE, lock_poll_for_casting
from elections.models.proxies import ProxyAppointment
from elections.services.receipts import new_receipt_code, receipt_digest


def can_vote(poll: Poll, user: User, *, proxy: User | None = None) -> tuple[bool, str]:
    """Whether `user` (or `proxy` for them) may open the ballot now.

    A hint for pages; casting checks everything again in its transaction.
    """
    verdict = poll.accepts_votes_at(timezone.now())
    if not verdict:
        return False, verdict.reason
    if not poll.contest.rules.online_voting:
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
    "no_poll", "not_open", "rules_changed", "wrong_channel", "not_on_roll",
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
    return _cast(poll_id, voter, lambda _: chosen, cast_by=cast_by, channel=channel)


def cast_marked_paper(
    poll: Poll, voter: User, form: Mapping[str, Any], *, cast_by: User | None = None
) -> str:
    """Read the marked paper from the voter's posted form and cast it; return the receipt code.

    `poll` is as the page loaded it, with its contest and rules. Its ballot
    paper and rules are taken from there rather than read again with the
    vote: a poll's candidates are fixed once it opens, and rules change only
    by a ruling, which locks the rules row, not the poll, so no read under the
    poll's lock would order a ruling against a vote any better than the
    page's read a moment before. What the poll's lock does order, the poll
    taking votes or not, is read under it. A form that does not fit the paper
    (stale, tampered) raises BallotRefused with `BallotPaper.read`'s code,
    unless the poll or the person is refused first.
    """
    paper = poll.ballot_paper()
    code = _cast(
        poll.pk, voter, lambda _: paper.read(form), cast_by=cast_by, known=(poll.contest, paper)
    )
    _remember(poll, paper)
    return code


@dataclass(frozen=True)
class QuickCast:
    code: str
    # Its pk and title, for the receipt; nothing else is loaded.
    contest: Contest


def cast_on_known_paper(poll_id: int, voter: User, form: Mapping[str, Any]) -> QuickCast | None:
    """Cast a member's own vote on the paper and rules that the last cast in this
    process read for this poll, without reading them again; or return None, having
    written nothing, and the caller takes the full way (`poll_for_voter`, then
    `cast_marked_paper`), which reads everything afresh and gives any refusal its reason.

    An opened poll's paper never changes. Its rules may (a ruling), and so may the
    voter's membership: the one statement checks, under the poll's lock, that the
    rules are still those, and that the voter is a voting member of the body as the
    ballot page's own check would, beside every check the full way makes. Refused
    for any reason, nothing is written and the full way decides.
    """
    known = _KNOWN_PAPERS.get(poll_id)
    if known is None or not _in_one_statement():
        return None
    try:
        choices = known.paper.read(form)
        _check_choices(known.paper, choices)
    except BallotRefused:
        return None
    code = new_receipt_code()
    vote = _Vote(
        poll_id, voter.pk, voter.pk, VotingChannel.ONLINE, choices, code, timezone.now(),
        known.rules,
    )  # fmt: skip
    poll = _write_in_one_statement(vote, known.online, member_now=True, returning=_RECEIPT_ONLY)
    if poll is None or not poll.written:
        return None
    # As loaded with only these two fields (any other is read if asked for): cheaper
    # to make than Contest(...), which sets every field's default (8 µs).
    contest = Contest.from_db(
        DEFAULT_DB_ALIAS, ["id", "title"], [poll.contest_id, poll.contest_title]
    )
    return QuickCast(code, contest)


@dataclass(frozen=True)
class _KnownPaper:
    paper: BallotPaper
    rules: tuple[Any, ...]  # RuleSet.CASTING_FIELDS, as that cast read them
    online: bool  # the rules let a vote be cast online


# Per process, by poll id: a handful of polls are open at once.
_KNOWN_PAPERS: dict[int, _KnownPaper] = {}
_KNOWN_PAPERS_MAX = 256


def _remember(poll: Poll, paper: BallotPaper) -> None:
    """Keep the paper and rules a cast just went through on (on PostgreSQL, the
    only place `cast_on_known_paper` runs), so that the next vote need not read them."""
    if not _in_one_statement():
        return
    rules = poll.contest.rules
    known = _KnownPaper(paper, rules.casting_values(), rules.online_voting)
    if _KNOWN_PAPERS.get(poll.pk) != known:
        if len(_KNOWN_PAPERS) >= _KNOWN_PAPERS_MAX:
            _KNOWN_PAPERS.clear()
        _KNOWN_PAPERS[poll.pk] = known


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
    now = timezone.now()
    if known is None:
        try:
            poll = Poll.objects.select_related("contest__rules").get(pk=poll_id)
        except Poll.DoesNotExist:
            raise BallotRefused("no_poll", "There is no such poll.") from None
        known = (poll.contest, poll.ballot_paper())
    contest, paper = known
    try:
        choices = read(paper)
        _check_choices(paper, choices)
    except BallotRefused:
        # What is wrong with the poll or the person comes first: re-marking
        # the paper would not help with that.
        with transaction.atomic():
            _refuse_if_not_open_to(
                _locked(poll_id, voter, contest, now), voter, cast_by, channel, now
            )
        raise
    code = new_receipt_code()
    rules = contest.rules.casting_values()
    vote = _Vote(poll_id, voter.pk, (cast_by or voter).pk, channel, choices, code, now, rules)
    # In a contest held in the room an online vote is refused; the statement
    # needs only the answer.
    in_channel = channel != VotingChannel.ONLINE or contest.rules.online_voting
    # A vote of one's own is one statement (it is its own transaction); a
    # proxy's checks the appointment in the same transaction as the write.
    with transaction.atomic() if by_proxy else nullcontext():
        poll = _write(vote, in_channel, contest)
        if poll is None:
            raise BallotRefused("no_poll", "There is no such poll.")
        poll.contest = contest
        if not poll.written:
            _refuse_if_not_open_to(poll, voter, cast_by, channel, now)
            # Every check passed, yet no row was written: another request
            # for the same person got there first (the unique constraint).
            raise _already_voted(voter, by_proxy)
        if by_proxy:
            _check_proxy(poll, principal=voter, proxy=cast_by)  # type: ignore[arg-type]
    return code


@dataclass(frozen=True)
class _Vote:
    poll_id: int
    voter_id: int
    cast_by_id: int
    channel: str
    choices: Sequence[int | str]
    code: str
    now: datetime
    # The rules the voter's page read (RuleSet.CASTING_FIELDS), to find unchanged.
    rules: tuple[Any, ...]


def _write(vote: _Vote, in_channel: bool, contest: Contest) -> Poll | None:
    """Write the vote if the poll takes it; return the poll as read under its lock.

    The poll comes with `accepting`, `voter_on_roll` and `voter_has_voted`
    (see `lock_poll_for_casting`) and `written`, whether both rows went in.
    On PostgreSQL the lock, the checks and both rows are one statement, one
    round trip and its own transaction; elsewhere, a transaction of three.
    """
    if _in_one_statement():
        return _write_in_one_statement(vote, in_channel)
    try:
        with transaction.atomic():
            poll = lock_poll_for_casting(
                vote.poll_id, voter=User(pk=vote.voter_id), contest=contest, now=vote.now
            )
            poll.written = (
                in_channel
                and poll.accepting
                and _rules_as_read(poll, vote.rules)
                and poll.voter_on_roll
                and not poll.voter_has_voted
            )
            if poll.written:
                Participation.objects.create(
                    poll_id=vote.poll_id, voter_id=vote.voter_id, channel=vote.channel,
                    cast_by_id=vote.cast_by_id,
                )  # fmt: skip
                InboxBallot.objects.create(
                    poll_id=vote.poll_id, choices=list(vote.choices),
                    receipt_digest=receipt_digest(vote.code),
                )  # fmt: skip
    except Poll.DoesNotExist:
        return None
    except IntegrityError:
        poll.written = False
    return poll


def _in_one_statement() -> bool:
    # SQLite has no INSERT inside WITH.
    return connection.vendor == "postgresql"


def _write_in_one_statement(
    vote: _Vote, in_channel: bool, *, member_now: bool = False, returning: str = "poll.*"
) -> Poll | None:
    # The poll's row is read under its shared lock first (the inserts read
    # from it), so a close waits for this vote or this vote sees the close.
    # A second vote by the same person meets the unique constraint and
    # writes nothing, whichever request commits first. `member_now`: the
    # voter must also be a voting member of the body now (the ballot page
    # checked that already unless the vote comes by `cast_on_known_paper`).
    # `returning`: the poll's columns to read back, besides `written`.
    rows = LOCK_POLL_FOR_VOTE.run_within(
        _one_statement(returning),
        [
            vote.voter_id, vote.channel, vote.cast_by_id, in_channel, *vote.rules, member_now,
            uuid.uuid4(), json.dumps(list(vote.choices)), receipt_digest(vote.code),
        ],
        poll_id=vote.poll_id, voter_id=vote.voter_id, now=vote.now,
    )  # fmt: skip
    return rows[0] if rows else None


_ONE_STATEMENT = """
WITH poll AS ({query}),
participation AS (
    INSERT INTO {participation} (poll_id, voter_id, channel, cast_by_id)
    SELECT id, %s, %s, %s FROM poll
    WHERE %s AND accepting AND {rules_as_read} AND voter_on_roll AND NOT voter_has_voted
        AND (voter_is_member OR NOT %s)
    ON CONFLICT DO NOTHING
    RETURNING poll_id
),
inbox AS (
    INSERT INTO {inbox} (id, poll_id, choices, receipt_digest)
    SELECT %s, poll_id, %s::jsonb, %s FROM participation
    RETURNING poll_id
)
SELECT {returning}, EXISTS (SELECT 1 FROM inbox) AS written FROM poll
"""

# What a receipt needs of the poll once the vote is written. Reading back the rest
# (two timestamps among them) and making a Poll of it cost a known-paper cast 0.02 ms.
_RECEIPT_ONLY = "poll.id, poll.contest_id, poll.contest_title"


def _rules_as_read(poll: Poll, rules: tuple[Any, ...]) -> bool:
    """Whether the rules read under the poll's lock are those the page read."""
    return all(
        getattr(poll, f"rules_{f}") == value
        for f, value in zip(RuleSet.CASTING_FIELDS, rules, strict=True)
    )


@cache
def _one_statement(returning: str) -> str:
    """`_ONE_STATEMENT` with its tables, rules and `returning` filled in, once per
    process (only PostgreSQL runs it)."""
    quote = connection.ops.quote_name
    return _ONE_STATEMENT.format(
        query="{query}",  # left for the prepared query's own SQL
        returning=returning,
        participation=quote(Participation._meta.db_table),
        inbox=quote(InboxBallot._meta.db_table),
        rules_as_read=" AND ".join(f"rules_{f} = %s" for f in RuleSet.CASTING_FIELDS),
    )


def _locked(poll_id: int, voter: User, known: Contest | None, now: datetime) -> Poll:
    try:
        return lock_poll_for_casting(poll_id, voter=voter, contest=known, now=now)
    except Poll.DoesNotExist:
        raise BallotRefused("no_poll", "There is no such poll.") from None


def _refuse_if_not_open_to(
    poll: Poll, voter: User, cast_by: User | None, channel: str, now: datetime
) -> None:
    """Raise the first reason, in the order a voter would want to hear them,
    that `poll` (read under its lock, see `_write`) turns this vote away."""
    by_proxy = cast_by is not None and cast_by != voter
    verdict = poll.accepts_votes_at(now)
    if not verdict:
        raise BallotRefused("not_open", verdict.reason)
    if not poll.accepting:
        # The contest was quashed after the page was read.
        raise BallotRefused("not_open", "This poll is not taking votes.")
    if not _rules_as_read(poll, poll.contest.rules.casting_values()):
        raise BallotRefused(
            "rules_changed",
            "A ruling changed this contest's rules while you were voting, and your ballot "
            "was not cast. Please open the ballot again.",
        )
    if channel == VotingChannel.ONLINE and not poll.contest.rules.online_voting:
        raise BallotRefused("wrong_channel", "This contest is voted in the room, not online.")
    if not poll.voter_on_roll:
        raise BallotRefused(
            "not_on_roll", f"{_you(voter, by_proxy)} not on the roll for this poll."
        )
    if by_proxy:
        _check_proxy(poll, principal=voter, proxy=cast_by)  # type: ignore[arg-type]
    if poll.voter_has_voted:
        raise _already_voted(voter, by_proxy)


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
