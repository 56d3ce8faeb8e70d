"""The audit trail: every state change recorded, chained, and checkable."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from elections.models import AuditEvent, Method
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of


def _run_a_contest(alice, sam, make_contest):  # type: ignore[no-untyped-def]
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    poll.close(by=sam)
    poll.count(by=sam)
    contest.declare(by=sam)
    return contest


@pytest.mark.django_db
def test_it_records_every_state_change_with_who_did_it(alice, sam, make_contest):
    contest = _run_a_contest(alice, sam, make_contest)
    actions = list(
        AuditEvent.objects.filter(contest_id=contest.pk).values_list("action", flat=True)
    )
    assert actions == [
        "contest.nominations_opened",
        "candidate.added",
        "candidate.added",
        "candidate.added",
        "contest.ballot_finalised",
        "poll.scheduled",
        "poll.opened",
        "poll.closed",
        "poll.counted",
        "contest.declared",
    ]
    declared = AuditEvent.objects.get(action="contest.declared")
    assert declared.actor_id == sam.pk
    assert declared.data["from"] == "counted"
    assert declared.data["to"] == "declared"


@pytest.mark.django_db
def test_it_never_records_a_single_vote(alice, make_contest):
    contest = make_contest(Method.PLURALITY)
    before = AuditEvent.objects.count()
    cast_ballot(poll_of(contest).pk, alice, [candidate_ids(contest)["Ann Archer"]])
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_verify_audit_passes_on_an_intact_chain(alice, sam, make_contest, capsys):
    _run_a_contest(alice, sam, make_contest)
    call_command("verify_audit")
    assert "Audit chain verified: 10 events" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_model_refuses_to_edit_or_delete_an_event(alice, sam, make_contest):
    _run_a_contest(alice, sam, make_contest)
    event = AuditEvent.objects.first()
    event.reason = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def _sql(statement: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only a superuser can step round the append-only trigger.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(statement, params)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement,params,problem",
    [
        (
            "UPDATE elections_auditevent SET actor_label = %s WHERE seq = %s",
            ["Mallory", 6],
            "contents do not match",
        ),
        (
            "UPDATE elections_auditevent SET data = %s WHERE seq = %s",
            ['{"to": "declared"}', 6],
            "contents do not match",
        ),
        ("DELETE FROM elections_auditevent WHERE seq = %s", [6], "one is missing"),
    ],
    ids=["actor", "data", "deleted"],
)
def test_verify_audit_names_the_first_event_edited_by_sql(
    alice, sam, make_contest, statement, params, problem
):
    _run_a_contest(alice, sam, make_contest)
    with transaction.atomic():
        _sql(statement, params)
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    assert "event #6" in str(failure.value)
    assert problem in str(failure.value)


@pytest.mark.django_db
def test_verify_audit_catches_a_rechained_forgery(alice, sam, make_contest):
    """A forger who fixes an event's own digest still breaks the next link."""
    _run_a_contest(alice, sam, make_contest)
    forged = AuditEvent.objects.get(seq=4)
    forged.actor_label = "Mallory"
    with transaction.atomic():
        _sql(
            "UPDATE elections_auditevent SET actor_label = %s, digest = %s WHERE seq = %s",
            ["Mallory", forged.compute_digest(), 4],
        )
    with pytest.raises(CommandError, match="event #5: its link to the previous event"):
        call_command("verify_audit")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_itself_refuses_to_update_an_event(alice, sam, make_contest):
    _run_a_contest(alice, sam, make_contest)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE elections_auditevent SET reason = 'x' WHERE seq = 1")
    call_command("verify_audit")
