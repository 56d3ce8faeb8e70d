"""Counting a closed poll: the ballot box in, a count sheet out.

Reads only `Ballot`, never who voted. The counting itself is
`elections.counting`, pure Python, so anyone can re-run it on the BLT
export and get the same sheet.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from elections import counting
from elections.ballot_paper import NO, YES
from elections.exceptions import InvalidTransition, TellerError
from elections.models import (
    AuditEvent,
    Ballot,
    Contest,
    ContestState,
    InboxBallot,
    Method,
    Participation,
    Poll,
    PollStatus,
    RuleSet,
    TieBreak,
    VotingChannel,
)
from elections.models.audit import audit_actor_for
from elections.models.notifications import NotificationKind
from elections.notifications import notify
from elections.services.mixer import mix_poll
from elections.services.register import paper_ballots

if TYPE_CHECKING:
    from accounts.models import User

# How the web app's methods map to the engine's.
_ENGINE_METHOD = {
    Method.PLURALITY: counting.Method.PLURALITY,
    Method.EXHAUSTIVE: counting.Method.EXHAUSTIVE,
    Method.AV: counting.Method.AV,
    Method.STV: counting.Method.STV,
    Method.YES_NO: counting.Method.YES_NO,
}


class CountMismatch(TellerError):
    """The ballot box and the record of who voted disagree: never count then."""


def engine_input(
    poll: Poll, paper: list[tuple[list[Any], int]] | None = None
) -> tuple[list[counting.Candidate], list[counting.Ballot]]:
    """The poll's candidates, its ballot box and any paper votes, as the
    counting engine takes them.

    Identical papers are grouped into one weighted ballot: the count is the
    same and large polls count much faster.
    """
    candidates = [
        counting.Candidate(id=str(c.pk), name=c.name, gender=c.gender or None)
        for c in poll.candidates.order_by("position", "name")
    ]
    tally: Counter[tuple[str, ...]] = Counter()
    for choices in (
        Ballot.objects.filter(poll=poll).values_list("choices", flat=True).iterator(chunk_size=5000)
    ):
        tally[_ranking(poll, choices, candidates)] += 1
    for choices, weight in paper or []:
        tally[_ranking(poll, choices, candidates)] += weight
    ballots = [counting.Ballot(ranking=ranking, weight=n) for ranking, n in sorted(tally.items())]
    return candidates, ballots


def _ranking(
    poll: Poll, choices: list[Any], candidates: list[counting.Candidate]
) -> tuple[str, ...]:
    if choices == [YES]:
        return (candidates[0].id,)
    if choices == [NO]:
        return (counting.AGAINST,)
    return tuple(str(c) for c in choices)


def count_poll(poll: Poll, *, by: User | None, seed: str | None = None) -> dict[str, Any]:
    """Count a closed poll and store its sheet; return the sheet.

    Lots are drawn from a seed made here, after the close, and recorded
    with the result so that anyone can replay the draw.
    """
    # Anything still in the inbox (a close interrupted before mixing) moves first.
    mix_poll(poll.pk, final=True)
    with transaction.atomic():
        poll = Poll.objects.select_for_update().select_related("contest__rules").get(pk=poll.pk)
        contest = (
            Contest.objects.select_for_update().select_related("rules").get(pk=poll.contest_id)
        )
        if poll.status != PollStatus.CLOSED:
            raise InvalidTransition("Only a closed poll can be counted.")
        if contest.state == ContestState.QUASHED:
            raise InvalidTransition("This contest was quashed by a ruling; it is not counted.")
        if InboxBallot.objects.filter(poll=poll).exists():
            raise CountMismatch("Ballots are still waiting to be mixed; try again in a moment.")
        online = Participation.objects.filter(poll=poll, channel=VotingChannel.ONLINE).count()
        in_box = Ballot.objects.filter(poll=poll).count()
        if online != in_box:
            raise CountMismatch(
                f"The ballot box holds {in_box} ballots but {online} people voted online; "
                "the count is stopped for the returning officer to investigate."
            )
        in_room = Participation.objects.filter(poll=poll, channel=VotingChannel.IN_PERSON).count()
        paper = paper_ballots(poll) if in_room else []
        if sum(weight for _, weight in paper) != in_room:
            raise CountMismatch(
                f"The register shows {in_room} votes in the room but the countersigned "
                "paper counts do not add up to that."
            )
        rules = contest.rules
        candidates, ballots = engine_input(poll, paper)
        seed = seed or secrets.token_hex(8)
        result = _count(poll, rules, candidates, ballots, seed)
        sheet = result.to_dict()
        sheet["names"] = {c.id: c.name for c in candidates}
        sheet["ballots_counted"] = in_box + in_room
        sheet["turnout"] = Participation.objects.filter(poll=poll).count()
        sheet["roll_size"] = poll.roll_size
        poll.result = sheet
        poll.status = PollStatus.COUNTED
        poll.counted_at = timezone.now()
        poll.save(update_fields=["result", "status", "counted_at"])
        next_round = None
        if rules.method == Method.EXHAUSTIVE and not result.elected:
            next_round = _schedule_next_round(poll, contest, result)
        notify(
            contest.body.secretary_ids(), NotificationKind.COUNT_READY, contest=contest, poll=poll
        )
        if next_round:
            names = sheet["names"]
            notify(
                contest.body.voter_ids(),
                NotificationKind.ROUND_SCHEDULED,
                contest=contest,
                poll=next_round,
                context={
                    "round": next_round.number,
                    "excluded": [names.get(c, c) for c in sheet["excluded"]],
                    "opens_at": next_round.opens_at.isoformat(),
                },
            )
        before = contest.state
        contest.state = ContestState.READY if next_round else ContestState.COUNTED
        contest.save(update_fields=["state"])
        AuditEvent.record(
            "poll.counted",
            actor=audit_actor_for(by),
            contest=contest,
            obj=poll,
            data={
                "from": before,
                "to": contest.state,
                "number": poll.number,
                "ballots_counted": in_box,
                "elected": [sheet["names"].get(c, c) for c in sheet["elected"]],
                "excluded": [sheet["names"].get(c, c) for c in sheet["excluded"]],
                "seed": seed,
                "next_round": next_round.number if next_round else None,
            },
        )
    return sheet


def _count(
    poll: Poll,
    rules: RuleSet,
    candidates: list[counting.Candidate],
    ballots: list[counting.Ballot],
    seed: str,
) -> counting.Result:
    if rules.method == Method.EXHAUSTIVE:
        # Ties for the exclusion look back over earlier rounds where the rules say so.
        earlier: list[dict[str, Fraction]] = []
        if rules.tie_break == TieBreak.LOOKBACK_THEN_LOT:
            for previous in poll.contest.polls.filter(number__lt=poll.number).order_by("number"):
                stages = previous.result.get("stages") or [{}]
                earlier.append({c: Fraction(v) for c, v in stages[-1].get("totals", {}).items()})
        return counting.exhaustive_round(candidates, ballots, seed=seed, previous_rounds=earlier)
    block = rules.method == Method.PLURALITY and rules.seats > 1
    return counting.count(
        counting.Method.BLOCK if block else _ENGINE_METHOD[rules.method_choice],
        candidates,
        ballots,
        seats=rules.seats,
        rules=rules.stv_rules,
        min_women=rules.min_women if rules.seats > 1 else 0,
        seed=seed,
    )


def _schedule_next_round(poll: Poll, contest: Contest, result: counting.Result) -> Poll:
    """An exhaustive ballot with no majority: the next round, lowest out."""
    rules = contest.rules
    out = set(result.excluded)
    opens_at = timezone.now() + timedelta(hours=rules.round_gap_hours)
    new = Poll.objects.create(
        contest=contest,
        number=poll.number + 1,
        opens_at=opens_at,
        closes_at=opens_at + timedelta(hours=rules.round_length_hours),
    )
    new.candidates.set([c for c in poll.candidates.all() if str(c.pk) not in out])
    return new
