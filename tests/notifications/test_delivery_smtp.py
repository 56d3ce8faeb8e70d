"""Delivery through Django's SMTP backend into a real SMTP server (aiosmtpd):
the composer's bytes go to smtplib, each notice once, a refused recipient is
that row's failure alone, and the marks' commit setting does not leak."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from django.core.mail.backends.smtp import EmailBackend
from django.db import connection

from accounts.models import User
from elections import delivery
from elections.delivery import deliver_pending
from elections.models import Notification, NotificationKind, NotificationStatus
from elections.notifications import notify

REFUSED = "refused@example.org"


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Message]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address == REFUSED:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def sink(settings: Any) -> Iterator[Sink]:
    handler = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://teller.example.org"
    yield handler
    controller.stop()


def _parts(message: Message) -> tuple[str, str]:
    text, html = message.get_payload()
    return text.get_payload(decode=True).decode(), html.get_payload(decode=True).decode()


@pytest.mark.django_db
def test_it_sends_each_notice_once_as_a_whole_email(contest, poll, make_members, sink):
    members = [
        *make_members(3),
        User.objects.create_user("zoe@example.org", "x", full_name="Zoë<Z> Zed"),
    ]
    notify(members, NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)

    report = deliver_pending()

    assert (report.sent, report.failed, report.retrying) == (4, 0, 0)
    assert sorted(rcpt for rcpt, _ in sink.messages) == sorted(m.email for m in members)
    ids = {message["Message-ID"] for _, message in sink.messages}
    assert ids == {f"<notification-{n.pk}@teller.example.org>" for n in Notification.objects.all()}
    for rcpt, message in sink.messages:
        member = next(m for m in members if m.email == rcpt)
        assert message["To"] == rcpt and message["Subject"].startswith("[Teller] Your ballot is")
        text, html = _parts(message)
        assert text.startswith(f"Hello {member.get_short_name()},")
        assert f'href="https://teller.example.org/polls/{poll.pk}/ballot/"' in html
        assert contest.title in text and "/ballot/" in text
    [(_, zoe)] = [(r, m) for r, m in sink.messages if r == "zoe@example.org"]
    assert "Hello Zoë&lt;Z&gt;," in _parts(zoe)[1]
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}
    assert deliver_pending().claimed == 0 and len(sink.messages) == 4


@pytest.mark.django_db
def test_a_refused_recipient_fails_alone(contest, poll, make_members, sink, settings):
    settings.TELLER_NOTIFY_MAX_ATTEMPTS = 5
    refused = User.objects.create_user(REFUSED, "x", full_name="Rita Refused")
    members = make_members(2)
    notify([members[0], refused, members[1]], NotificationKind.BALLOT_OPEN, contest=contest,
           poll=poll)  # fmt: skip

    report = deliver_pending()

    assert (report.sent, report.retrying, report.failed) == (2, 1, 0)
    assert sorted(rcpt for rcpt, _ in sink.messages) == sorted(m.email for m in members)
    row = Notification.objects.get(user=refused)
    assert row.status == NotificationStatus.PENDING and row.attempts == 1
    assert "550" in row.last_error and "Mailbox unavailable" in row.last_error
    others = Notification.objects.exclude(user=refused)
    assert {r.status for r in others} == {NotificationStatus.SENT}


@pytest.mark.django_db
def test_unusual_messages_still_go_through_django(contest, poll, sink):
    odd = User.objects.create_user("ann..archer@example.org", "x", full_name="Tab\tName")
    notify([odd], NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)

    assert deliver_pending().sent == 1
    [(rcpt, message)] = sink.messages
    assert rcpt == odd.email and _parts(message)[0].startswith("Hello Tab\tName,")


@pytest.mark.postgres
@pytest.mark.django_db
def test_marks_commit_without_waiting_for_the_disk_and_the_setting_is_put_back(
    contest, poll, make_members, sink, monkeypatch
):
    seen: list[str] = []
    real = delivery._mark_sent

    def watching(notification: Notification, now: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        real(notification, now)

    monkeypatch.setattr(delivery, "_mark_sent", watching)
    notify(make_members(2), NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)

    assert deliver_pending().sent == 2
    assert seen == ["off", "off"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


class SigningBackend(EmailBackend):
    """A subclass that does more per message: it must still be asked."""

    sent: ClassVar[int] = 0

    def _send(self, email_message: Any) -> bool:
        SigningBackend.sent += 1
        return super()._send(email_message)


@pytest.mark.django_db
def test_a_subclass_of_the_smtp_backend_still_sends_every_message(
    contest, poll, make_members, sink, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.SigningBackend"
    SigningBackend.sent = 0
    notify(make_members(3), NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)

    assert deliver_pending().sent == 3
    assert SigningBackend.sent == 3 and len(sink.messages) == 3
