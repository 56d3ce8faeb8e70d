"""Members' pages for complaints and rulings: lodge one, read the rulings.

Outsiders get 404 (they cannot learn that a contest exists); people in the
body who are not voting members may read the rulings but not complain.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from elections.exceptions import TellerError
from elections.models import Complaint, Contest, Membership, Ruling
from elections.services.rulings import lodge_complaint
from elections.views.access import contest_for


class ComplaintForm(forms.Form):
    text = forms.CharField(
        label="Your complaint",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=(
            "Say what happened and why it matters. The regional office reads it; "
            "it is not shown to other members."
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def complaint_lodge(request: HttpRequest, pk: int) -> HttpResponse:
    contest, _ = contest_for(request, pk, role=Membership.Role.MEMBER)
    form = ComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lodge_complaint(contest, by=request.user, text=form.cleaned_data["text"])  # type: ignore[arg-type]
        except TellerError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                "Your complaint has been sent to the regional office. "
                "You will be told of their ruling.",
            )
            return redirect("contest_rulings", pk=contest.pk)
    return render(request, "elections/complaint_form.html", {"contest": contest, "form": form})


@login_required
def contest_rulings(request: HttpRequest, pk: int) -> HttpResponse:
    """The rulings on a contest and their reasons, public to the body."""
    contest, roles = contest_for(request, pk)
    lineage = _lineage(contest)
    rulings = (
        Ruling.objects.filter(contest__in=lineage)
        .select_related("contest", "rerun", "supersedes", "complaint")
        .order_by("issued_at", "pk")
    )
    return render(
        request,
        "elections/complaint_rulings.html",
        {
            "contest": contest,
            "lineage": lineage,
            "rulings": rulings,
            "is_member": Membership.Role.MEMBER in roles,
            # Only their own complaints: who complained is not public.
            "my_complaints": Complaint.objects.filter(
                contest__in=lineage, complainant=request.user
            ).select_related("contest", "ruling"),
        },
    )


def _lineage(contest: Contest) -> list[Contest]:
    """The contest's line of re-runs, first to last (every step in the same body)."""
    first = contest
    seen = {first.pk}
    while first.rerun_of_id is not None and first.rerun_of_id not in seen:
        first = Contest.objects.get(pk=first.rerun_of_id)
        seen.add(first.pk)
    line = [first]
    while True:
        nxt = Contest.objects.filter(rerun_of=line[-1]).first()
        if nxt is None or nxt.pk in {c.pk for c in line}:
            return line
        line.append(nxt)
