"""The mixer: inbox → ballot box, shuffled, in transactions of its own.

PostgreSQL stamps every row with the id of the transaction that wrote it
(`xmin`). A ballot written in the casting transaction could be joined to
its Participation on that stamp, so casting only drops the ballot in the
inbox; here it is rewritten into the ballot box by a different
transaction, under a new random id, in shuffled batches, and the inbox row
is deleted. For a small roll nothing moves until the close, so every
ballot hides among the whole turnout; for a large one, only batches of at
least TELLER_MIX_BATCH_MIN move while the poll is open.
"""

from __future__ import annotations

import logging
import random

from django.conf import settings
from django.db import connection, transaction

from elections.models import Ballot, InboxBallot

log = logging.getLogger(__name__)

_MAX_BATCH = 5000
_shuffle = random.SystemRandom().shuffle


def mix_poll(poll_id: int, *, final: bool = False) -> int:
    """Move inbox ballots of one poll into the box; return how many moved.

    While the poll is open (`final=False`) a batch moves only if it holds
    at least the minimum. At the close (`final=True`) everything moves.
    Safe to run twice, and concurrently: each batch claims its rows with
    SKIP LOCKED, so two mixers never move the same ballot.
    """
    minimum = 1 if final else max(1, settings.TELLER_MIX_BATCH_MIN)
    moved = 0
    while True:
        with transaction.atomic():
            rows = list(
                InboxBallot.objects.filter(poll_id=poll_id)
                .select_for_update(skip_locked=True)
                .values_list("id", "choices", "receipt_digest")[:_MAX_BATCH]
            )
            if len(rows) < minimum or not rows:
                break
            _shuffle(rows)
            Ballot.objects.bulk_create(
                [
                    Ballot(poll_id=poll_id, choices=choices, receipt_digest=digest)
                    for _, choices, digest in rows
                ]
            )
            InboxBallot.objects.filter(id__in=[row[0] for row in rows]).delete()
        moved += len(rows)
        if len(rows) < _MAX_BATCH and not final:
            break
    if final:
        _purge_dead_inbox_rows()
    log.info("mixer moved %d ballots of poll %s", moved, poll_id)
    return moved


def _purge_dead_inbox_rows() -> None:
    """Let PostgreSQL reclaim deleted inbox rows, which still carry the
    casting transaction's id until vacuumed. VACUUM cannot run inside a
    transaction; where the caller holds one, autovacuum does it later."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {InboxBallot._meta.db_table}")
