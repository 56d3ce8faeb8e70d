"""The register in the room and the paper counts."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from elections.ballot_paper import ABSTAIN, NO, YES, PaperKind
from elections.exceptions import BallotRefused, TellerError
from elections.models import Membership, PaperCount, Participation, Poll, ProxyAppointment
from elections.services.register import countersign_paper_counts, enter_paper_counts, mark_in_person
from elections.views.access import contest_for


def _poll(request: HttpRequest, pk: int, role: str) -> Poll:
    poll = get_object_or_404(Poll.objects.select_related("contest__rules"), pk=pk)
    contest_for(request, poll.contest_id, role=role)
    return poll


def _person(raw: str) -> User:
    """The person a register post names; anything but a number names nobody
    (passed to the query as it was, "abc" raised a ValueError: a 500)."""
    try:
        pk = int(raw)
    except ValueError:
        raise Http404("No such person.") from None
    return get_object_or_404(User, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest, pk: int) -> HttpResponse:
    poll = _poll(request, pk, Membership.Role.SECRETARY)
    if request.method == "POST":
        voter = _person(request.POST.get("voter") or "0")
        proxy_id = request.POST.get("proxy")
        proxy = _person(proxy_id) if proxy_id else None
        try:
            mark_in_person(poll.pk, voter, by=request.user, proxy=proxy)
        except (BallotRefused, TellerError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{voter} marked as voting in the room.")
        return redirect("register", pk=poll.pk)
    voted = dict(Participation.objects.filter(poll=poll).values_list("voter_id", "channel"))
    proxies = {
        a.principal_id: a.proxy
        for a in ProxyAppointment.objects.filter(
            contest_id=poll.contest_id, status=ProxyAppointment.Status.APPROVED
        ).select_related("proxy")
    }
    roll = [
        {
            "user": entry.user,
            "channel": voted.get(entry.user_id),
            "proxy": proxies.get(entry.user_id),
        }
        for entry in poll.roll.select_related("user").order_by("user__full_name")
    ]
    return render(request, "elections/register.html", {
        "poll": poll, "contest": poll.contest, "roll": roll,
    })  # fmt: skip


def _choices(poll: Poll) -> list[tuple[str, str]]:
    paper = poll.ballot_paper()
    if paper.kind == PaperKind.YES_NO:
        options = [(YES, "Yes, for"), (NO, "No, against")]
    else:
        options = [(str(o.id), o.name) for o in paper.options]
    if paper.abstention_allowed:
        options.append((ABSTAIN, "Blank or abstaining papers"))
    return options


@login_required
@require_http_methods(["GET", "POST"])
def paper_counts(request: HttpRequest, pk: int) -> HttpResponse:
    poll = _poll(request, pk, Membership.Role.SECRETARY)
    options = _choices(poll)
    form = forms.Form(request.POST or None)
    for key, label in options:
        form.fields[f"votes-{key}"] = forms.IntegerField(label=label, min_value=0)
    if request.method == "POST" and form.is_valid():
        counts = {key: form.cleaned_data[f"votes-{key}"] for key, _ in options}
        try:
            enter_paper_counts(poll, counts, by=request.user)
        except TellerError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Paper counts entered; an observer must countersign them.")
            return redirect(poll.contest)
    entered = PaperCount.objects.filter(poll=poll)
    return render(request, "elections/paper_counts.html", {
        "poll": poll, "contest": poll.contest, "form": form, "entered": entered,
    })  # fmt: skip


@login_required
@require_POST
def countersign(request: HttpRequest, pk: int) -> HttpResponse:
    poll = _poll(request, pk, Membership.Role.OBSERVER)
    try:
        countersign_paper_counts(poll, by=request.user)
    except TellerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Paper counts countersigned.")
    return redirect(poll.contest)
