"""The member's inbox of notices, and which optional notices they receive."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from elections.models.notifications import OPTIONAL_KINDS, NotificationKind
from elections.notification_content import link_path, subject_and_body
from elections.notifications import inbox_for, mark_read, muted_kinds, set_muted, unread_count

PAGE_SIZE = 30

# What each kind of notice is, in the member's words, for the settings page.
KIND_HELP: dict[str, str] = {
    NotificationKind.INVITED: "When you are invited to take part in a body's elections.",
    NotificationKind.NOMINATIONS_OPEN: "When nominations open in one of your contests.",
    NotificationKind.BALLOT_OPEN: "When a poll opens and you can vote.",
    NotificationKind.REMINDER: "A reminder, before a poll closes, if you have not voted yet.",
    NotificationKind.POLL_CLOSED: "When a poll you could vote in closes.",
    NotificationKind.COUNT_READY: "For secretaries: when a count is ready to check and declare.",
    NotificationKind.RESULT_DECLARED: "When a result is declared.",
    NotificationKind.RESULT_QUASHED: "When a ruling quashes a result.",
    NotificationKind.RERUN_ORDERED: "When a ruling orders a contest to be run again.",
    NotificationKind.RULING_ISSUED: "When the regional office issues a ruling on your contest.",
    NotificationKind.COMPLAINT_RECEIVED: "When a complaint about a contest you run is received.",
    NotificationKind.ROUND_SCHEDULED: "When another round of voting is scheduled.",
}
LEGAL_REASON = "Always on: the rules require every member to be told of this."


class NotificationSettingsForm(forms.Form):
    """One checkbox per kind: optional kinds can be unticked, legal ones are
    disabled, and Django ignores whatever is posted for a disabled field."""

    def __init__(self, *args: Any, muted: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            optional = kind in OPTIONAL_KINDS
            field = forms.BooleanField(
                label=kind.label,
                required=False,
                initial=kind not in muted if optional else True,
                disabled=not optional,
                help_text=KIND_HELP[kind] if optional else f"{KIND_HELP[kind]} {LEGAL_REASON}",
            )
            field.widget.attrs["aria-describedby"] = f"id_{kind.value}_help"
            self.fields[kind.value] = field

    def optional_fields(self) -> list[forms.BoundField]:
        return [self[k.value] for k in NotificationKind if k in OPTIONAL_KINDS]

    def legal_fields(self) -> list[forms.BoundField]:
        return [self[k.value] for k in NotificationKind if k not in OPTIONAL_KINDS]


@login_required
@require_http_methods(["GET", "POST"])
def inbox_page(request: HttpRequest) -> HttpResponse:
    """Newest first; opening a page marks what it shows as read.

    The POST marks everything read, for notices beyond the first page.
    """
    if request.method == "POST":
        count = mark_read(request.user)
        messages.success(request, f"Marked {count} notice{'s' if count != 1 else ''} as read.")
        return redirect("inbox")
    unread = unread_count(request.user)
    page = Paginator(inbox_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    items = []
    for notification in page:
        subject, body = subject_and_body(notification)
        items.append(
            {
                "notification": notification,
                "subject": subject,
                "body": body,
                "link": link_path(notification),
                "unread": notification.is_unread,
            }
        )
    # After reading the rows, so this page still shows which were new.
    shown_unread = mark_read(request.user, [i["notification"].pk for i in items if i["unread"]])
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "items": items,
            "unread": unread,
            "unread_elsewhere": unread - shown_unread,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    # Not `request.POST or None`: with every box unticked the post is empty.
    data = request.POST if request.method == "POST" else None
    form = NotificationSettingsForm(data, muted=muted_kinds(request.user))
    if request.method == "POST" and form.is_valid():
        for kind in OPTIONAL_KINDS:
            set_muted(request.user, kind, muted=not form.cleaned_data[kind.value])
        messages.success(request, "Your notification settings are saved.")
        return redirect("notification_settings")
    return render(request, "notifications/settings.html", {"form": form})
