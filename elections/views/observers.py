"""Observers' pages: live turnout and the audit trail; the secretary invites them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from elections.exceptions import TellerError
from elections.models import AuditEvent, Body, Membership
from elections.services.observers import invite_observer, turnout
from elections.views.access import _roles, contest_for

_WATCHERS = {Membership.Role.OBSERVER, Membership.Role.SECRETARY}


class InviteForm(forms.Form):
    name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email address")


def _watcher_contest(request: HttpRequest, pk: int):  # type: ignore[no-untyped-def]
    contest, roles = contest_for(request, pk)
    if not roles & _WATCHERS:
        raise PermissionDenied
    return contest


@login_required
def turnout_page(request: HttpRequest, pk: int) -> HttpResponse:
    contest = _watcher_contest(request, pk)
    return render(request, "elections/turnout.html", {
        "contest": contest, "rows": turnout(contest),
        "live": contest.state == "polling",
    })  # fmt: skip


@login_required
def audit_trail(request: HttpRequest, pk: int) -> HttpResponse:
    contest = _watcher_contest(request, pk)
    events = AuditEvent.objects.filter(contest_id=contest.pk).order_by("seq")
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "elections/audit_trail.html", {"contest": contest, "page": page})


@login_required
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, pk: int) -> HttpResponse:
    body = get_object_or_404(Body, pk=pk)
    form = InviteForm(request.POST or None)
    # Outsiders get 404 (`_roles`), as on every page of a body; its other people 403.
    if Membership.Role.SECRETARY not in _roles(request, body.pk):
        raise PermissionDenied
    if request.method == "POST" and form.is_valid():
        try:
            invite_observer(body, by=request.user, **form.cleaned_data)
        except TellerError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{form.cleaned_data['name']} is invited as an observer.")
            return redirect("home")
    observers = (
        body.memberships.active().filter(role=Membership.Role.OBSERVER).select_related("user")
    )
    return render(request, "elections/observer_invite.html", {
        "body": body, "form": form, "observers": observers,
    })  # fmt: skip
