"""A contest's result: the page, a printable copy, and the downloads.

Everything here is shown to exactly those who may see the result page
(`result_visible`): outsiders get 404 from `contest_for`, people in the body
403 for a download before the result is theirs to see. Each poll's numbers
come from its stored count sheet; only the BLT export reads the ballot box,
and only once that poll is counted.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from elections.models import Contest, ContestState, Method, PollStatus, Publication
from elections.results import (
    ResultSummary,
    ballots_blt,
    csv_rows,
    panels,
    result_visible,
    summaries_for,
)
from elections.views.access import contest_for


def _visible_contest(request: HttpRequest, pk: int) -> Contest:
    contest, roles = contest_for(request, pk)
    if not result_visible(contest, roles):
        raise PermissionDenied
    return contest


def _rulings_url(contest: Contest) -> str | None:
    # The rulings page belongs to another part of the app; link only where it exists.
    try:
        return reverse("contest_rulings", args=[contest.pk])
    except NoReverseMatch:
        return None


def _show_margin(publish: str, final: ResultSummary | None) -> bool:
    # Under "totals" a margin from a later stage would publish that stage's numbers.
    if final is None or final.margin is None:
        return False
    return publish == Publication.FULL or (publish == Publication.TOTALS and not final.has_stages)


def _context(contest: Contest) -> dict[str, Any]:
    publish = contest.rules.publish
    summaries = summaries_for(contest)
    several = len(summaries) > 1
    final = summaries[-1] if summaries else None
    return {
        "contest": contest,
        "summaries": summaries,
        "rounds": [
            {"summary": s, "panels": panels(s, publish, several_rounds=several)} for s in summaries
        ],
        "several_rounds": several,
        "final": final,
        "publish": publish,
        "show_numbers": publish != Publication.ELECTED,
        "show_sheet": publish == Publication.FULL,
        "show_margin": _show_margin(publish, final),
        "quashed": contest.state == ContestState.QUASHED,
        "rulings_url": _rulings_url(contest),
        "blt_rounds": [s.number for s in summaries] if publish == Publication.FULL else [],
        "recount_command": recount_command(contest, several),
    }


def recount_command(contest: Contest, several_rounds: bool) -> str:
    """The command line that recounts the BLT file by the contest's own method."""
    rules = contest.rules
    method = {
        Method.PLURALITY: "block" if rules.seats > 1 else "plurality",
        Method.EXHAUSTIVE: "exhaustive",
        Method.AV: "av",
        Method.STV: "stv",
        Method.YES_NO: "yes_no",
    }.get(rules.method_choice, str(rules.method))
    name = _filename(contest, "-round-N.blt" if several_rounds else ".blt")
    command = f"python -m elections.counting {name} --method {method}"
    if rules.method == Method.STV:
        command += f" --rules {rules.stv_rules}"
    return command


@login_required
@require_safe
def results(request: HttpRequest, pk: int) -> HttpResponse:
    contest, roles = contest_for(request, pk)
    if not result_visible(contest, roles):
        return render(
            request,
            "elections/results_pending.html",
            {"contest": contest, "rulings_url": _rulings_url(contest)},
        )
    return render(request, "elections/results.html", _context(contest))


@login_required
@require_safe
def results_print(request: HttpRequest, pk: int) -> HttpResponse:
    contest = _visible_contest(request, pk)
    response = render(request, "elections/results_print.html", _context(contest))
    response["Cache-Control"] = "private"
    return response


def _filename(contest: Contest, suffix: str) -> str:
    return f"{slugify(contest.title) or 'contest'}-{contest.pk}{suffix}"


@login_required
@require_safe
def results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The result sheet: one row per stage and candidate (see `results.csv_rows`)."""
    contest = _visible_contest(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(contest, "-results.csv")}"'
    response["Cache-Control"] = "private"
    csv.writer(response).writerows(csv_rows(summaries_for(contest), contest.rules.publish))
    return response


@login_required
@require_safe
def ballots_blt_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The anonymised ballots of one counted round as BLT; `?round=N`, default the last."""
    contest = _visible_contest(request, pk)
    if contest.rules.publish != Publication.FULL:
        # The ballots show more than totals; they go out only where everything is published.
        raise PermissionDenied
    polls = contest.polls.filter(status=PollStatus.COUNTED).order_by("number")
    raw = request.GET.get("round")
    if raw is None:
        poll = polls.last()
    else:
        # Not isdigit(): "²" passes it and int() refuses it (a 500), as it
        # refuses a number of more than 4,300 digits.
        try:
            poll = polls.filter(number=int(raw)).first()
        except ValueError:
            poll = None
    if poll is None:
        raise Http404("No counted round by that number.")
    suffix = f"-round-{poll.number}.blt" if contest.polls.count() > 1 else ".blt"
    response = HttpResponse(ballots_blt(poll), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(contest, suffix)}"'
    response["Cache-Control"] = "private"
    return response
