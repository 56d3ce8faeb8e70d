"""A whole contest through the real pages, then a search of everything it left.

Thirty councillors rank five candidates by the alternative vote, each in a
different order, through the ballot page. The secretary closes, counts and
declares through theirs; notices are delivered; voters check their receipts.
Then every place the design says must not link a voter to a ballot is
searched: every table of the database (PostgreSQL's hidden columns
included), the sessions, the cache, every log record, every audit event,
every email and every task message.

The candidates' ids are numbers nothing else in the database will be, so a
ranking written anywhere outside the ballot box is found by its run of ids.
"""

from __future__ import annotations

import itertools
import json
import logging
import pickle
from collections import Counter
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.urls import reverse

from elections.models import (
    AuditEvent,
    Ballot,
    ContestState,
    InboxBallot,
    Method,
    PollStatus,
)
from elections.services import mixer
from elections.services.receipts import receipt_digest
from elections.views import receipt_page
from tests.secrecy.conftest import TaskMessage
from tests.secrecy.helpers import (
    cast_through_the_page,
    every_row,
    id_run,
    make_councillors,
    open_contest,
    ranked_fields,
)

NAMES = ("Anwen Lloyd", "Berwyn Hale", "Caron Price", "Deiniol Rowe", "Efa Thomas")
IDS = (7_310_041, 7_310_042, 7_310_043, 7_310_044, 7_310_045)
VOTERS = 30
# Thirty different full rankings, spread over the 120 there are.
RANKINGS = [list(p) for p in itertools.permutations(IDS)][::4][:VOTERS]


def _cast_everyone(client: Any, poll: Any, voters: list[Any]) -> list[tuple[Any, list[int], str]]:
    cast = []
    for voter, ranking in zip(voters, RANKINGS, strict=True):
        client.force_login(voter)
        cast.append(
            (voter, ranking, cast_through_the_page(client, poll, ranked_fields(poll, ranking)))
        )
    return cast


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_whole_contest_leaves_nothing_linking_a_voter_to_a_ballot(
    client: Any,
    body: Any,
    sam: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    mailoutbox: list[Any],
    task_messages: list[TaskMessage],
) -> None:
    settings.TELLER_MIX_BATCH_MIN = 300  # a small roll: nothing is mixed before the close
    voters = make_councillors(body, VOTERS)
    contest, poll = open_contest(body, sam, Method.AV, NAMES, IDS)
    caplog.set_level(logging.DEBUG)

    # --- voting, with Django at its most talkative --------------------------
    settings.DEBUG = True
    cast = _cast_everyone(client, poll, voters)
    settings.DEBUG = False
    assert InboxBallot.objects.filter(poll=poll).count() == VOTERS
    assert not Ballot.objects.exists(), "a small roll mixes only at the close"

    # --- close, count, declare, tell everyone, check receipts ---------------
    client.force_login(sam)
    for action in ("close-poll", "count", "declare"):
        response = client.post(reverse("transition", args=[contest.pk, action]))
        assert response.status_code == 302, action
    contest.refresh_from_db()
    poll.refresh_from_db()
    assert contest.state == ContestState.DECLARED and poll.status == PollStatus.COUNTED
    assert poll.result["ballots_counted"] == VOTERS
    from elections.tasks import deliver_notifications_task

    deliver_notifications_task.delay()
    assert mailoutbox, "the close and the declaration were notified by email"
    for voter, _, receipt in cast[:3]:
        client.force_login(voter)
        page = client.post(reverse("receipt_check", args=[contest.pk]), {"code": receipt})
        assert "counted" in page.content.decode().lower()

    ballot_ids = [str(pk) for pk in Ballot.objects.values_list("id", flat=True)]
    receipts = [receipt for _, _, receipt in cast]
    digests = [receipt_digest(receipt) for receipt in receipts]
    runs = {voter.pk: id_run(ranking) for voter, ranking, _ in cast}
    secrets = [*ballot_ids, *receipts, *digests, *(r.replace("-", "") for r in receipts)]
    assert sorted(Ballot.objects.values_list("receipt_digest", flat=True)) == sorted(digests)

    # --- every table, every row ----------------------------------------------
    rows = every_row()
    for row in rows:
        if row.table == "elections_ballot":
            continue
        assert not [s for s in secrets if s in row.text], f"{row.table}: {row.text[:300]}"
        assert not [v for v, run in runs.items() if run.search(row.text)], (
            f"a voter's ranking in {row.table}: {row.text[:300]}"
        )
    assert not [r for r in rows if r.table == "elections_inboxballot"], "the inbox is empty"

    # --- hidden columns: who wrote a row, and where it sits ------------------
    ballot_rows = [r for r in rows if r.table == "elections_ballot"]
    voted_rows = [r for r in rows if r.table == "elections_participation"]
    ballot_xmins = {r.xmin for r in ballot_rows}
    voted_xmins = {r.xmin for r in voted_rows}
    assert len(voted_xmins) == VOTERS, "each vote was its own transaction"
    assert not ballot_xmins & voted_xmins
    assert not {r.xmax for r in ballot_rows} & voted_xmins
    # The casting transaction left nothing else behind that could be joined on
    # its id, and the mixing transaction wrote nothing but ballots.
    for row in rows:
        if row.table != "elections_participation":
            assert row.xmin not in voted_xmins, f"{row.table} shares a voter's transaction"
        if row.table != "elections_ballot":
            assert row.xmin not in ballot_xmins, f"{row.table} shares the mixer's transaction"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT receipt_digest FROM elections_ballot WHERE poll_id = %s ORDER BY ctid",
            [poll.pk],
        )
        on_disk = [digest for (digest,) in cursor.fetchall()]
    assert sorted(on_disk) == sorted(digests)
    assert on_disk != digests, "the box on disk is in the order the votes were cast"
    assert on_disk != digests[::-1], "the box on disk is in the reverse order of casting"

    # --- sessions and the cache ----------------------------------------------
    for session in Session.objects.all():
        data = json.dumps(SessionStore().decode(session.session_data), default=str)
        assert not [s for s in secrets if s in data] and not any(
            run.search(data) for run in runs.values()
        )
    for key, value in _cache_contents(caches["default"]):
        text = f"{key} {value!r}"
        assert not [s for s in secrets if s in text]
        assert not any(run.search(text) for run in runs.values())
    # The receipt pages this process keeps (elections/views/receipt_page.py).
    kept = repr(receipt_page._PAGES)
    assert receipt_page._PAGES and not [s for s in secrets if s in kept]

    # --- logs -------------------------------------------------------------------
    assert caplog.records
    for record in caplog.records:
        line = " ".join(
            [
                record.getMessage(),
                logging.Formatter().format(record),
                repr(record.args),
                repr(vars(record)),
            ]
        )
        assert not [s for s in secrets if s in line], line[:500]
        assert not any(run.search(line) for run in runs.values()), line[:500]
        assert not [i for i in IDS if str(i) in line], f"a candidate id was logged: {line[:500]}"

    # --- audit events ---------------------------------------------------------
    events = list(AuditEvent.objects.all())
    assert {"poll.closed", "poll.counted"} <= {e.action for e in events}
    for event in events:
        text = json.dumps(event.payload(), default=str)
        assert not [s for s in secrets if s in text], text[:500]
        assert not any(run.search(text) for run in runs.values()), text[:500]
    assert not [e for e in events if e.action.startswith(("ballot", "vote", "cast"))], (
        "casting a single ballot is never audited"
    )

    # --- emails ----------------------------------------------------------------
    paper = poll.ballot_paper()
    by_address = {voter.email: ranking for voter, ranking, _ in cast}
    for message in mailoutbox:
        parts = [message.subject, message.body, *(c for c, _ in message.alternatives)]
        text = "\n".join(str(p) for p in parts)
        assert not [s for s in secrets if s in text], text[:500]
        assert not [i for i in IDS if str(i) in text], "a candidate id in an email"
        for address in message.to:
            if address in by_address:
                # The lines the confirmation page showed this voter.
                lines = paper.describe(by_address[address])
                assert not all(line in text for line in lines[:2]), text[:500]

    # --- task messages ----------------------------------------------------------
    assert {m.name for m in task_messages} >= {"elections.deliver_notifications"}
    voter_ids = {voter.pk for voter in voters}
    for message in task_messages:
        body = json.dumps([message.args, message.kwargs], default=str)
        carries_ballot = any(s in body for s in secrets) or any(str(i) in body for i in IDS)
        assert not carries_ballot, f"{message.name} carries ballot content: {body}"
        carries_voter = bool(voter_ids & {a for a in message.args if isinstance(a, int)})
        assert not (carries_voter and carries_ballot)
        # Tasks take ids of polls or nothing: never a person and a ballot together.
        assert all(isinstance(a, int) for a in [*message.args, *message.kwargs.values()])
    assert Counter(m.name for m in task_messages)["elections.count_poll"] <= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_box_on_disk_is_in_the_mixers_shuffled_order(
    body: Any, sam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes the ctid order of the box say nothing about the casting
    order is the mixer's shuffle: the box lands on disk in exactly the order
    the mixer wrote it, so without the shuffle it would be the casting order."""
    from elections.services.casting import cast_ballot

    with connection.cursor() as cursor:
        # A fresh heap, so rows land on disk in the order they are inserted
        # (space freed by earlier tests could otherwise be reused out of order).
        cursor.execute("TRUNCATE elections_ballot")
    voters = make_councillors(body, VOTERS)
    ids_of = {
        "Shuffled": [7_310_051, 7_310_052, 7_310_053, 7_310_054, 7_310_055],
        "Unshuffled": [7_310_061, 7_310_062, 7_310_063, 7_310_064, 7_310_065],
    }

    def run(title: str, shuffle: Any) -> tuple[list[str], list[str], list[list[str]]]:
        contest, poll = open_contest(body, sam, Method.AV, NAMES, ids_of[title], title=title)
        ids = [c.pk for c in contest.candidates.order_by("position")]
        digests = [
            receipt_digest(cast_ballot(poll.pk, voter, ids[: 1 + n % 5]))
            for n, voter in enumerate(voters)
        ]
        written: list[list[str]] = []

        def spy(rows: list[Any]) -> None:
            shuffle(rows, digests)
            written.append([digest for _, _, digest in rows])

        monkeypatch.setattr(mixer, "_shuffle", spy)
        poll.close(by=sam)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT receipt_digest FROM elections_ballot WHERE poll_id = %s ORDER BY ctid",
                [poll.pk],
            )
            on_disk = [digest for (digest,) in cursor.fetchall()]
        return digests, on_disk, written

    real = mixer._shuffle
    cast_order, on_disk, written = run("Shuffled", lambda rows, _: real(rows))
    assert written == [on_disk], "the box is on disk in the order the mixer wrote it"
    assert on_disk != cast_order and on_disk != cast_order[::-1]

    # The same mixer with its shuffle replaced by "keep the casting order".
    def in_cast_order(rows: list[Any], digests: list[str]) -> None:
        rows.sort(key=lambda row: digests.index(row[2]))

    cast_order, on_disk, _ = run("Unshuffled", in_cast_order)
    assert on_disk == cast_order, "without the shuffle the disk would give the order away"


def test_sql_statements_are_never_logged_even_with_debug_on() -> None:
    """With DEBUG on, Django logs every statement with its parameters to
    `django.db.backends` at DEBUG level: the inbox INSERT would put a ballot's
    choices and receipt digest in the log next to the request. The logging
    settings hold that logger above DEBUG whatever LOG_LEVEL says."""
    assert logging.getLogger("django.db.backends").getEffectiveLevel() > logging.DEBUG


def _cache_contents(cache: Any) -> list[tuple[Any, Any]]:
    """Every key and value in the cache: Redis where REDIS_URL is set (as in
    CI), else the in-process LocMemCache."""
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client()
        serializer = cache._cache._serializer
        return [(k, serializer.loads(client.get(k))) for k in client.scan_iter()]
    return [
        (key, pickle.loads(value))  # noqa: S301 - our own test cache
        for key, value in getattr(cache, "_cache", {}).items()
    ]
