"""What a member sees: their contests, a contest, their receipt."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from elections.forms import ReceiptCheckForm
from elections.models import (
    Ballot,
    Channel,
    Contest,
    ContestState,
    Membership,
    PaperCount,
    Participation,
    Poll,
    ProxyAppointment,
)
from elections.results import result_visible
from elections.services.receipts import receipt_digest
from elections.views.access import contest_for

_OPEN = (ContestState.POLLING,)
_UPCOMING = (ContestState.DRAFT, ContestState.NOMINATIONS, ContestState.READY)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    contests = list(
        Contest.objects.visible_to(request.user)
        .select_related("body", "rules")
        .prefetch_related(Prefetch("polls", queryset=Poll.objects.order_by("number")))
    )
    voted = set(Participation.objects.filter(voter=request.user).values_list("poll_id", flat=True))
    secretary_of = set(
        Membership.objects.active()
        .filter(user=request.user, role=Membership.Role.SECRETARY)
        .values_list("body_id", flat=True)
    )
    appointments = _appointments(request.user)
    held: dict[int, list[ProxyAppointment]] = {}
    for appointment in appointments["held"]:
        held.setdefault(appointment.contest_id, []).append(appointment)
    rows = []
    for contest in contests:
        polls = list(contest.polls.all())
        poll = polls[-1] if polls else None
        rows.append({
            "contest": contest,
            "poll": poll,
            "voted": poll is not None and poll.pk in voted,
            "proxy_for": held.get(contest.pk, []),
        })  # fmt: skip
    by_id = {c.pk: c for c in contests}
    votes = [
        {"contest": by_id[p.contest_id], "poll": p}
        for c in contests
        for p in c.polls.all()
        if p.pk in voted
    ]
    return render(
        request,
        "elections/home.html",
        {
            "open": [r for r in rows if r["contest"].state in _OPEN],
            "upcoming": [r for r in rows if r["contest"].state in _UPCOMING],
            "decided": [r for r in rows if r["contest"].state not in _OPEN + _UPCOMING],
            "secretary_bodies": Membership.objects.active()
            .filter(user=request.user, role=Membership.Role.SECRETARY)
            .select_related("body"),
            "secretary_of": secretary_of,
            "votes": votes,
            "proxies_given": appointments["given"],
            "proxies_held": appointments["held"],
        },
    )


def _appointments(user: object) -> dict[str, list[ProxyAppointment]]:
    """The proxies a member gave and the approved ones they hold, in two queries."""
    related = ProxyAppointment.objects.select_related("principal", "proxy", "contest")
    return {
        "given": list(related.filter(principal=user).order_by("-requested_at")),
        "held": list(
            related.filter(proxy=user, status=ProxyAppointment.Status.APPROVED).order_by("pk")
        ),
    }


@login_required
def contest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contest, roles = contest_for(request, pk)
    polls = list(contest.polls.order_by("number"))
    poll = polls[-1] if polls else None
    is_secretary = Membership.Role.SECRETARY in roles
    return render(
        request,
        "elections/contest_detail.html",
        {
            "contest": contest,
            "rules": contest.rules,
            "candidates": contest.candidates.prefetch_related("nominations"),
            "standing_self": contest.candidates.filter(user=request.user).exists(),
            "polls": polls,
            "poll": poll,
            "roles": roles,
            "is_member": Membership.Role.MEMBER in roles,
            "is_secretary": is_secretary,
            "voted": poll is not None
            and Participation.objects.filter(poll=poll, voter=request.user).exists(),
            "result_visible": result_visible(contest, roles),
            "is_observer": Membership.Role.OBSERVER in roles,
            "proxies_held": list(
                ProxyAppointment.objects.filter(
                    contest=contest, proxy=request.user, status=ProxyAppointment.Status.APPROVED
                ).select_related("principal")
            ),
            "in_room": contest.rules.channel != Channel.ONLINE,
            "paper_waiting": _paper_to_countersign(poll, roles),
            "turnout": poll.participations.count()
            if poll and is_secretary and poll.opened_at
            else None,
            "verdicts": {
                "open_nominations": contest.can_open_nominations(),
                "finalise": contest.can_finalise_ballot(),
                "schedule": contest.can_schedule_poll(),
                "candidates": contest.can_edit_candidates(),
                "declare": contest.can_declare(),
            },
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
# The report of a failure here names the user; with the code beside it,
# anyone reading error mail could find that person's ballot in the box.
@sensitive_post_parameters("code")
def receipt_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Anyone on the body's roll can check a receipt once the poll is closed."""
    contest, _ = contest_for(request, pk)
    polls = [p for p in contest.polls.order_by("number") if p.is_final]
    outcome = None
    form = ReceiptCheckForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        digest = receipt_digest(form.cleaned_data["code"])
        found = (
            Ballot.objects.filter(poll__in=polls, receipt_digest=digest)
            .select_related("poll")
            .first()
        )
        outcome = {"counted": found is not None, "poll": found.poll if found else None}
    return render(
        request,
        "elections/receipt_check.html",
        {
            "contest": contest,
            "form": form,
            "outcome": outcome,
            "closed": bool(polls),
        },
    )


def _paper_to_countersign(poll: Poll | None, roles: set[str]) -> list[tuple[str, int]]:
    """The paper counts an observer is asked to countersign, with names, so
    they confirm what they saw counted in the room rather than sign blind."""
    if poll is None or Membership.Role.OBSERVER not in roles:
        return []
    waiting = PaperCount.objects.filter(poll=poll, countersigned_at__isnull=True)
    names = {str(c.pk): c.name for c in poll.candidates.all()}
    labels = {"yes": "Yes", "no": "No", "abstain": "Blank papers"}
    return [(names.get(c.choice) or labels.get(c.choice, c.choice), c.votes) for c in waiting]
