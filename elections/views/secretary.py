"""The secretary's pages: create a contest, candidates, schedule, run the poll."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from elections.exceptions import TellerError
from elections.forms import CandidateForm, ContestForm, RulesForm, ScheduleForm
from elections.models import AuditEvent, Body, Candidate, Contest, Membership
from elections.models.audit import audit_actor_for
from elections.views.access import _roles, contest_for

SECRETARY = Membership.Role.SECRETARY


def _body_for_secretary(request: HttpRequest, pk: int) -> Body:
    body = get_object_or_404(Body.objects.select_related("region__default_rules"), pk=pk)
    # Outsiders get 404 (`_roles`), as on every page of a body; its other people 403.
    if SECRETARY not in _roles(request, body.pk):
        raise PermissionDenied
    return body


@login_required
@require_http_methods(["GET", "POST"])
def contest_create(request: HttpRequest, pk: int) -> HttpResponse:
    body = _body_for_secretary(request, pk)
    defaults = body.region.default_rules
    contest_form = ContestForm(request.POST or None, prefix="contest")
    rules_initial = defaults.as_dict() if defaults else {}
    rules_form = RulesForm(request.POST or None, prefix="rules", initial=rules_initial)
    if request.method == "POST" and contest_form.is_valid() and rules_form.is_valid():
        with transaction.atomic():
            rules = defaults.copy(name="") if defaults else rules_form.save(commit=False)
            for field in RulesForm.Meta.fields:
                setattr(rules, field, rules_form.cleaned_data[field])
            rules.name = f"Rules for {contest_form.cleaned_data['title']}"
            rules.full_clean()
            rules.save()
            contest = contest_form.save(commit=False)
            contest.body, contest.rules, contest.created_by = body, rules, request.user
            contest.save()
            AuditEvent.record(
                "contest.created",
                actor=audit_actor_for(request.user),
                contest=contest,
                obj=contest,
                data={"title": contest.title, "rules": rules.as_dict()},
            )
        messages.success(request, "Contest created. Add the candidates next.")
        return redirect(contest)
    return render(
        request,
        "elections/contest_form.html",
        {
            "body": body,
            "contest_form": contest_form,
            "rules_form": rules_form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def candidate_add(request: HttpRequest, pk: int) -> HttpResponse:
    contest, _ = contest_for(request, pk, role=SECRETARY)
    form = CandidateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            Candidate.add(contest, by=request.user, **form.cleaned_data)
        except TellerError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{form.cleaned_data['name']} added.")
        return redirect(contest)
    return render(request, "elections/candidate_form.html", {"contest": contest, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    contest, _ = contest_for(request, pk, role=SECRETARY)
    poll = contest.current_poll()
    initial = {"opens_at": poll.opens_at, "closes_at": poll.closes_at} if poll else None
    form = ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        ok = _run(
            request,
            lambda: contest.schedule_poll(
                by=request.user,
                opens_at=form.cleaned_data["opens_at"],
                closes_at=form.cleaned_data["closes_at"],
            ),
            "Poll scheduled.",
        )
        if ok:
            return redirect(contest)
    return render(request, "elections/schedule_form.html", {"contest": contest, "form": form})


_TRANSITIONS: dict[str, tuple[str, Callable[[Contest, object], object]]] = {
    "open-nominations": ("Nominations are open.", lambda c, u: c.open_nominations(by=u)),
    "finalise": ("The ballot paper is final.", lambda c, u: c.finalise_ballot(by=u)),
    "open-poll": ("The poll is open.", lambda c, u: _poll(c).open(by=u)),
    "close-poll": ("The poll is closed and its ballots mixed.", lambda c, u: _poll(c).close(by=u)),
    "count": ("The poll has been counted.", lambda c, u: _poll(c).count(by=u)),
    "declare": ("The result is declared.", lambda c, u: c.declare(by=u)),
}


def _poll(contest: Contest):  # type: ignore[no-untyped-def]
    poll = contest.current_poll()
    if poll is None:
        raise TellerError("Schedule the poll first.")
    return poll


@login_required
@require_POST
def transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    contest, _ = contest_for(request, pk, role=SECRETARY)
    if action not in _TRANSITIONS:
        return HttpResponse("Unknown action.", status=404)
    done, step = _TRANSITIONS[action]
    _run(request, lambda: step(contest, request.user), done)
    return redirect(contest)


def _run(request: HttpRequest, step: Callable[[], object], done: str) -> bool:
    try:
        step()
    except TellerError as error:
        messages.error(request, str(error))
        return False
    messages.success(request, done)
    return True
