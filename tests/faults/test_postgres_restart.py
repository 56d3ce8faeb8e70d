"""PostgreSQL crashes and restarts while votes are being cast.

Eight voters at a time cast ballots (tests/faults/voters.py, in a process of
its own pointed at a throwaway cluster) while the test crash-restarts that
cluster (`pg_ctl restart -m immediate`: no checkpoint, recovery from the
WAL). Then:

- every voter who was shown a receipt has their Participation and exactly
  one ballot with that receipt: an acknowledged vote survives the crash;
- every voter who was shown an error can vote again, and then does;
- no half-vote is left: as many ballots as participations, one per voter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from elections.services.receipts import receipt_digest
from tests.faults.conftest import ROOT, ThrowawayPostgres, wait_for

VOTERS = 120
THREADS = 8
PACE = 0.2  # seconds between one voter's cast and the next on each thread
# The first LATER voters start at once, and the crash comes while they vote;
# the rest wait until the database is back.
LATER = 80


def _voters_command(env: dict[str, str], *args: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.voters", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _count(pg: ThrowawayPostgres, sql: str, params: list[Any]) -> int:
    try:
        with psycopg.connect(pg.dsn("teller_faults"), connect_timeout=2) as db:
            row = db.execute(sql, params).fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return -1


# Not a django_db test: the databases it uses are the throwaway cluster's.
@pytest.mark.postgres
def test_a_crash_mid_vote_loses_no_acknowledged_vote(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    pg = throwaway_postgres
    with psycopg.connect(pg.dsn(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE teller_faults")
    env = {
        **os.environ,
        "DATABASE_URL": pg.url("teller_faults"),
        "REDIS_URL": "",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    world = json.loads(_voters_command(env, "setup", str(VOTERS), timeout=120))
    job = tmp_path / "vote.json"
    gate = tmp_path / "database-is-back"
    now, later = world["voters"][:LATER], world["voters"][LATER:]
    job.write_text(json.dumps({"world": world, "voters": now, "later": later, "gate": str(gate)}))
    out = tmp_path / "voted.json"

    voting = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.voters", "vote", str(job), str(out),
         str(THREADS), str(PACE)],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        voted_sql = "SELECT count(*) FROM elections_participation WHERE poll_id = %s"
        wait_for(
            lambda: _count(pg, voted_sql, [world["poll"]]) >= VOTERS // 5, 30, "votes to arrive"
        )
        crash = time.time()
        pg.restart("immediate")
        back = time.time()
        gate.touch()
        _, errors = voting.communicate(timeout=60)
    finally:
        if voting.poll() is None:
            voting.kill()
    assert voting.returncode == 0, errors[-3000:]
    outcomes = json.loads(out.read_text())

    acked = {o["voter"]: o["receipt"] for o in outcomes if "receipt" in o}
    failed = [o["voter"] for o in outcomes if "failed" in o]
    assert not [o for o in outcomes if "refused" in o], "nobody was turned away as such"
    # The run really was cut in two by the crash.
    assert [o for o in outcomes if "receipt" in o and o["ended"] < crash], "votes before"
    assert failed, "votes failed while the database was down"
    assert [o for o in outcomes if "receipt" in o and o["started"] > back], "votes after"

    # Everyone told "failed" tries again, now the database is back.
    retry_job = tmp_path / "retry.json"
    retry_job.write_text(json.dumps({"world": world, "voters": failed}))
    retried_out = tmp_path / "retried.json"
    _voters_command(env, "retry", str(retry_job), str(retried_out), timeout=60)
    retried = json.loads(retried_out.read_text())
    assert sorted(o["voter"] for o in retried) == sorted(failed)
    # A commit can reach the disk just before the crash cuts the reply to the
    # voter: they were told it failed, yet their vote is in. Trying again is
    # then refused as a second vote; allowed here, and checked below.
    lost_replies = [o["voter"] for o in retried if o.get("refused") == "already_voted"]
    assert not [o for o in retried if "failed" in o], f"a retry failed: {retried}"
    assert len(lost_replies) <= THREADS, "only commits in flight at the crash"
    acked.update({o["voter"]: o["receipt"] for o in retried if "receipt" in o})
    assert len(acked) + len(lost_replies) == VOTERS

    with psycopg.connect(pg.dsn("teller_faults")) as db:
        voted = Counter(
            voter for (voter,) in db.execute(
                "SELECT voter_id FROM elections_participation WHERE poll_id = %s", [world["poll"]]
            )
        )  # fmt: skip
        boxed = Counter(
            digest for (digest,) in db.execute(
                "SELECT receipt_digest FROM elections_inboxballot WHERE poll_id = %s",
                [world["poll"]],
            )
        )  # fmt: skip
    for voter, receipt in acked.items():
        assert voted[voter] == 1, f"voter {voter} was given a receipt but has no participation"
        assert boxed[receipt_digest(receipt)] == 1, f"voter {voter}'s receipted ballot is gone"
    for voter in lost_replies:
        assert voted[voter] == 1
    assert set(voted) == set(world["voters"]), "everyone has voted, once"
    assert sum(boxed.values()) == sum(voted.values()) == VOTERS, "no half-written vote"
