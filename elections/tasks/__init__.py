"""Celery tasks. Each wraps a plain function that tests call directly.

Tasks take ids, never ballots or choices, and are safe to run twice.
"""

from elections.tasks.notifications import deliver_notifications_task
from elections.tasks.polls import count_poll_task, sweep_polls_task

__all__ = ["count_poll_task", "deliver_notifications_task", "sweep_polls_task"]
