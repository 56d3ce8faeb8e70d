"""Benchmark: "ballot open" emails to a whole roll, through the outbox, Celery and SMTP.

    python bench/notifications_bench.py [--members 130000] [--concurrency 2]
                                        [--smoke] [--json-out FILE]

Builds its own database (teller_bench_notify): one body of ``--members`` members and an
STV contest with its poll scheduled. Then, with a real Celery worker subprocess on Redis
(``--redis-url``, flushed first) and a local SMTP sink (aiosmtpd, in this process) running,
it opens the poll by the model's own method: the roll is frozen and one "ballot open"
notice per member is written to the outbox in the same transaction, and delivery is
queued on commit, as in production. The clock runs from the open until the sink holds a
message for every member; the sink counts messages per recipient, so a notice sent twice
shows.

Reference, in the same run: the same sink taking plain messages from smtplib over one
connection, from another process (what the sink and SMTP cost, with no Django).
Figures go to bench/results/notifications.json.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import smtplib
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

TARGET_SECONDS = 300.0


def _smtp_reference(port: int, n: int) -> None:
    message = EmailMessage()
    message["From"] = "teller@localhost"
    message["Subject"] = "[Teller] Voting is open"
    message.set_content("Voting is open. " * 40)
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(n):
            del message["To"]
            message["To"] = f"reference{i}@bench.example.org"
            smtp.send_message(message)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=130_000)
    p.add_argument("--concurrency", type=int, default=4, help="Celery worker processes")
    p.add_argument("--sinks", type=int, default=2, help="SMTP sink processes on one port")
    p.add_argument("--reference", type=int, default=10_000, help="messages for the reference")
    p.add_argument("--redis-url", default=common.DEFAULT_REDIS)
    p.add_argument("--database", default="teller_bench_notify")
    p.add_argument("--time-limit", type=float, default=600, help="seconds to wait, at most")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    if args.smoke:
        args.members, args.reference, args.time_limit = 300, 200, 120

    import redis

    db_url = common.database_url(args.database)
    started = time.perf_counter()
    common.recreate_database(db_url)
    common.setup_django(
        db_url,
        REDIS_URL=args.redis_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    from django.db import connection
    from django.db.models import Count

    from bench import world
    from elections.models.notifications import Notification, NotificationKind, NotificationStatus

    _, body = world.region_and_body()
    world.members(body, args.members)
    # Broker-less while building: the notices setup writes (nominations open) are not
    # the workload; they are marked sent so the worker meets only the ballot-open ones.
    from django.conf import settings

    _, poll = world.open_contest(body, title="Notifications bench", open_poll=False)
    Notification.objects.update(status=NotificationStatus.SENT)
    common.settle_database()
    setup_s = time.perf_counter() - started
    print(
        f"Notifications: {args.members} members, Celery concurrency {args.concurrency}; "
        f"set up in {setup_s:.1f} s"
    )
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()

    workdir = Path(tempfile.mkdtemp(prefix="teller-bench-notify-"))
    sink = common.SmtpSink(processes=args.sinks, workdir=workdir)
    port = sink.start()
    env = common.server_env(
        db_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        REDIS_URL=args.redis_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
    )
    report: dict[str, Any] = {
        "members": args.members,
        "concurrency": args.concurrency,
        "sinks": args.sinks,
    }
    failures: list[str] = []
    with common.celery_worker(
        env, concurrency=args.concurrency, log=workdir / "worker.log"
    ) as worker:
        time.sleep(3)  # the worker connects to Redis before the first task lands
        assert not settings.CELERY_TASK_ALWAYS_EAGER, "the worker must do the sending"
        opened = time.perf_counter()
        poll.open(by=None)
        committed = time.perf_counter()
        deadline = opened + args.time_limit
        while sink.total < args.members and time.perf_counter() < deadline:
            if worker.poll() is not None:
                raise RuntimeError("the Celery worker died; see " + str(workdir))
            time.sleep(0.2)
        done = time.perf_counter()
        time.sleep(3)  # a duplicate, if any, would arrive now
    delivered = sink.total
    sink.stop()
    rows = Notification.objects.filter(poll=poll, kind=NotificationKind.BALLOT_OPEN)
    statuses = dict(rows.values_list("status").order_by().annotate(n=Count("id")))
    report["outbox_write_s"] = round(committed - opened, 2)
    report["delivery_s"] = round(done - opened, 2)
    report["per_second"] = round(delivered / (done - opened), 1)
    report["delivered"] = delivered
    report["recipients"] = len(sink.per_recipient)
    report["twice_or_more"] = sum(1 for n in sink.per_recipient.values() if n > 1)
    report["statuses"] = statuses
    print(
        f"  poll opened, {args.members} notices written in {report['outbox_write_s']} s; "
        f"{delivered} messages to {report['recipients']} recipients in "
        f"{report['delivery_s']} s ({report['per_second']}/s)"
    )

    # The reference: fresh sinks, plain smtplib from as many processes as the worker has.
    ref_sink = common.SmtpSink(processes=args.sinks, workdir=workdir / "reference")
    ref_port = ref_sink.start()
    ctx = mp.get_context("fork")
    share = args.reference // args.concurrency
    clients = [
        ctx.Process(target=_smtp_reference, args=(ref_port, share)) for _ in range(args.concurrency)
    ]
    ref_started = time.perf_counter()
    for client_process in clients:
        client_process.start()
    for client_process in clients:
        client_process.join(timeout=300)
    ref_s = time.perf_counter() - ref_started
    # Every message the clients sent was answered, so it is counted; but the running
    # total is written only four times a second: take the final count.
    ref_sink.stop()
    ref_sent = sum(ref_sink.per_recipient.values())
    report["reference"] = {
        "messages": ref_sent,
        "seconds": round(ref_s, 2),
        "per_second": round(ref_sent / ref_s, 1),
    }
    report["of_reference"] = round(report["per_second"] / report["reference"]["per_second"], 3)
    print(
        f"  reference: smtplib to the same sinks from {args.concurrency} processes, "
        f"{report['reference']['per_second']}/s; delivery runs at {report['of_reference']:.0%}"
    )
    common.check(
        delivered == args.members and report["recipients"] == args.members,
        f"every member got the notice ({report['recipients']} of {args.members})",
        failures,
    )
    common.check(report["twice_or_more"] == 0, "nobody got it twice", failures)
    common.check(
        report["delivery_s"] < TARGET_SECONDS,
        f"all delivered in {report['delivery_s']} s (target {TARGET_SECONDS:g} s)",
        failures,
    )
    report["missed"] = failures
    report["setup_s"] = round(setup_s, 1)
    connection.close()
    client.flushdb()
    common.write_results("notifications", report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
