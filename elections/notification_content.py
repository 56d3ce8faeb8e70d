"""What a notification says: its subject, text, HTML and link, from templates.

Each kind has `templates/notifications/kinds/<kind>.subject.txt` and
`<kind>.body.txt`; the layouts `notifications/email.txt` and
`notifications/email.html` wrap the body for the two parts of an email,
and the inbox shows the same subject and body. Templates see the contest,
the poll, the notice's small `facts` and the link, nothing about ballots.

A delivery batch builds its emails with an `EmailComposer`, which renders
what is the same for every recipient of one event once and fills in only
what differs (the greeting's name), and, for the SMTP backend, builds the
message bytes the same way. Both shortcuts check themselves against the
direct path (`render_notification`, `build_email`) on the first recipient
of each event and stand aside if they would not give the same bytes.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import conditional_escape

from elections.models.notifications import Notification, NotificationKind

# Notices that send the member to their ballot rather than the contest page.
_TO_BALLOT = frozenset({NotificationKind.BALLOT_OPEN, NotificationKind.REMINDER})
# Facts the templates print as a list of names.
_NAME_LISTS = ("elected", "excluded")

log = logging.getLogger(__name__)


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
    return _email(
        render_notification(notification),
        to=notification.user.email,
        message_id=_message_id(notification),
        connection=connection,
    )


def _email(
    rendered: RenderedNotification,
    *,
    to: str,
    message_id: str,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=f"{settings.TELLER_NOTIFY_SUBJECT_PREFIX}{rendered.subject}",
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        connection=connection,
        headers={
            # A stable id: if a crash makes us send a notice twice, mail
            # clients that honour Message-ID show it once.
            "Message-ID": message_id,
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def _message_id(notification: Notification) -> str:
    return f"<notification-{notification.pk}@{_mail_domain()}>"


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


# --- a batch's emails, with what every recipient shares built once ---------
@dataclass(frozen=True)
class WireMessage:
    """An email as smtplib takes it: envelope sender and recipient, and bytes."""

    from_addr: str
    to_addr: str
    data: bytes


class EmailComposer:
    """Builds the emails of one delivery batch.

    A roll-wide event (a ballot opening for 130,000) gives everyone the same
    subject, body and links; only the greeting's name differs. The composer
    renders an event's four templates once, with a marker where the name
    goes, and splices each recipient's name in (escaped for the HTML part,
    as the template would). For the SMTP backend, `wire()` does the same
    with the MIME bytes: Django builds one message per event with markers
    for the recipient, the date, the Message-ID and the name, and each
    message is those bytes with the values spliced in, instead of a MIME
    tree built and serialised per recipient.

    Each shortcut is checked on the first recipient it serves against the
    direct path (`render_notification`, `build_email`): if the bytes differ
    (a template that uses more of the recipient than the name, a name that
    would change the encoding), that event goes the direct way. Invitations
    carry a personal set-password link and always go the direct way.

    Use one composer per batch: it assumes the contests and polls it has
    seen do not change while it lives.
    """

    def __init__(self) -> None:
        self._shared: dict[tuple[Any, ...], _Shared | None] = {}
        self._wire: dict[tuple[tuple[Any, ...], bool], _WireTemplate | None] = {}
        self._from_addr: str | None = None
        self._date_at = -1
        self._date = b""

    def render(self, notification: Notification) -> RenderedNotification:
        """What `render_notification` gives, byte for byte."""
        key = _shared_key(notification)
        shared = self._shared_for(key, notification)
        if shared is None:
            return render_notification(notification)
        return shared.render(notification.user.get_short_name())

    def email(
        self, notification: Notification, *, connection: BaseEmailBackend | None = None
    ) -> EmailMultiAlternatives:
        """What `build_email` gives."""
        return _email(
            self.render(notification),
            to=notification.user.email,
            message_id=_message_id(notification),
            connection=connection,
        )

    def wire(self, notification: Notification) -> WireMessage | None:
        """The message as Django's SMTP backend would send it (the same bytes,
        but for the Date, to the second, and the MIME boundary), or None when
        only `email()` will do for this one."""
        key = _shared_key(notification)
        shared = self._shared_for(key, notification)
        if shared is None:
            return None
        to = notification.user.email
        name = notification.user.get_short_name()
        message_id = _message_id(notification)
        if (
            len(to) > _MAX_HEADER_VALUE
            or len(message_id) > _MAX_HEADER_VALUE
            or not _SIMPLE_ADDRESS.fullmatch(to)
            or not name.isprintable()
        ):
            # Django would encode or fold these; let it.
            return None
        date = self._now()
        wire_key = (key, name.isascii())
        if wire_key in self._wire:
            template = self._wire[wire_key]
            data = None if template is None else self._splice(template, to, name, message_id, date)
        else:
            data = self._first_splice(wire_key, shared, notification, date)
        return None if data is None else WireMessage(self._sender(), to, data)

    # --- the parts --------------------------------------------------------
    def _shared_for(
        self, key: tuple[Any, ...] | None, notification: Notification
    ) -> _Shared | None:
        if key is None:
            return None
        if key in self._shared:
            return self._shared[key]
        shared = _render_shared(notification)
        if shared is not None:
            name = notification.user.get_short_name()
            if shared.render(name) != render_notification(notification):
                log.warning(
                    "%s notices use more of the recipient than the name; rendered one by one",
                    notification.kind,
                )
                shared = None
        self._shared[key] = shared
        return shared

    def _first_splice(
        self,
        wire_key: tuple[Any, ...],
        shared: _Shared,
        notification: Notification,
        date: bytes,
    ) -> bytes | None:
        """Build an event's wire template and check it on this recipient."""
        name = notification.user.get_short_name()
        template = _wire_template(shared, ascii_name=name.isascii())
        if template is None:
            self._wire[wire_key] = None
            return None
        to, message_id = notification.user.email, _message_id(notification)
        spliced = self._splice(template, to, name, message_id, date)
        if spliced is None:
            return None  # this name does not fit; check the template on the next
        # Django's own message for this recipient, given the same date and
        # boundary, must be these bytes exactly; if not, Django builds them all.
        direct = build_email(notification).message()
        direct.replace_header("Date", date.decode("ascii"))
        direct.set_boundary(template.boundary.decode("ascii"))
        if spliced != direct.as_bytes(linesep="\r\n"):
            log.warning("%s notices: the spliced MIME differs from Django's", notification.kind)
            self._wire[wire_key] = None
            return None
        self._wire[wire_key] = template
        return spliced

    @staticmethod
    def _splice(
        template: _WireTemplate, to: str, name: str, message_id: str, date: bytes
    ) -> bytes | None:
        text_name = name.encode()
        html_name = conditional_escape(name).encode()
        if (
            len(html_name) > template.room
            or template.boundary in text_name
            or template.boundary in html_name
        ):
            return None
        values = (to.encode("ascii"), date, message_id.encode("ascii"), text_name, html_name)
        pieces = template.pieces
        out = [pieces[0]]
        for slot, piece in zip(template.slots, pieces[1:], strict=True):
            out.append(values[slot])
            out.append(piece)
        return b"".join(out)

    def _sender(self) -> str:
        if self._from_addr is None:
            # What Django's SMTP backend puts in the envelope.
            self._from_addr = sanitize_address(
                settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET
            )
        return self._from_addr

    def _now(self) -> bytes:
        # The Date header is to the second: format it once a second.
        now = int(time.time())
        if now != self._date_at:
            self._date_at = now
            self._date = formatdate(now, localtime=settings.EMAIL_USE_LOCALTIME).encode("ascii")
        return self._date


class _NotShared(Exception):
    """A template asked the recipient for more than the name."""


class _StandIn:
    """The recipient while an event's shared text is rendered: its name is a
    marker, and asking it for anything else raises `_NotShared` (which the
    template engine does not swallow), so that event is rendered per person."""

    def __init__(self, name: str) -> None:
        self._name = name

    def get_short_name(self) -> str:
        return self._name

    def __getattr__(self, attr: str) -> Any:
        raise _NotShared(attr)

    def __str__(self) -> str:
        raise _NotShared("str")


# Markers for what differs between recipients. Mixed case, so a filter that
# changes case or length in a template leaves them unfound and the check
# against the direct render fails, rather than the name going in unchanged.
_MARK = secrets.token_hex(8)
_NAME_TEXT = f"xTellerNameText{_MARK}"
_NAME_HTML = f"xTellerNameHtml{_MARK}"
_TO = f"xtellerto{_MARK}@teller.invalid"
_DATE = f"xTellerDate{_MARK}"
_ID = f"<xTellerId{_MARK}@teller.invalid>"
# The slots of a wire template, in the order _splice passes their values.
_SLOTS = {"to": 0, "date": 1, "id": 2, "text": 3, "html": 4}
# A header line is "Name: value"; values this short are never folded.
_MAX_HEADER_VALUE = 64
# An address Django would put in the header and the envelope unchanged: a
# dot-atom at an ASCII domain (anything else goes through Django).
_SIMPLE_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
# RFC 5322's line limit: a longer line makes Django quote the part instead.
_MAX_LINE = 998


@dataclass(frozen=True)
class _Shared:
    """An event's email for any recipient: the two parts split at the name."""

    subject: str
    link: str
    text: list[str]
    html: list[str]

    def render(self, name: str) -> RenderedNotification:
        return RenderedNotification(
            subject=self.subject,
            text=name.join(self.text),
            html=conditional_escape(name).join(self.html),
            link=self.link,
        )


@dataclass(frozen=True)
class _WireTemplate:
    """An event's message bytes, cut where the per-recipient values go."""

    pieces: list[bytes]
    slots: list[int]  # what goes between pieces[i] and pieces[i + 1]
    boundary: bytes
    room: int  # the longest name, in bytes, that keeps every line legal


def _shared_key(notification: Notification) -> tuple[Any, ...] | None:
    if notification.kind == NotificationKind.INVITED:
        return None  # the link may be the member's own set-password link
    facts = json.dumps(notification.context, sort_keys=True, default=str)
    return (notification.kind, notification.contest_id, notification.poll_id, facts)


def _render_shared(notification: Notification) -> _Shared | None:
    context = _context(notification)
    try:
        subject, body = _subject_and_body({**context, "recipient": _StandIn(_NAME_TEXT)})
        if _NAME_TEXT in subject or _NAME_TEXT in body:
            return None  # the name is in the subject or body: nothing to share
        context.update(subject=subject, body=body)
        text = render_to_string(
            "notifications/email.txt", {**context, "recipient": _StandIn(_NAME_TEXT)}
        )
        html = render_to_string(
            "notifications/email.html", {**context, "recipient": _StandIn(_NAME_HTML)}
        )
    except _NotShared:
        return None
    return _Shared(subject, context["link"], text.split(_NAME_TEXT), html.split(_NAME_HTML))


def _wire_template(shared: _Shared, *, ascii_name: bool) -> _WireTemplate | None:
    # A name outside ASCII makes a part 8bit; the template's marker must too.
    suffix = "" if ascii_name else "\u00e9"
    text_mark, html_mark = _NAME_TEXT + suffix, _NAME_HTML + suffix
    rendered = RenderedNotification(
        subject=shared.subject,
        text=text_mark.join(shared.text),
        html=html_mark.join(shared.html),
        link=shared.link,
    )
    mime = _email(rendered, to=_TO, message_id=_ID).message()
    if any(
        part["Content-Transfer-Encoding"] not in ("7bit", "8bit") for part in mime.get_payload()
    ):
        return None  # quoted-printable or base64: the name would be encoded
    mime.replace_header("Date", _DATE)
    data = mime.as_bytes(linesep="\r\n")
    marks = {
        _TO.encode(): _SLOTS["to"],
        _DATE.encode(): _SLOTS["date"],
        _ID.encode(): _SLOTS["id"],
        text_mark.encode(): _SLOTS["text"],
        html_mark.encode(): _SLOTS["html"],
    }
    cut = re.split(b"(" + b"|".join(re.escape(m) for m in marks) + b")", data)
    pieces, slots = cut[::2], [marks[m] for m in cut[1::2]]
    if [slots.count(_SLOTS[s]) for s in ("to", "date", "id")] != [1, 1, 1]:
        return None
    room = _MAX_LINE
    for line in data.split(b"\r\n"):
        names = line.count(text_mark.encode()) + line.count(html_mark.encode())
        if names:
            rest = len(line) - line.count(text_mark.encode()) * len(text_mark.encode())
            rest -= line.count(html_mark.encode()) * len(html_mark.encode())
            room = min(room, (_MAX_LINE - rest) // names)
    boundary = mime.get_boundary()
    if boundary is None:
        return None
    return _WireTemplate(pieces, slots, boundary.encode("ascii"), room)
