"""What a notification says: its subject, text, HTML and link, from templates.

Each kind has `templates/notifications/kinds/<kind>.subject.txt` and
`<kind>.body.txt`; the layouts `notifications/email.txt` and
`notifications/email.html` wrap the body for the two parts of an email,
and the inbox shows the same subject and body. Templates see the contest,
the poll, the notice's small `facts` and the link, nothing about ballots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.urls import reverse

from elections.models.notifications import Notification, NotificationKind

# Notices that send the member to their ballot rather than the contest page.
_TO_BALLOT = frozenset({NotificationKind.BALLOT_OPEN, NotificationKind.REMINDER})
# Facts the templates print as a list of names.
_NAME_LISTS = ("elected", "excluded")


@dataclass(frozen=True)
class RenderedNotification:
    subject: str
    text: str
    html: str
    link: str  # absolute


def link_path(notification: Notification) -> str:
    """Where the notice sends the member: their ballot, the contest, or the inbox."""
    if notification.kind in _TO_BALLOT and notification.poll_id is not None:
        return reverse("ballot", args=[notification.poll_id])
    if notification.kind == NotificationKind.COMPLAINT_RECEIVED:
        # Officials need not belong to the body: send them to the office's record.
        reference = (notification.context or {}).get("reference")
        if reference:
            return reverse("office:elections_complaint_change", args=[reference])
        return reverse("office:index")
    if notification.contest_id is not None:
        return reverse("contest", args=[notification.contest_id])
    return reverse("inbox")


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def subject_and_body(notification: Notification) -> tuple[str, str]:
    """The one-line subject and plain-text body, shared by email and inbox."""
    return _subject_and_body(_context(notification))


def render_notification(notification: Notification) -> RenderedNotification:
    context = {**_context(notification), "recipient": notification.user}
    if notification.kind == NotificationKind.INVITED:
        context.update(_set_password_link(notification.user))
    subject, body = _subject_and_body(context)
    context.update(subject=subject, body=body)
    return RenderedNotification(
        subject=subject,
        text=render_to_string("notifications/email.txt", context),
        html=render_to_string("notifications/email.html", context),
        link=context["link"],
    )


def _set_password_link(user: Any) -> dict[str, str]:
    """An invitation to someone with no password yet links to setting one.

    The key is made here, at delivery, not when the notice is written: no
    working key waits in the outbox, and it lasts PASSWORD_RESET_TIMEOUT from
    the email. Setting the password spends it. Email only: the inbox is read
    by someone already logged in.
    """
    if user.has_usable_password():
        return {}
    # Imported here: allauth's forms module builds its machinery at import,
    # which the inbox and other notices never need.
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    key = default_token_generator.make_token(user)
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": key},
    )
    return {"link": absolute(path), "link_label": "Set your password"}


def build_email(
    notification: Notification, *, connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """The email for one notice: a plain-text part and an HTML alternative."""
    rendered = render_notification(notification)
    message = EmailMultiAlternatives(
        subject=f"{settings.TELLER_NOTIFY_SUBJECT_PREFIX}{rendered.subject}",
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.user.email],
        connection=connection,
        headers={
            # A stable id: if a crash makes us send a notice twice, mail
            # clients that honour Message-ID show it once.
            "Message-ID": f"<notification-{notification.pk}@{_mail_domain()}>",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def _subject_and_body(context: dict[str, Any]) -> tuple[str, str]:
    kind = context["kind"]
    subject = render_to_string(f"notifications/kinds/{kind}.subject.txt", context)
    body = render_to_string(f"notifications/kinds/{kind}.body.txt", context)
    # A subject is one header line: collapse whatever spacing the template left.
    return " ".join(subject.split()), body.strip()


def _context(notification: Notification) -> dict[str, Any]:
    # No recipient here: the inbox renders many rows and must not load
    # the user for each; the email adds it.
    return {
        "kind": notification.kind,
        "contest": notification.contest,
        "poll": notification.poll,
        "facts": _facts(notification.context),
        "link": absolute(link_path(notification)),
        "link_label": _link_label(notification),
        "inbox_link": absolute(reverse("inbox")),
        "settings_link": absolute(reverse("notification_settings")),
        "optional": notification.is_optional,
    }


def _link_label(notification: Notification) -> str:
    if notification.kind in _TO_BALLOT and notification.poll_id is not None:
        return "Open your ballot"
    if notification.contest_id is not None:
        return "See the contest"
    return "Open your inbox"


def _facts(context: dict[str, Any] | None) -> dict[str, Any]:
    facts = dict(context or {})
    # Names are joined in the templates; a lone name must not be joined letter by letter.
    for key in _NAME_LISTS:
        if isinstance(facts.get(key), str):
            facts[key] = [facts[key]]
    return facts


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "teller.invalid"
