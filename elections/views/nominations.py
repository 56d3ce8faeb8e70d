"""Nominations: members stand and nominate; the secretary accepts or rejects."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from elections.exceptions import TellerError
from elections.models import Candidate, Contest, Membership, Nomination
from elections.views.access import contest_for


class StandForm(forms.Form):
    statement = forms.CharField(
        label="Your statement", widget=forms.Textarea(attrs={"rows": 6}), max_length=4000,
        help_text="What members will read about you on the ballot page.",
    )  # fmt: skip
    affiliation = forms.CharField(label="Affiliation or slate", max_length=120, required=False)

    def __init__(self, *args: object, contest: Contest, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not contest.rules.show_affiliation:
            del self.fields["affiliation"]


class WithdrawForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(label="Reason for rejecting", widget=forms.Textarea(attrs={"rows": 3}))


def _candidate(request: HttpRequest, pk: int, role: str | None = None) -> tuple[Candidate, Contest]:
    candidate = get_object_or_404(Candidate.objects.select_related("contest"), pk=pk)
    contest, _ = contest_for(request, candidate.contest_id, role=role)
    return candidate, contest


@login_required
@require_http_methods(["GET", "POST"])
def stand(request: HttpRequest, pk: int) -> HttpResponse:
    contest, _ = contest_for(request, pk, role=Membership.Role.MEMBER)
    form = StandForm(request.POST or None, contest=contest)
    if request.method == "POST" and form.is_valid():
        try:
            Candidate.stand(
                contest, member=request.user, statement=form.cleaned_data["statement"],
                affiliation=form.cleaned_data.get("affiliation", ""),
            )  # fmt: skip
        except TellerError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "You are standing. Members can now nominate you.")
            return redirect(contest)
    return render(request, "elections/stand.html", {"contest": contest, "form": form})


@login_required
@require_POST
def nominate(request: HttpRequest, pk: int) -> HttpResponse:
    candidate, contest = _candidate(request, pk, role=Membership.Role.MEMBER)
    try:
        Nomination.add(candidate, nominator=request.user)
    except TellerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"You nominated {candidate.name}.")
    return redirect(contest)


@login_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    candidate, contest = _candidate(request, pk, role=Membership.Role.SECRETARY)
    try:
        candidate.accept(by=request.user)
    except TellerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{candidate.name} is on the ballot.")
    return redirect(contest)


@login_required
@require_http_methods(["GET", "POST"])
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    candidate, contest = _candidate(request, pk, role=Membership.Role.SECRETARY)
    form = RejectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            candidate.reject(by=request.user, reason=form.cleaned_data["reason"])
        except TellerError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{candidate.name}'s nomination was rejected.")
        return redirect(contest)
    return render(request, "elections/reject.html", {
        "contest": contest, "candidate": candidate, "form": form,
    })  # fmt: skip


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """The candidate withdraws themselves, or the secretary withdraws them."""
    candidate, contest = _candidate(request, pk)
    if candidate.user_id != request.user.pk and not contest.can_administer(request.user):
        raise PermissionDenied
    # Read through a form: a NUL character in a raw reason reached the audit
    # trail and PostgreSQL refused it (a 500). A browser never sends one.
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("The reason given is not valid text.")
    try:
        candidate.withdraw(by=request.user, reason=form.cleaned_data["reason"])
    except TellerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{candidate.name} has withdrawn.")
    return redirect(contest)
