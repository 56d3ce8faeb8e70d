"""config.prepared: a query compiled once gives what the ORM gives, for any ids."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from config.prepared import PreparedQuery
from elections.models import Membership, Method, Poll


def _members_of(body_id: int, user_id: int):  # type: ignore[no-untyped-def]
    return User.objects.filter(pk=user_id).annotate(
        in_body=Exists(Membership.objects.filter(user=OuterRef("pk"), body_id=body_id))
    )


@pytest.mark.django_db
def test_it_answers_as_the_orm_does_for_each_set_of_ids(alice, charlie, body, other_body):
    prepared = PreparedQuery(_members_of, "body_id", "user_id")
    for user in (alice, charlie):
        for b in (body, other_body):
            [expected] = _members_of(b.pk, user.pk)
            [got] = prepared.run(body_id=b.pk, user_id=user.pk)
            assert (got.pk, got.in_body) == (expected.pk, expected.in_body)
            assert got.email == user.email
    assert list(prepared.run(body_id=body.pk, user_id=-1)) == []


@pytest.mark.django_db
def test_it_refuses_an_id_that_never_reaches_the_sql():
    prepared = PreparedQuery(
        lambda user_id, unused: User.objects.filter(pk=user_id), "user_id", "unused"
    )
    with pytest.raises(ValueError, match="unused"):
        list(prepared.run(user_id=1, unused=2))


@pytest.mark.django_db
@pytest.mark.postgres
def test_for_share_locks_the_rows_on_postgres(alice):
    prepared = PreparedQuery(
        lambda user_id: User.objects.filter(pk=user_id), "user_id", for_share=True
    )
    with CaptureQueriesContext(connection) as queries:
        assert [u.pk for u in prepared.run(user_id=alice.pk)] == [alice.pk]
    assert queries.captured_queries[-1]["sql"].endswith('FOR SHARE OF "accounts_user"')


def _poll_with_contest(poll_id: int):  # type: ignore[no-untyped-def]
    return Poll.objects.filter(pk=poll_id)


@pytest.mark.django_db
def test_related_objects_come_in_the_same_statement(make_contest):
    contest = make_contest(Method.STV, seats=2)
    poll = contest.polls.get()
    expected = contest.rules
    # Named out of the models' field order: the values must still land right.
    prepared = PreparedQuery(
        _poll_with_contest,
        "poll_id",
        related={
            "contest": ("title", "state", "rules"),
            "contest__rules": ("proxy_allowed", "seats", "abstention_allowed", "method"),
        },
    )
    with CaptureQueriesContext(connection) as queries:
        [got] = prepared.run(poll_id=poll.pk)
        rules = got.contest.rules
        assert (got.contest.pk, got.contest.title, got.contest.state) == (
            contest.pk, contest.title, contest.state,
        )  # fmt: skip
        assert (rules.method, rules.seats, rules.abstention_allowed, rules.proxy_allowed) == (
            Method.STV, 2, expected.abstention_allowed, expected.proxy_allowed,
        )  # fmt: skip
    assert len(queries.captured_queries) == 1
    # A field not named is deferred: reading it works, with a query of its own.
    with CaptureQueriesContext(connection) as queries:
        assert got.contest.body_id == contest.body_id
    assert len(queries.captured_queries) == 1


@pytest.mark.django_db
def test_a_related_name_that_is_not_a_field_is_refused(make_contest):
    poll = make_contest(Method.PLURALITY).polls.get()
    prepared = PreparedQuery(_poll_with_contest, "poll_id", related={"contest": ("colour",)})
    with pytest.raises(Exception, match="colour"):
        prepared.run(poll_id=poll.pk)


@pytest.mark.django_db
def test_a_datetime_slot_takes_each_instant_given(make_contest):
    poll = make_contest(Method.PLURALITY).polls.get()
    prepared = PreparedQuery(
        lambda poll_id, now: Poll.objects.filter(pk=poll_id, opens_at__lte=now),
        "poll_id",
        datetimes=("now",),
    )
    assert prepared.run(poll_id=poll.pk, now=poll.opens_at) == [poll]
    assert prepared.run(poll_id=poll.pk, now=poll.opens_at - timedelta(seconds=1)) == []


@pytest.mark.django_db
def test_a_query_can_run_inside_a_larger_statement(alice, body):
    prepared = PreparedQuery(_members_of, "body_id", "user_id")
    [got] = prepared.run_within(
        "SELECT q.*, said FROM ({query}) q, (SELECT %s AS said) s",
        ["hello"],
        body_id=body.pk,
        user_id=alice.pk,
    )
    assert (got.pk, got.email, got.said) == (alice.pk, alice.email, "hello")
    assert got.in_body


def _prepared_statements() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        return cursor.fetchall()


@pytest.mark.django_db
@pytest.mark.postgres
def test_postgres_prepares_it_once_and_plans_it_once(alice, body):
    prepared = PreparedQuery(_members_of, "body_id", "user_id")
    for _ in range(8):
        [row] = prepared.run(body_id=body.pk, user_id=alice.pk)
        assert row.in_body
    mine = [(text, generic) for text, generic in _prepared_statements() if '"in_body"' in text]
    assert len(mine) == 1, mine
    # After five custom plans PostgreSQL settles on one plan for every run.
    assert mine[0][1] >= 1


@pytest.mark.django_db
@pytest.mark.postgres
def test_on_postgres_it_reads_the_column_names_without_building_a_description(
    alice, body, monkeypatch
):
    # psycopg builds a Column object per column for `description`: a tenth of
    # the cost of naming the casting statement's seventeen columns from its result.
    def built(cursor: psycopg.Cursor) -> None:
        raise AssertionError("the cursor's description was built")

    monkeypatch.setattr(psycopg.Cursor, "description", property(built))
    prepared = PreparedQuery(_members_of, "body_id", "user_id")
    [row] = prepared.run(body_id=body.pk, user_id=alice.pk)
    assert (row.pk, row.in_body, row.email) == (alice.pk, True, alice.email)
    assert prepared.run(body_id=body.pk, user_id=-1) == []


@pytest.mark.django_db
@pytest.mark.postgres
def test_with_preparing_off_it_runs_unprepared(alice, body, monkeypatch):
    # DB_PREPARED_STATEMENTS=0 (for PgBouncer without prepared statements) sets this.
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    prepared = PreparedQuery(_members_of, "body_id", "user_id")
    for _ in range(3):
        assert prepared.run(body_id=body.pk, user_id=alice.pk)[0].in_body
    assert not [text for text, _ in _prepared_statements() if '"in_body"' in text]


@pytest.mark.django_db
def test_the_query_log_shows_it_with_its_values(alice, body):
    prepared = PreparedQuery(_members_of, "body_id", "user_id")
    with CaptureQueriesContext(connection) as queries:
        prepared.run(body_id=body.pk, user_id=alice.pk)
    [logged] = queries.captured_queries
    assert f"= {alice.pk}" in logged["sql"] and "%s" not in logged["sql"]
