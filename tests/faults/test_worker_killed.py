"""The Celery worker is killed (SIGKILL) in the middle of sending a few
hundred notices; a new worker comes up and finishes the job. Every notice
arrives, and none arrives twice.

A real worker with its beat, on a throwaway Redis and the test database,
sends into an SMTP sink. The sink itself pulls the trigger: when the
worker opens the envelope of message 121 (so message 120 has been accepted
and marked sent), the whole worker process group is killed before the sink
answers. That is mid-batch, with 180 rows claimed and left in "sending",
and outside the one window delivery cannot close (a message the server
accepted whose worker died before marking it; see elections/delivery.py).
The new worker runs with TELLER_NOTIFY_SENDING_TIMEOUT=2, so the stuck rows
are handed back to it after two seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction

from accounts.models import User
from elections.models import Body, Membership, Notification, NotificationKind
from elections.models.notifications import NotificationStatus
from elections.notifications import notify
from tests.faults.conftest import ROOT, ThrowawayRedis, free_port, wait_for

PEOPLE = 150  # two notices each: 300 emails
KILL_AT = 120  # the worker dies as it starts message KILL_AT + 1


class KillingSink:
    """An SMTP server that keeps every message it accepts and can run
    `on_envelope` when a given envelope is opened, before answering it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []  # (recipient, Message-ID)
        self.envelopes = 0
        self.trigger_at: int | None = None
        self.on_envelope: Callable[[], None] | None = None
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]
        self.envelopes += 1
        if self.envelopes == self.trigger_at and self.on_envelope is not None:
            # Blocks the sink's loop until the worker is dead; the worker is
            # waiting for this reply, so it dies having sent nothing more.
            await asyncio.get_running_loop().run_in_executor(None, self.on_envelope)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = message_from_bytes(envelope.content)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, str(message["Message-ID"])))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[KillingSink, int]]:
    handler = KillingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


class Workers:
    """Celery workers (each with its beat), started and killed as process groups."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.started)
        log = (self.tmp / f"worker-{n}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--pool=solo",
             "--loglevel=INFO", f"--schedule={self.tmp / f'beat-{n}'}", "--without-gossip",
             "--without-mingle", "--without-heartbeat", f"--hostname=faults{n}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            # Its own process group: the beat runs in a child process, and a
            # killed worker must take it down too.
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.started.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the beat child, if it outlived the worker

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.tmp.glob("worker-*.log")))


@pytest.fixture
def workers(
    transactional_db: None,
    throwaway_redis: ThrowawayRedis,
    sink: tuple[KillingSink, int],
    tmp_path: Path,
) -> Iterator[Workers]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": throwaway_redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink[1]),
        "TELLER_DELIVERY_SECONDS": "1",
        "TELLER_SWEEP_SECONDS": "3600",
        "TELLER_NOTIFY_SENDING_TIMEOUT": "2",
    }
    pool = Workers(env, tmp_path)
    yield pool
    for process in pool.started:
        Workers.kill(process)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_no_notice_and_sends_none_twice(
    body: Body,
    sink: tuple[KillingSink, int],
    workers: Workers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp, _ = sink
    people = User.objects.bulk_create(
        User(email=f"member{i}@faults.example", full_name=f"Member {i}") for i in range(PEOPLE)
    )
    Membership.objects.bulk_create(Membership(body=body, user=p) for p in people)
    # Written here, sent only by the workers: not queued in this process.
    monkeypatch.setattr("elections.notifications._enqueue_delivery", lambda: None)
    with transaction.atomic():
        notify(people, NotificationKind.INVITED, context={"body": body.name, "role": "member"},
               dedupe="faults:invited")  # fmt: skip
        notify(people, NotificationKind.RULING_ISSUED, contest=None,
               context={"decision": "Upheld", "reason": "The count was in order."},
               dedupe="faults:ruling")  # fmt: skip
    rows = list(Notification.objects.select_related("user"))
    assert len(rows) == 2 * PEOPLE

    first = workers.start()
    killed = threading.Event()

    def kill_the_worker() -> None:
        Workers.kill(first)
        killed.set()

    smtp.trigger_at, smtp.on_envelope = KILL_AT + 1, kill_the_worker
    wait_for(killed.is_set, 50, f"the worker to reach message {KILL_AT + 1}\n{workers.logs()}")
    assert len(smtp.messages) == KILL_AT
    statuses = Counter(Notification.objects.values_list("status", flat=True))
    assert statuses[NotificationStatus.SENT] == KILL_AT
    assert statuses[NotificationStatus.SENDING] == 2 * PEOPLE - KILL_AT, "claimed, then orphaned"

    workers.start()

    def all_sent() -> bool:
        return not Notification.objects.exclude(status=NotificationStatus.SENT).exists()

    wait_for(all_sent, 50, f"the new worker to send the rest\n{workers.logs()}")
    time.sleep(2)  # a second copy of anything, if one were coming, comes now

    ids = Counter(message_id for _, message_id in smtp.messages)
    expected = {f"<notification-{n.pk}@" for n in rows}
    assert len(ids) == len(rows), "every notice arrived"
    assert {i.split("@")[0] + "@" for i in ids} == expected
    assert [i for i, n in ids.items() if n > 1] == [], "no notice arrived twice"
    per_person = Counter(rcpt for rcpt, _ in smtp.messages)
    assert per_person == Counter(n.user.email for n in rows)
    assert set(per_person.values()) == {2}
