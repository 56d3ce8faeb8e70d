"""Two gunicorn instances and two Celery workers on one database and one Redis.

What docs/scaling.md promises: nothing that matters is held in one process, so any
number of web hosts can sit behind a load balancer and any number of workers can share
the queue. Here, on this machine, on two free ports:

- a voter who logs in through one instance is logged in on the other (sessions are rows
  in PostgreSQL), and the CSRF cookie one instance set is good on the other;
- a vote cast once through each instance counts once, whether the two posts come one
  after the other or at the same moment (the unique constraint, not a process, decides);
- the limit on ballot posts is one count across both instances (django-ratelimit in the
  Redis cache, not each process's memory);
- two workers (one running beat) close and count the poll once and send each notice
  once (row locks and SKIP LOCKED in PostgreSQL, the queue in Redis).

The servers are separate processes that see only what the test commits, so the test runs
outside a transaction, on PostgreSQL.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from aiosmtpd.controller import Controller
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone

from accounts.models import User
from elections.models import InboxBallot, Method, Participation, Poll, PollStatus
from elections.models.notifications import Notification, NotificationKind
from tests.conftest import PASSWORD, candidate_ids, poll_of

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TELLER_TEST_SCALING_REDIS_URL", "redis://127.0.0.1:6379/13")
BALLOT_RATE = 4  # posts per minute per voter, across both instances
PAPERS: dict[int, str] = {}  # poll id -> its ballot paper's fingerprint

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Sink:
    """An SMTP server that keeps the recipient and subject of every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = message_from_bytes(envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, str(message["Subject"])))
        return "250 OK"


class Browser:
    """One person's cookies, sent to whichever instance a request goes to, as a browser
    behind a load balancer would (cookies belong to the site, not to a backend)."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(
        self, port: int, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return response.status, text

    def csrf_token(self, page: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, "the page has no CSRF token"
        return match.group(1)

    def log_in(self, port: int, email: str) -> None:
        _, page = self.request(port, "GET", "/accounts/login/")
        form = {"login": email, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf_token(page)}
        status, _ = self.request(port, "POST", "/accounts/login/", form)
        assert status == HTTPStatus.FOUND, "the login was refused"
        assert "sessionid" in self.cookies


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture
def world(make_members, sam, make_contest):  # type: ignore[no-untyped-def]
    """Set up before any server starts: what setup notifies is delivered in-process."""
    voters = make_members(4)
    # The servers run Teller's real settings, which do not know the tests' fast hasher.
    for voter in voters:
        User.objects.filter(pk=voter.pk).update(
            password=PBKDF2PasswordHasher().encode(PASSWORD, "scalingsalt", iterations=1000)
        )
    contest = make_contest(Method.PLURALITY, reminder_hours_before_close=0)
    assert not Notification.objects.exclude(status="sent").exists()
    return contest, poll_of(contest), voters


@pytest.fixture
def cluster(world, smtp_sink, tmp_path):  # type: ignore[no-untyped-def]
    """Two gunicorn instances and two Celery workers (one with beat); yields the ports."""
    _, smtp_port = smtp_sink
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "0",
        # Templates render {% static %}; the manifest storage would need collectstatic.
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "TELLER_BALLOT_RATE": f"{BALLOT_RATE}/m",
        "TELLER_SWEEP_SECONDS": "1",
        "TELLER_DELIVERY_SECONDS": "2",
    }
    processes: list[subprocess.Popen[Any]] = []
    logs = []

    def start(name: str, args: list[str]) -> None:
        log = (tmp_path / f"{name}.log").open("w")
        logs.append(log)
        processes.append(
            subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )

    ports = [_free_port(), _free_port()]
    for n, port in enumerate(ports, start=1):
        start(f"web{n}", [
            sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", "2",
        ])  # fmt: skip
    for n in (1, 2):
        args = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
            f"--hostname=worker{n}@%h", "--loglevel=INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if n == 1:  # beat is a singleton: one scheduler, however many workers
            args += ["--beat", f"--schedule={tmp_path / 'beat-schedule'}"]
        start(f"worker{n}", args)

    def listening(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
        except OSError:
            return False
        return True

    _wait_for(lambda: all(listening(p) for p in ports), 30, "both gunicorn instances")
    yield ports
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    for log in logs:
        log.close()
    client.flushdb()


def _cast(browser: Browser, port: int, poll: Poll, candidate: int, token: str) -> int:
    # No database here: the race below calls this from threads, which would each
    # open a connection of their own.
    form = {
        "csrfmiddlewaretoken": token,
        "paper": PAPERS[poll.pk],
        "choice": str(candidate),
        "action": "cast",
    }
    status, _ = browser.request(port, "POST", f"/polls/{poll.pk}/ballot/", form)
    return status


def test_nothing_is_held_in_one_process(world, cluster, smtp_sink, tmp_path) -> None:  # type: ignore[no-untyped-def]
    contest, poll, voters = world
    first, second = cluster
    sink, _ = smtp_sink
    ann = candidate_ids(contest)["Ann Archer"]
    ballot = f"/polls/{poll.pk}/ballot/"
    PAPERS[poll.pk] = poll.ballot_paper().fingerprint

    # A session made by one instance is good on the other.
    alice = Browser()
    alice.log_in(first, voters[0].email)
    status, page = alice.request(second, "GET", ballot)
    assert status == HTTPStatus.OK and "Ann Archer" in page
    token = alice.csrf_token(page)
    # Cast through the second, then again through the first: refused, and counted once.
    assert _cast(alice, second, poll, ann, token) == HTTPStatus.OK
    assert _cast(alice, first, poll, ann, token) == HTTPStatus.CONFLICT

    # Two casts at the same moment, one through each instance: one is taken.
    bob = Browser()
    bob.log_in(second, voters[1].email)
    _, page = bob.request(first, "GET", ballot)
    token = bob.csrf_token(page)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def race(port: int) -> None:
        start.wait()
        statuses.append(_cast(bob, port, poll, ann, token))

    threads = [threading.Thread(target=race, args=(port,)) for port in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [HTTPStatus.OK, HTTPStatus.CONFLICT]

    # The limit on ballot posts is counted once for both instances.
    carol = Browser()
    carol.log_in(first, voters[2].email)
    _, page = carol.request(second, "GET", ballot)
    token = carol.csrf_token(page)
    review = {"csrfmiddlewaretoken": token, "choice": str(ann), "action": "review"}
    answers = [
        carol.request((first, second)[n % 2], "POST", ballot, review)[0]
        for n in range(BALLOT_RATE + 1)
    ]
    assert answers == [HTTPStatus.OK] * BALLOT_RATE + [HTTPStatus.TOO_MANY_REQUESTS]

    assert Participation.objects.filter(poll=poll).count() == 2
    assert InboxBallot.objects.filter(poll=poll).count() == 2

    # Close it now: beat on one worker notices, either worker closes and counts, once.
    before = set(Notification.objects.values_list("pk", flat=True))
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    def counted() -> bool:
        return Poll.objects.get(pk=poll.pk).status == PollStatus.COUNTED

    _wait_for(counted, 60, "the poll to be closed and counted by the workers")
    assert Poll.objects.get(pk=poll.pk).result["ballots_counted"] == 2

    new = Notification.objects.exclude(pk__in=before).select_related("user")
    expected = Counter((n.user.email, n.kind) for n in new)
    total = sum(expected.values())
    _wait_for(lambda: len(sink.messages) >= total, 60, f"{total} emails in the sink")
    time.sleep(3)  # a duplicate, if any, would arrive now
    logs = "".join((tmp_path / f"worker{n}.log").read_text()[-2000:] for n in (1, 2))
    assert len(sink.messages) == total, logs
    by_recipient = Counter(rcpt for rcpt, _ in sink.messages)
    for voter in voters:
        assert expected[(voter.email, NotificationKind.POLL_CLOSED)] == 1
        assert by_recipient[voter.email] == 1, "poll closed, exactly once"
