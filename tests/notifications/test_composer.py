"""EmailComposer: a batch's emails with what every recipient shares built once.

Its render must be render_notification's, byte for byte, and its wire bytes
Django's own MIME message (given the same Date and boundary), for any name
and every kind; where it cannot promise that, it must step aside.
"""

from __future__ import annotations

import copy
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from accounts.models import User
from elections.models import Contest, Notification, NotificationKind
from elections.notification_content import EmailComposer, build_email, render_notification

SITE = "https://teller.example.org"

# (full name, email): escaping, accents, quotes, an empty short name, a
# nameless member (whose short name is the address), encoded-word lookalikes.
PEOPLE = [
    ("Ann Archer", "ann.archer@example.org"),
    ("O'Brien&<b>Bold</b> Smith", "obrien@example.org"),
    ("Zoë Łukasiewicz", "zoe@example.org"),
    ('"Quoted" Name', "quoted+tag@mail.example.org"),
    ("=?utf-8?q?Sneaky?= Person", "sneaky@example.org"),
    (" Leading-space", "leading@example.org"),
    ("", "nameless@example.org"),
    ("Ümlaut&amp;", "umlaut@example.org"),
]


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.SITE_URL = SITE


@pytest.fixture
def people(db: None) -> list[User]:
    return [User.objects.create_user(email, "x", full_name=name) for name, email in PEOPLE]


def _notices(
    kind: str, contest: Contest | None, users: list[User], **facts: Any
) -> list[Notification]:
    poll = contest.current_poll() if contest else None
    for user in users:
        Notification.objects.create(
            user=user, kind=kind, contest=contest, poll=poll, context=facts, dedupe_key=kind
        )
    # Loaded as delivery loads them.
    return list(
        Notification.objects.filter(kind=kind)
        .select_related("user", "contest__body", "poll")
        .order_by("id")
    )


def _facts(kind: str) -> dict[str, Any]:
    return {
        NotificationKind.RESULT_DECLARED: {"elected": ["Ann Archer", "Ben Baker"]},
        NotificationKind.ROUND_SCHEDULED: {"round": 2, "excluded": "Cat Carter"},
        NotificationKind.RULING_ISSUED: {"decision": "Upheld", "reason": "It was <fine> & fair."},
        NotificationKind.COMPLAINT_RECEIVED: {"reference": 7},
    }.get(kind, {})


def _django_bytes(notification: Notification, like: bytes) -> bytes:
    """Django's message for the notice, with the Date and boundary of `like`."""
    sent = message_from_bytes(like)
    direct = build_email(notification).message()
    direct.replace_header("Date", sent["Date"])
    direct.set_boundary(sent.get_boundary())
    return direct.as_bytes(linesep="\r\n")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_it_renders_exactly_what_the_templates_render(kind, contest, people):
    notices = _notices(kind, contest, people, **_facts(kind))
    composer = EmailComposer()

    for notice in notices:
        assert composer.render(notice) == render_notification(notice)
        ours, theirs = composer.email(notice), build_email(notice)
        assert (ours.subject, ours.body, ours.to) == (theirs.subject, theirs.body, theirs.to)
        assert ours.alternatives == theirs.alternatives
        assert ours.extra_headers == theirs.extra_headers


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [k for k in NotificationKind if k != NotificationKind.INVITED])
def test_its_wire_bytes_are_djangos_message(kind, contest, people):
    notices = _notices(kind, contest, people, **_facts(kind))
    composer = EmailComposer()

    for notice in notices:
        message = composer.wire(notice)
        assert message is not None, notice.user.full_name
        assert message.to_addr == notice.user.email
        assert message.from_addr == django_settings.DEFAULT_FROM_EMAIL
        assert message.data == _django_bytes(notice, message.data)


@pytest.mark.django_db
def test_it_renders_once_per_event_not_per_recipient(contest, make_members, monkeypatch):
    from elections import notification_content

    renders: list[str] = []
    real = notification_content.render_to_string

    def counting(name: str, context: Any = None) -> str:
        renders.append(name)
        return real(name, context)

    monkeypatch.setattr(notification_content, "render_to_string", counting)
    notices = _notices(NotificationKind.BALLOT_OPEN, contest, make_members(30))
    composer = EmailComposer()
    for notice in notices:
        composer.wire(notice)

    # Four templates shared, four for the check against the first recipient,
    # four more for the check of the MIME bytes: not four per recipient.
    assert len(renders) == 12


@pytest.mark.django_db
def test_invitations_are_built_one_by_one(people):
    notices = _notices(NotificationKind.INVITED, None, people[:2], body="Ashby Vale", role="member")
    composer = EmailComposer()
    for notice in notices:
        assert composer.wire(notice) is None
        assert composer.render(notice) == render_notification(notice)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Tab\tName", "tab@example.org"),  # not printable: Django may fold or encode
        ("Line\nBreak", "newline@example.org"),
        ("Ann", "Ann Archer <ann@example.org>"),  # not a bare address
        ("Ann", "ann..archer@example.org"),  # not a dot-atom: Django would quote it
        ("Ann", "zoë@example.org"),  # non-ASCII address
        ("Ann", "a" * 60 + "@example.org"),  # long enough that Django may fold
        ("&" * 200, "long@example.org"),  # escaped, a line over 998 bytes: Django quotes it
    ],
)
def test_it_leaves_unusual_messages_to_django(name, email, contest):
    user = User.objects.create_user(email, "x", full_name=name)
    [notice] = _notices(NotificationKind.BALLOT_OPEN, contest, [user])
    composer = EmailComposer()

    assert composer.wire(notice) is None
    assert composer.render(notice) == render_notification(notice)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("template", "text"),
    [
        # Another field of the recipient: the stand-in refuses, so nothing is shared.
        ("notifications/kinds/ballot_open.body.txt", "Sent to {{ recipient.email }}."),
        # The name in the subject: shared text would carry the marker.
        ("notifications/kinds/ballot_open.subject.txt", "For {{ recipient.get_short_name }}"),
        # The name through a filter: only the check against the direct render sees it.
        (
            "notifications/email.txt",
            "Dear {{ recipient.get_short_name|upper }},\n\n{{ body }}\n{{ link }}\n",
        ),
        (
            "notifications/email.html",
            "<p>{{ recipient.get_short_name|truncatechars:3 }}</p>{{ body|linebreaks }}",
        ),
    ],
)
def test_a_template_that_uses_more_of_the_recipient_is_rendered_per_person(
    template, text, contest, people, settings, tmp_path: Path
):
    path = tmp_path / template
    path.parent.mkdir(parents=True)
    path.write_text(text)
    engines = copy.deepcopy(settings.TEMPLATES)
    engines[0]["DIRS"] = [tmp_path, *engines[0]["DIRS"]]
    settings.TEMPLATES = engines
    notices = _notices(NotificationKind.BALLOT_OPEN, contest, people)
    composer = EmailComposer()

    for notice in notices:
        assert composer.render(notice) == render_notification(notice)
        message = composer.wire(notice)
        if message is not None:
            assert message.data == _django_bytes(notice, message.data)


@pytest.mark.django_db
def test_a_name_that_does_not_fit_does_not_cost_the_others_the_shortcut(contest):
    # The first recipient's name is too long for a legal line once escaped:
    # that one goes through Django, and the template is checked on the next.
    users = [
        User.objects.create_user("amp@example.org", "x", full_name="&" * 200),
        User.objects.create_user("ann@example.org", "x", full_name="Ann Archer"),
    ]
    first, second = _notices(NotificationKind.BALLOT_OPEN, contest, users)
    composer = EmailComposer()

    assert composer.wire(first) is None
    message = composer.wire(second)
    assert message is not None and message.data == _django_bytes(second, message.data)


@pytest.mark.django_db
def test_if_djangos_message_differs_the_event_goes_through_django(contest, people, monkeypatch):
    # A change in Django's MIME (here, a header it would add) must not be
    # papered over by our prebuilt bytes: the check on the first recipient
    # sees the difference and the whole event falls back to Django's path.
    from elections import notification_content

    real = notification_content.build_email

    def with_a_header(notification: Notification, **kwargs: Any):  # type: ignore[no-untyped-def]
        email = real(notification, **kwargs)
        email.extra_headers["X-Django-Changed"] = "yes"
        return email

    monkeypatch.setattr(notification_content, "build_email", with_a_header)
    notices = _notices(NotificationKind.BALLOT_OPEN, contest, people[:3])
    composer = EmailComposer()

    assert [composer.wire(notice) for notice in notices] == [None, None, None]
    # The rendering shortcut, which does not depend on Django's MIME, still holds.
    assert all(composer.render(n) == render_notification(n) for n in notices)
