"""The secretary imports the body's roll from a CSV file: upload, preview, apply.

The upload is read and checked in full before anything else; a valid file
gets a preview of every change and a signed token, and only a POST of that
token applies it (`elections.services.roll`). These views only route.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from elections.models import AuditEvent, Body, Membership
from elections.roll_import import MAX_ERRORS, ParsedRoll, parse_roll
from elections.services.roll import (
    AUDIT_ACTION,
    PREVIEW_TTL,
    RollImportError,
    apply_import,
    preview_import,
)
from elections.views.access import _roles

# Rows listed per table in the preview; the rest are counted.
SHOWN = 200
# A roll of 130,000 is about 10 MB as CSV; five times that is no roll.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _body_for_secretary(request: HttpRequest, pk: int) -> Body:
    """The body if the person is its secretary: outsiders get 404, its
    members and observers 403 (as `elections.views.access` does)."""
    body = get_object_or_404(Body, pk=pk)
    if Membership.Role.SECRETARY not in _roles(request, body.pk):
        raise PermissionDenied
    return body


class RollUploadForm(forms.Form):
    file = forms.FileField(
        label="Roll file (CSV)",
        help_text=(
            "A CSV file with a header row naming the columns name, email and ward, "
            "and optionally gender (woman, man, other or blank), in any order."
        ),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"empty": "The file is empty.", "required": "Choose the roll file."},
    )

    parsed: ParsedRoll | None = None

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; a roll file should be "
                f"well under {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Is it the right file?"
            )
        parsed = parse_roll(upload.read())
        if not parsed.ok:
            problems = [str(error) for error in parsed.errors]
            if parsed.more_errors:
                problems.append(
                    f"… and {parsed.more_errors} more problems (only the first "
                    f"{MAX_ERRORS} are listed)."
                )
            raise forms.ValidationError(problems)
        self.parsed = parsed
        return upload


@login_required
@require_http_methods(["GET", "POST"])
def roll_import(request: HttpRequest, pk: int) -> HttpResponse:
    body = _body_for_secretary(request, pk)
    posted = request.method == "POST"
    form = RollUploadForm(request.POST, request.FILES) if posted else RollUploadForm()
    if posted and form.is_valid() and form.parsed is not None:
        upload = form.cleaned_data["file"]
        preview = preview_import(body, by=request.user, parsed=form.parsed, filename=upload.name)
        plan = preview.plan
        return render(
            request,
            "elections/roll_preview.html",
            {
                "body": body,
                "token": preview.token,
                "plan": plan,
                "counts": plan.counts(),
                "filename": upload.name,
                "rows": len(form.parsed.rows),
                "ignored_columns": form.parsed.ignored_columns,
                "has_gender": "gender" in form.parsed.columns,
                "joining": plan.joining[:SHOWN],
                "joining_more": max(0, len(plan.joining) - SHOWN),
                "updated": plan.updated[:SHOWN],
                "updated_more": max(0, len(plan.updated) - SHOWN),
                "leaving": plan.leaving[:SHOWN],
                "leaving_more": max(0, len(plan.leaving) - SHOWN),
                "roll_size": _roll_size(body),
                "shown": SHOWN,
                "ttl_minutes": PREVIEW_TTL // 60,
            },
        )
    return render(
        request,
        "elections/roll_import.html",
        {
            "body": body,
            "form": form,
            "roll_size": _roll_size(body),
            "last_import": AuditEvent.objects.filter(action=AUDIT_ACTION, body_id=body.pk)
            .order_by("-seq")
            .first(),
        },
    )


@login_required
@require_POST
def roll_import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    body = _body_for_secretary(request, pk)
    try:
        result = apply_import(body, by=request.user, token=request.POST.get("token", ""))
    except RollImportError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The roll of {body.name} is imported: {result.summary()}")
    # Back to a GET, so reloading the page cannot submit the apply again.
    return redirect("roll_import", pk=body.pk)


def _roll_size(body: Body) -> int:
    return Membership.objects.voting().filter(body=body).count()
