"""What a member sees: their contests (home, and all upcoming or past), a contest, their receipt."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
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
_DECIDED = tuple(s for s in ContestState if s not in _OPEN + _UPCOMING)

# How much of each list the home page shows, the rest a link away, so that the page costs
# the same with ten contests or thousands. Every open contest is shown: each may need a vote.
HOME_UPCOMING = 10
HOME_DECIDED = 10
HOME_VOTES = 10
LIST_PAGE_SIZE = 25
SECTIONS = {
    "upcoming": {"title": "Coming up", "empty": "Nothing scheduled."},
    "decided": {"title": "Past contests", "empty": "No results yet."},
}


def _section(user: object, section: str) -> QuerySet[Contest]:
    """The member's contests in one section of the home page, in the order it lists them:
    open ones newest first, upcoming ones soonest to open first, decided ones latest
    decided first."""
    visible = Contest.objects.visible_to(user).select_related("body")
    if section == "open":
        return visible.filter(state__in=_OPEN)
    polls = Poll.objects.filter(contest=OuterRef("pk"))
    if section == "upcoming":
        opens = Subquery(polls.order_by("number").values("opens_at")[:1])
        return (
            visible.filter(state__in=_UPCOMING)
            .annotate(opens=opens)
            .order_by(F("opens").asc(nulls_last=True), "-created_at", "-pk")
        )
    # Decided when quashed, else declared, else when its last poll closed.
    closed = Subquery(polls.order_by("-number").values("closed_at")[:1])
    return (
        visible.filter(state__in=_DECIDED)
        .annotate(decided=Coalesce("quashed_at", "declared_at", closed, "created_at"))
        .order_by("-decided", "-pk")
    )


def _first(contests: QuerySet[Contest], n: int) -> tuple[list[Contest], int]:
    """The first ``n`` contests and how many there are in all, in one query: the count is
    a window over every matching row, computed before the limit."""
    shown = list(contests.annotate(in_all=Window(Count("pk")))[:n])
    return shown, shown[0].in_all if shown else 0


def _rows(
    user: object,
    contests: list[Contest],
    held: dict[int, list[ProxyAppointment]] | None = None,
) -> list[dict[str, Any]]:
    """A card for each contest: its latest poll and whether the member voted in it (and
    in any of its polls), with one query for all their polls."""
    voted = Exists(Participation.objects.filter(poll=OuterRef("pk"), voter=user))
    polls = Poll.objects.order_by("number").annotate(voted=voted)
    prefetch_related_objects(contests, Prefetch("polls", queryset=polls))
    rows = []
    for contest in contests:
        polls_ = list(contest.polls.all())
        poll = polls_[-1] if polls_ else None
        rows.append({
            "contest": contest,
            "poll": poll,
            "voted": poll is not None and poll.voted,
            "took_part": any(p.voted for p in polls_),
            "proxy_for": (held or {}).get(contest.pk, []),
        })  # fmt: skip
    return rows


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Every open contest, the soonest upcoming and the latest decided, links to the rest."""
    user = request.user
    appointments = _appointments(user)
    held: dict[int, list[ProxyAppointment]] = {}
    for appointment in appointments["held"]:
        held.setdefault(appointment.contest_id, []).append(appointment)
    open_ = list(_section(user, "open"))
    upcoming, upcoming_count = _first(_section(user, "upcoming"), HOME_UPCOMING)
    decided, decided_count = _first(_section(user, "decided"), HOME_DECIDED)
    rows = _rows(user, open_ + upcoming + decided, held)
    # The latest votes; the past contests page marks every contest the member voted in.
    votes = list(
        Participation.objects.filter(voter=user, poll__contest__in=Contest.objects.visible_to(user))
        .select_related("poll__contest")
        .order_by("-poll__opens_at", "-poll_id")[: HOME_VOTES + 1]
    )
    secretary_bodies = list(
        Membership.objects.active()
        .filter(user=user, role=Membership.Role.SECRETARY)
        .select_related("body")
    )
    return render(
        request,
        "elections/home.html",
        {
            "open": rows[: len(open_)],
            "upcoming": rows[len(open_) : len(open_) + len(upcoming)],
            "upcoming_count": upcoming_count,
            "decided": rows[len(open_) + len(upcoming) :],
            "decided_count": decided_count,
            "secretary_bodies": secretary_bodies,
            "votes": [{"contest": p.poll.contest, "poll": p.poll} for p in votes[:HOME_VOTES]],
            "more_votes": len(votes) > HOME_VOTES,
            "proxies_given": appointments["given"],
            "proxies_held": appointments["held"],
        },
    )


@login_required
def contest_list(request: HttpRequest, section: str) -> HttpResponse:
    """All of one section of the home page (upcoming or decided contests), a page at a time."""
    page = Paginator(_section(request.user, section), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "elections/contest_list.html",
        {
            **SECTIONS[section],
            "page": page,
            "rows": _rows(request.user, list(page)),
            # Here, not on the home page, whose list of votes says it already.
            "mark_votes": True,
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
