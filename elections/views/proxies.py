"""Proxies: a member appoints one; the secretary approves or refuses."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from elections.exceptions import TellerError
from elections.models import Contest, Membership, ProxyAppointment
from elections.views.access import contest_for


class AppointForm(forms.Form):
    proxy = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Your proxy", empty_label="Choose a member"
    )

    def __init__(self, *args: object, contest: Contest, principal: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        members = Membership.objects.voting().filter(body_id=contest.body_id)
        self.fields["proxy"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            pk__in=members.values("user_id")
        ).exclude(pk=principal.pk)


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label="Reason (required when refusing)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def appoint(request: HttpRequest, pk: int) -> HttpResponse:
    contest, _ = contest_for(request, pk, role=Membership.Role.MEMBER)
    current = ProxyAppointment.objects.filter(contest=contest, principal=request.user).order_by(
        "-pk"
    )
    form = AppointForm(request.POST or None, contest=contest, principal=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            ProxyAppointment.appoint(
                contest, principal=request.user, proxy=form.cleaned_data["proxy"]
            )
        except TellerError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Your proxy is appointed; the secretary will decide on it.")
            return redirect(contest)
    return render(request, "elections/proxy_appoint.html", {
        "contest": contest, "form": form, "appointments": current,
    })  # fmt: skip


@login_required
def secretary_list(request: HttpRequest, pk: int) -> HttpResponse:
    contest, _ = contest_for(request, pk, role=Membership.Role.SECRETARY)
    appointments = contest.proxies.select_related("principal", "proxy", "decided_by").order_by("pk")
    return render(request, "elections/proxy_list.html", {
        "contest": contest, "appointments": appointments, "form": DecisionForm(),
    })  # fmt: skip


@login_required
@require_POST
def decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    appointment = get_object_or_404(ProxyAppointment, pk=pk)
    contest, _ = contest_for(request, appointment.contest_id, role=Membership.Role.SECRETARY)
    if decision not in ("approve", "refuse"):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason", "").strip()
    if decision == "refuse" and not reason:
        messages.error(request, "Give a reason for refusing a proxy.")
        return redirect("proxy_list", pk=contest.pk)
    try:
        appointment.decide(by=request.user, approve=decision == "approve", reason=reason)
    except TellerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Proxy {appointment.get_status_display().lower()}.")
    return redirect("proxy_list", pk=contest.pk)
