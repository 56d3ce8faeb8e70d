"""Applying a roll import: elections.services.roll (queries, races, refusals)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from elections.exceptions import NotAllowed
from elections.models import AuditEvent, Membership
from elections.roll_import import parse_roll
from elections.services.roll import (
    AlreadyApplied,
    RollChanged,
    apply_import,
    apply_rows,
    existing_for,
    preview_import,
)
from tests.roll.conftest import csv_text


def parsed_roll(*lines: str):  # type: ignore[no-untyped-def]
    parsed = parse_roll(csv_text(*lines).encode())
    assert parsed.ok, parsed.errors
    return parsed


def people(n: int, start: int = 0) -> list[str]:
    return [f"Member {i},m{i}@example.org,Ward {i % 5}," for i in range(start, start + n)]


@pytest.mark.django_db
def test_it_reads_the_roll_in_one_query(body, alice, bob, charlie, django_assert_num_queries):
    # An address stored in mixed case (made in the admin) still matches.
    mixed = User.objects.create_user("Mixed.Case@Example.org", None, full_name="Mixed")
    Membership.objects.filter(user=bob).update(active=False)
    with django_assert_num_queries(1):
        found = existing_for(body, [charlie.email, "mixed.case@example.org", "nobody@x.org"])
    by_email = {p.email: p for p in found}
    assert set(by_email) == {alice.email, bob.email, charlie.email, "mixed.case@example.org"}
    assert by_email[alice.email].active and by_email[alice.email].membership_id
    assert not by_email[bob.email].active
    assert by_email[charlie.email].membership_id is None  # a member elsewhere only
    assert by_email["mixed.case@example.org"].user_id == mixed.pk


def reimport_queries(target, n: int, start: int) -> int:  # type: ignore[no-untyped-def]
    """Queries for a re-import where n people change ward, n leave and n join."""
    admin, _ = User.objects.get_or_create(email="root@example.org", is_superuser=True)
    apply_rows(target, by=admin, rows=parsed_roll(*people(2 * n, start)).rows, import_id="a")
    moved = [line.replace("Ward", "New ward") for line in people(n, start)]
    rows = parsed_roll(*moved, *people(n, start + 2 * n)).rows
    with CaptureQueriesContext(connection) as captured:
        result = apply_rows(target, by=admin, rows=rows, import_id="b")
    assert (result.updated, result.left, result.joined) == (n, n, n)
    return len(captured)


@pytest.mark.django_db
def test_applying_takes_the_same_number_of_queries_for_10_or_60_people(body, other_body):
    # 60: under SQLite's 999 parameters per statement, which cap its batches.
    assert reimport_queries(body, 10, 0) == reimport_queries(other_body, 60, 1000)


@pytest.mark.postgres
@pytest.mark.django_db
def test_applying_takes_the_same_number_of_queries_for_10_or_900_people(body, other_body):
    # 900: under the 1,000 a notification batch holds, so only the size differs.
    assert reimport_queries(body, 10, 0) == reimport_queries(other_body, 900, 1000)


@pytest.mark.django_db
def test_only_the_secretary_may(body, alice, olive, charlie):
    parsed = parsed_roll(*people(2))
    for who in (alice, olive, charlie):
        with pytest.raises(NotAllowed):
            preview_import(body, by=who, parsed=parsed)
        with pytest.raises(NotAllowed):
            apply_rows(body, by=who, rows=parsed.rows, import_id="x")
    assert not User.objects.filter(email__startswith="m0@").exists()


@pytest.mark.django_db
def test_a_preview_made_before_another_import_applied_is_refused(body, sam, alice):
    first = preview_import(body, by=sam, parsed=parsed_roll(*people(3)))
    second = preview_import(body, by=sam, parsed=parsed_roll(*people(4)))
    apply_import(body, by=sam, token=first.token)
    # The second plan was to add four and remove Alice; now it would add one.
    with pytest.raises(RollChanged):
        apply_import(body, by=sam, token=second.token)
    assert Membership.objects.filter(body=body, role="member", active=True).count() == 3


@pytest.mark.django_db
def test_the_audit_event_names_the_import_and_the_chain_holds(body, sam):
    from elections.models.audit import verify_chain

    preview = preview_import(body, by=sam, parsed=parsed_roll(*people(5)), filename="may.csv")
    result = apply_import(body, by=sam, token=preview.token)
    event = AuditEvent.objects.get(seq=result.audit_seq)
    assert event.action == "roll.imported" and event.reason == "Roll imported from may.csv"
    assert len(event.data["import_id"]) > 10 and len(event.data["file_sha256"]) == 64
    assert verify_chain() is None
    with pytest.raises(AlreadyApplied):
        apply_rows(body, by=sam, rows=[], import_id=event.data["import_id"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_applies_of_one_preview_apply_once(body, sam, alice) -> None:
    preview = preview_import(body, by=sam, parsed=parsed_roll(*people(200)))
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def submit() -> None:
        try:
            start.wait()
            outcomes.append(apply_import(body, by=sam, token=preview.token))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyApplied", "ImportResult"]
    assert AuditEvent.objects.filter(action="roll.imported").count() == 1
    assert User.objects.filter(email__endswith="@example.org", email__startswith="m").count() == 200
    assert Membership.objects.filter(body=body, role="member", active=True).count() == 200
