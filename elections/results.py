"""What a result page shows, read from a poll's stored count sheet."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from elections.models import Contest, Poll, PollStatus


@dataclass(frozen=True)
class CandidateLine:
    name: str
    votes: Decimal
    share: Decimal  # percentage of valid votes
    elected: bool


@dataclass(frozen=True)
class ResultSummary:
    poll: Poll
    lines: list[CandidateLine]  # first-count (or only-count) totals, highest first
    final_lines: list[CandidateLine]  # totals at the last stage
    elected: list[str]
    turnout: int
    roll_size: int
    valid_poll: Decimal
    blank: Decimal
    margin: Decimal | None
    stages: list[dict[str, Any]]
    names: dict[str, str]

    @property
    def turnout_percent(self) -> Decimal:
        if not self.roll_size:
            return Decimal(0)
        return (Decimal(self.turnout) * 100 / self.roll_size).quantize(Decimal("0.1"))

    @property
    def has_stages(self) -> bool:
        return len(self.stages) > 1


def _lines(totals: dict[str, str], names: dict[str, str], elected: set[str]) -> list[CandidateLine]:
    valid = sum((Decimal(v) for v in totals.values()), Decimal(0))
    lines = [
        CandidateLine(
            name=names.get(cid, cid),
            votes=Decimal(v),
            share=(Decimal(v) * 100 / valid).quantize(Decimal("0.1")) if valid else Decimal(0),
            elected=cid in elected,
        )
        for cid, v in totals.items()
    ]
    return sorted(lines, key=lambda line: (-line.votes, line.name))


def summarise(poll: Poll) -> ResultSummary | None:
    sheet = poll.result
    if poll.status != PollStatus.COUNTED or not sheet:
        return None
    names: dict[str, str] = sheet.get("names", {})
    elected = set(sheet.get("elected", []))
    stages = sheet.get("stages", [])
    first = stages[0]["totals"] if stages else {}
    last = stages[-1]["totals"] if stages else {}
    final_lines = _lines(last, names, elected)
    margin = None
    if len(final_lines) >= 2:
        seats = sheet.get("seats", 1)
        if len(final_lines) > seats:
            margin = final_lines[seats - 1].votes - final_lines[seats].votes
    return ResultSummary(
        poll=poll,
        lines=_lines(first, names, elected),
        final_lines=final_lines,
        elected=[names.get(c, c) for c in sheet.get("elected", [])],
        turnout=sheet.get("turnout", 0),
        roll_size=sheet.get("roll_size", 0),
        valid_poll=Decimal(sheet.get("valid_poll", "0")),
        blank=Decimal(sheet.get("blank", "0")),
        margin=margin,
        stages=[
            {**stage, "named_totals": [(names.get(c, c), v) for c, v in stage["totals"].items()]}
            for stage in stages
        ],
        names=names,
    )


def result_visible(contest: Contest, roles: set[str]) -> bool:
    """Members see a result once declared; the secretary once counted."""
    from elections.models import ContestState, Membership

    if contest.state in (ContestState.DECLARED, ContestState.QUASHED) and contest.declared_at:
        return True
    return Membership.Role.SECRETARY in roles and contest.state == ContestState.COUNTED
