"""`runserver` plus the periodic work that celery beat does in production.

`make run` has no Redis: tasks run eagerly, and this command's scheduler
thread runs the sweep (open, remind, close, count) and the notification
delivery every TELLER_SWEEP_SECONDS, so polls still open and close on time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

log = logging.getLogger(__name__)


def run_periodic_work() -> None:
    from elections.services.schedule import sweep
    from elections.tasks.polls import count_poll_task

    sweep(on_closed=lambda poll_id: count_poll_task.delay(poll_id))
    try:
        from elections.delivery import deliver_pending
    except ImportError:  # delivery arrives with the notifications module
        return
    deliver_pending()


def _loop(interval: int) -> None:
    while True:
        close_old_connections()
        try:
            run_periodic_work()
        except Exception:
            log.exception("periodic work failed; trying again in %ss", interval)
        time.sleep(interval)


class Command(BaseCommand):
    help = "Serve for development, with the periodic work of celery beat run in-process."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        # The autoreloader runs this command twice: the watcher and the server
        # (RUN_MAIN=true). Only the server runs the scheduler.
        if os.environ.get("RUN_MAIN") == "true":
            thread = threading.Thread(
                target=_loop, args=(settings.TELLER_SWEEP_SECONDS,), daemon=True, name="scheduler"
            )
            thread.start()
        call_command("runserver", options["addrport"])
