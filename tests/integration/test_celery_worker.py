"""Against a real Redis and a real Celery worker (with beat), emails into a real SMTP sink.

The worker is a separate process: it sees only what this test commits, so
the test runs outside a transaction, on PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from elections.models import Method, Poll, PollStatus
from elections.models.notifications import Notification, NotificationKind
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TELLER_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


class Sink:
    """An SMTP server that keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = message_from_bytes(envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, str(message["Subject"])))
        return "250 OK"


@pytest.fixture
def smtp_sink():  # type: ignore[no-untyped-def]
    sink = Sink()
    with socket.socket() as probe:  # a free port for the sink
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture
def worker(smtp_sink, tmp_path):  # type: ignore[no-untyped-def]
    _, port = smtp_sink
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # no stale task from an earlier run
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "TELLER_SWEEP_SECONDS": "1",
        "TELLER_DELIVERY_SECONDS": "2",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--pool=solo",
         "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    client.flushdb()


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def scheduled(make_members, sam, make_contest):  # type: ignore[no-untyped-def]
    """Set up before the worker starts: what setup notifies is delivered here,
    in-process, so the sink sees only what the worker sends."""
    voters = make_members(5)
    contest = make_contest(Method.PLURALITY, open_poll=False, reminder_hours_before_close=0)
    poll = poll_of(contest)
    now = timezone.now()
    # The sweep opens it in a few seconds and closes it a few seconds later.
    Poll.objects.filter(pk=poll.pk).update(
        opens_at=now + timedelta(seconds=4), closes_at=now + timedelta(seconds=14)
    )
    assert not Notification.objects.exclude(status="sent").exists()
    return contest, poll, voters


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_scheduled_poll_opens_closes_and_everyone_is_emailed_once(
    scheduled, sam, smtp_sink, worker, tmp_path
):
    sink, _ = smtp_sink
    contest, poll, voters = scheduled
    before = set(Notification.objects.values_list("pk", flat=True))

    def status() -> str:
        return Poll.objects.get(pk=poll.pk).status

    _wait_for(lambda: status() == PollStatus.OPEN, 30, "the poll to open")
    ann = candidate_ids(contest)["Ann Archer"]
    for voter in voters[:3]:
        cast_ballot(poll.pk, voter, [ann])
    _wait_for(lambda: status() == PollStatus.COUNTED, 45, "the poll to close and be counted")

    new = Notification.objects.exclude(pk__in=before).select_related("user")
    expected = Counter((n.user.email, n.kind) for n in new)
    total = sum(expected.values())
    _wait_for(lambda: len(sink.messages) >= total, 45, f"{total} emails in the sink")
    time.sleep(3)  # a duplicate, if any, would arrive now
    log = (tmp_path / "worker.log").read_text()
    assert len(sink.messages) == total, log[-3000:]
    by_recipient = Counter(rcpt for rcpt, _ in sink.messages)
    for voter in voters:
        assert expected[(voter.email, NotificationKind.BALLOT_OPEN)] == 1
        assert expected[(voter.email, NotificationKind.POLL_CLOSED)] == 1
        assert by_recipient[voter.email] == 2, "ballot open and poll closed, each exactly once"
    assert expected[(sam.email, NotificationKind.COUNT_READY)] == 1
    assert by_recipient[sam.email] == 1
    assert not Notification.objects.exclude(status="sent").exists()
    assert Poll.objects.get(pk=poll.pk).result["ballots_counted"] == 3
