"""A contest's record as the regional office reads it beside a complaint.

The frozen rules, who was on each poll's roll, the proxies approved, the
turnout, the rulings and the audit trail. Never a ballot: turnout here is
counted from Participation (that people voted), and nothing reads the
ballot box, so no choice can show up in the office.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet

from elections.models import (
    AuditEvent,
    Contest,
    Participation,
    Poll,
    RollEntry,
    RuleSet,
    Ruling,
    VotingChannel,
)
from elections.models.proxies import ProxyAppointment, ProxyStatus
from elections.services.rulings import rule_label

# Enough for any council group or board; a larger roll is summarised.
ROLL_SHOWN = 500
AUDIT_SHOWN = 1000


@dataclass(frozen=True)
class PollRecord:
    poll: Poll
    roll: list[RollEntry]
    roll_total: int
    voted: int
    online: int
    in_person: int
    by_proxy: int

    @property
    def roll_hidden(self) -> int:
        return self.roll_total - len(self.roll)

    @property
    def turnout_percent(self) -> str:
        size = self.poll.roll_size or self.roll_total
        return f"{self.voted * 100 / size:.1f}" if size else "0.0"


def rules_table(rules: RuleSet) -> list[tuple[str, str]]:
    """Each rule as (what it is, what it says), in the order a person reads them."""
    rows = []
    for field in RuleSet.RULE_FIELDS:
        value: Any = getattr(rules, field)
        display = getattr(rules, f"get_{field}_display", None)
        if display is not None:
            value = display()
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        rows.append((rule_label(field), str(value)))
    return rows


def _poll_record(poll: Poll) -> PollRecord:
    roll = RollEntry.objects.filter(poll=poll)
    voted = Participation.objects.filter(poll=poll)
    return PollRecord(
        poll=poll,
        roll=list(roll.select_related("user").order_by("user__full_name", "pk")[:ROLL_SHOWN]),
        roll_total=roll.count(),
        voted=voted.count(),
        online=voted.filter(channel=VotingChannel.ONLINE).count(),
        in_person=voted.filter(channel=VotingChannel.IN_PERSON).count(),
        by_proxy=voted.filter(cast_by__isnull=False).exclude(cast_by=F("voter")).count(),
    )


def approved_proxies(contest: Contest) -> QuerySet[ProxyAppointment]:
    return (
        ProxyAppointment.objects.filter(contest=contest, status=ProxyStatus.APPROVED)
        .select_related("principal", "proxy", "decided_by")
        .order_by("decided_at", "pk")
    )


def contest_record(contest: Contest) -> dict[str, Any]:
    contest = Contest.objects.select_related("rules", "body", "rerun_of").get(pk=contest.pk)
    audit = AuditEvent.objects.filter(contest_id=contest.pk).order_by("seq")
    return {
        "record_contest": contest,
        "record_rules": contest.rules,
        "record_rules_table": rules_table(contest.rules),
        "record_polls": [_poll_record(p) for p in contest.polls.order_by("number")],
        "record_proxies": list(approved_proxies(contest)),
        "record_rulings": list(
            Ruling.objects.filter(contest=contest)
            .select_related("issued_by", "rerun", "supersedes", "complaint")
            .order_by("issued_at", "pk")
        ),
        "record_rerun": Contest.objects.filter(rerun_of=contest).first(),
        # Each event with its data as JSON, as the chain's digest covers it.
        "record_audit": [
            (event, json.dumps(event.data, sort_keys=True, ensure_ascii=False))
            for event in audit[:AUDIT_SHOWN]
        ],
        "record_audit_total": audit.count(),
    }
