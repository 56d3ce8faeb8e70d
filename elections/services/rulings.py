"""Complaints and rulings: the regional office's business actions.

Each action takes the acting person, checks that they may act, and does
everything in one transaction: the change itself, its audit event and the
notices (written in the same transaction, delivered after the commit).
Only a regional official of the contest's region may review a complaint or
issue a ruling; site admins are not officials and cannot rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from elections.exceptions import InvalidTransition, NotAllowed
from elections.models import (
    AuditEvent,
    Candidate,
    Contest,
    ContestState,
    NotificationKind,
    Poll,
    PollStatus,
    RegionalOfficial,
    RuleSet,
)
from elections.models.proxies import ProxyAppointment
from elections.models.rulings import (
    Complaint,
    ComplaintState,
    InvalidRuling,
    Ruling,
    RulingKind,
    is_official_for,
)
from elections.notifications import notify

if TYPE_CHECKING:
    from accounts.models import User

# A notice's context is for a few small facts; the full text is on the site.
_NOTICE_TEXT_CHARS = 600
# The least a poll closed by a quash can have been open: a poll must close after it opens.
_TICK = timedelta(microseconds=1)


# --- complaints ------------------------------------------------------------
def lodge_complaint(contest: Contest, *, by: User, text: str) -> Complaint:
    """A voting member of the body complains about a contest; the officials are told."""
    text = (text or "").strip()
    if not contest.is_member(by):
        raise NotAllowed("Only a member of the body can complain about its contests.")
    if not text:
        raise InvalidRuling("Say what the complaint is about.")
    with transaction.atomic():
        contest = Contest.objects.select_related("body").get(pk=contest.pk)
        complaint = Complaint.objects.create(contest=contest, complainant=by, text=text)
        officials = RegionalOfficial.objects.filter(region_id=contest.body.region_id)
        notify(
            officials.values_list("user_id", flat=True),
            NotificationKind.COMPLAINT_RECEIVED,
            contest=contest,
            context={"reference": complaint.pk, "summary": _short(text)},
            dedupe=f"complaint:{complaint.pk}:received",
        )
        # The complaint's text stays in the office: the trail, which
        # observers read, records only that a complaint was lodged.
        AuditEvent.record(
            "complaint.lodged",
            actor=by,
            contest=contest,
            obj=complaint,
            data={"complaint": complaint.pk},
        )
    return complaint


def review_complaint(complaint: Complaint, *, by: User) -> Complaint:
    """An official takes an open complaint under review."""
    _require_official(by, complaint.contest)
    with transaction.atomic():
        locked = (
            Complaint.objects.select_for_update().select_related("contest").get(pk=complaint.pk)
        )
        verdict = locked.can_review()
        if not verdict:
            raise InvalidTransition(verdict.reason)
        locked.state = ComplaintState.UNDER_REVIEW
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["state", "reviewed_at"])
        AuditEvent.record(
            "complaint.under_review",
            actor=by,
            contest=locked.contest,
            obj=locked,
            data={"complaint": locked.pk},
        )
    complaint.refresh_from_db()
    return locked


# --- rulings ---------------------------------------------------------------
def issue_ruling(
    contest: Contest,
    *,
    by: User,
    kind: RulingKind | str,
    reason: str,
    complaint: Complaint | None = None,
    amendments: dict[str, Any] | None = None,
    timetable: tuple[datetime, datetime] | None = None,
    supersedes: Ruling | None = None,
) -> Ruling:
    """Issue one ruling on a contest and carry it out, all or nothing.

    - dismiss: the complaint is decided, nothing else changes;
    - uphold: the result stands;
    - amend_rules: `amendments` change the contest's frozen rules;
    - quash: the contest is marked quashed, its results kept, an open poll suspended;
    - order_rerun (of a quashed contest) and quash_and_rerun: a new contest
      with the same candidates and the rules amended by `amendments`, ballot
      final, its poll scheduled if `timetable` (opens, closes) is given.
    """
    kind = RulingKind(kind)
    reason = (reason or "").strip()
    _require_official(by, contest)
    if not reason:
        raise InvalidRuling("A ruling needs a written reason.")
    amendments = dict(amendments or {})
    if amendments and not kind.takes_amendments:
        raise InvalidRuling("Only a ruling that amends the rules or orders a re-run changes rules.")
    if timetable is not None and not kind.orders_rerun:
        raise InvalidRuling("Only a re-run gets a new timetable.")
    unknown = set(amendments) - set(RuleSet.RULE_FIELDS)
    if unknown:
        raise InvalidRuling(f"These are not rules: {', '.join(sorted(unknown))}.")

    with transaction.atomic():
        # The lock serialises rulings with each other and with the contest's own
        # transitions (a close or a count), so a quash never races a declaration.
        locked = (
            Contest.objects.select_for_update(of=("self",))
            .select_related("rules", "body")
            .get(pk=contest.pk)
        )
        if complaint is not None:
            complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        verdict = Ruling.can_issue(locked, kind, complaint=complaint)
        if not verdict:
            raise InvalidTransition(verdict.reason)
        if supersedes is not None:
            supersedes = _check_supersedes(locked, supersedes)

        rules_before = locked.rules.as_dict()
        rules_after = rules_before
        rerun: Contest | None = None
        if kind == RulingKind.AMEND_RULES:
            rules_after = _amend(locked, amendments)
        if kind.quashes:
            _quash(locked)
        if kind.orders_rerun:
            rerun = _create_rerun(locked, amendments, by=by)
            rules_after = rerun.rules.as_dict()

        ruling = Ruling.objects.create(
            contest=locked,
            complaint=complaint,
            kind=kind,
            reason=reason,
            issued_by=by,
            rules_before=rules_before,
            rules_after=rules_after,
            rerun=rerun,
            supersedes=supersedes,
        )
        if complaint is not None:
            complaint.state = ComplaintState.DECIDED
            complaint.ruling = ruling
            complaint.save(update_fields=["state", "ruling"])

        changes = ruling.rule_changes()
        _record(locked, ruling, rerun=rerun, changes=changes)
        if (
            kind == RulingKind.AMEND_RULES
            and rules_before["proxy_allowed"]
            and not rules_after["proxy_allowed"]
        ):
            ProxyAppointment.void_for(
                locked, reason=f"Proxy votes disallowed by a ruling: {reason}", by=by
            )
        if rerun is not None and timetable is not None:
            opens_at, closes_at = timetable
            # by=None: the ruling, recorded above with its official, is the authority.
            rerun.schedule_poll(by=None, opens_at=opens_at, closes_at=closes_at)
        _notify(locked, ruling, rerun=rerun, changes=changes)
    contest.refresh_from_db()
    return ruling


def _require_official(user: User, contest: Contest) -> None:
    if not is_official_for(user, contest):
        raise NotAllowed("Only a regional official of this region can do this.")


def _check_supersedes(contest: Contest, earlier: Ruling) -> Ruling:
    earlier = Ruling.objects.get(pk=earlier.pk)
    # A ruling on a contest stands in the chain of that contest's lineage only.
    if earlier.contest_id != contest.pk:
        raise InvalidRuling("A ruling can only supersede an earlier ruling on the same contest.")
    if earlier.is_superseded:
        raise InvalidTransition("That ruling has already been superseded.")
    return earlier


def _validated(rules: RuleSet) -> None:
    try:
        rules.full_clean(exclude=["name"])
    except ValidationError as error:
        messages = [f"{field}: {' '.join(errors)}" for field, errors in error.message_dict.items()]
        raise InvalidRuling("The amended rules are not valid: " + "; ".join(messages)) from None


def _amend(contest: Contest, amendments: dict[str, Any]) -> dict[str, Any]:
    # An open poll's row lock, the one every vote shares while it is written,
    # orders the amendment against votes: those in flight finish first, and
    # those after find the rules changed and are refused (services/casting.py).
    list(Poll.objects.select_for_update().filter(contest=contest, status=PollStatus.OPEN))
    rules = RuleSet.objects.select_for_update().get(pk=contest.rules_id)
    before = rules.as_dict()
    for field, value in amendments.items():
        setattr(rules, field, value)
    _validated(rules)
    if rules.as_dict() == before:
        raise InvalidRuling("The amendments change nothing; say which rules change.")
    rules.save(amended_by_ruling=True)
    contest.rules = rules
    return rules.as_dict()


def _quash(contest: Contest) -> None:
    """Mark the contest quashed; keep its results; stop any poll still to come.

    A poll that is open is suspended and closed on the spot, under the same
    exclusive lock a close takes, so it waits for votes in flight and no
    vote lands after it; its ballots are mixed after the commit so none is
    left in the inbox beside its Participation. A scheduled poll is
    suspended so the sweep never opens it.
    """
    from elections.services.mixer import mix_poll

    now = timezone.now()
    for poll in Poll.objects.select_for_update().filter(contest=contest):
        if poll.status == PollStatus.OPEN:
            poll.suspended = True
            poll.status = PollStatus.CLOSED
            poll.closes_at = max(min(poll.closes_at, now), poll.opens_at + _TICK)
            poll.closed_at = now
            poll.save(update_fields=["suspended", "status", "closes_at", "closed_at"])
            poll_id = poll.pk
            transaction.on_commit(lambda poll_id=poll_id: mix_poll(poll_id, final=True))
        elif poll.status == PollStatus.SCHEDULED and not poll.suspended:
            poll.suspended = True
            poll.save(update_fields=["suspended"])
    contest.state = ContestState.QUASHED
    contest.quashed_at = now
    contest.save(update_fields=["state", "quashed_at"])


def _create_rerun(original: Contest, amendments: dict[str, Any], *, by: User) -> Contest:
    title = _rerun_title(original.title)
    rules = original.rules.copy(name=f"Rules for {title}")
    for field, value in amendments.items():
        setattr(rules, field, value)
    _validated(rules)
    rules.save()
    # Frozen from the start: the ruling set them, and only a ruling may change them.
    rules.freeze()
    rerun = Contest.objects.create(
        body=original.body,
        title=title,
        description=original.description,
        rules=rules,
        state=ContestState.READY,
        rerun_of=original,
        created_by=by,
    )
    Candidate.objects.bulk_create(
        [
            Candidate(
                contest=rerun,
                name=c.name,
                user_id=c.user_id,
                gender=c.gender,
                affiliation=c.affiliation,
                statement=c.statement,
                position=c.position,
            )
            for c in original.standing_candidates().order_by("position", "name")
        ]
    )
    return rerun


def _rerun_title(title: str) -> str:
    suffix = " (re-run)"
    limit = Contest._meta.get_field("title").max_length or 200
    return title[: limit - len(suffix)] + suffix


def _record(
    contest: Contest,
    ruling: Ruling,
    *,
    rerun: Contest | None,
    changes: list[tuple[str, Any, Any]],
) -> None:
    by = ruling.issued_by
    kind = ruling.kind_choice
    AuditEvent.record(
        "ruling.issued",
        actor=by,
        contest=contest,
        obj=ruling,
        reason=ruling.reason,
        data={
            "kind": str(kind),
            "complaint": ruling.complaint_id,
            "supersedes": ruling.supersedes_id,
            "rerun": rerun.pk if rerun else None,
            "rules_before": ruling.rules_before,
            "rules_after": ruling.rules_after,
        },
    )
    if kind == RulingKind.AMEND_RULES:
        AuditEvent.record(
            "rules.amended",
            actor=by,
            contest=contest,
            obj=contest.rules,
            reason=ruling.reason,
            data={"ruling": ruling.pk, "changes": {f: [b, a] for f, b, a in changes}},
        )
    if kind.quashes:
        AuditEvent.record(
            "contest.quashed",
            actor=by,
            contest=contest,
            obj=contest,
            reason=ruling.reason,
            data={"ruling": ruling.pk, "to": str(ContestState.QUASHED)},
        )
    if rerun is not None:
        AuditEvent.record(
            "contest.rerun_ordered",
            actor=by,
            contest=rerun,
            obj=rerun,
            reason=ruling.reason,
            data={
                "ruling": ruling.pk,
                "rerun_of": contest.pk,
                "rules": ruling.rules_after,
                "candidates": list(rerun.candidates.values_list("name", flat=True)),
            },
        )


def _notify(
    contest: Contest,
    ruling: Ruling,
    *,
    rerun: Contest | None,
    changes: list[tuple[str, Any, Any]],
) -> None:
    """Everyone in the body hears of a ruling that changes anything; the
    complainant always hears the ruling on their complaint."""
    kind = ruling.kind_choice
    everyone = contest.body.everyone_ids()
    reason = _short(ruling.reason)
    key = f"ruling:{ruling.pk}"
    if kind.quashes:
        notify(
            everyone,
            NotificationKind.RESULT_QUASHED,
            contest=contest,
            context={"reason": reason},
            dedupe=f"{key}:quashed",
        )
    if rerun is not None:
        notify(
            everyone,
            NotificationKind.RERUN_ORDERED,
            contest=rerun,
            context={
                "reason": reason,
                "rerun_of": contest.title,
                "changes": _describe(changes),
            },
            dedupe=f"{key}:rerun",
        )
    decision = {"decision": kind.label, "reason": reason}
    if kind in (RulingKind.UPHOLD, RulingKind.AMEND_RULES):
        notify(
            everyone,
            NotificationKind.RULING_ISSUED,
            contest=contest,
            context=decision,
            dedupe=f"{key}:issued",
        )
    if ruling.complaint_id is not None:
        notify(
            [ruling.complaint.complainant_id],
            NotificationKind.RULING_ISSUED,
            contest=contest,
            context=decision,
            dedupe=f"{key}:issued",
        )


def _describe(changes: list[tuple[str, Any, Any]]) -> str:
    return "; ".join(
        f"{rule_label(field)}: {_show(before)} → {_show(after)}" for field, before, after in changes
    )


def rule_label(field: str) -> str:
    """A rule's name as people read it (\"proxy allowed\", not \"proxy_allowed\")."""
    return str(RuleSet._meta.get_field(field).verbose_name)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("_", " ")


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _NOTICE_TEXT_CHARS:
        return text
    return text[: _NOTICE_TEXT_CHARS - 1].rstrip() + "…"


__all__ = ["issue_ruling", "lodge_complaint", "review_complaint", "rule_label"]
