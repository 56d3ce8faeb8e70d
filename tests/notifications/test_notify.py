"""notify(): rows written in the caller's transaction, once per person per event."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from accounts.models import User
from elections.models import Notification, NotificationKind, NotificationStatus, RollEntry
from elections.notifications import UnsafeNotification, notify

BALLOT_OPEN = NotificationKind.BALLOT_OPEN


@pytest.mark.django_db
def test_it_writes_one_pending_row_per_person(contest, poll, alice, bob):
    written = notify([alice, bob], BALLOT_OPEN, contest=contest, poll=poll)

    assert written == 2
    rows = Notification.objects.order_by("user__full_name")
    assert [r.user_id for r in rows] == [alice.pk, bob.pk]
    for row in rows:
        assert row.kind == BALLOT_OPEN
        assert row.status == NotificationStatus.PENDING
        assert row.contest_id == contest.pk and row.poll_id == poll.pk
        assert row.attempts == 0 and row.read_at is None and row.sent_at is None
        assert row.dedupe_key == f"ballot_open:poll:{poll.pk}"


@pytest.mark.django_db
def test_it_takes_ids_and_querysets(contest, poll, alice, bob, make_members):
    others = make_members(2)
    assert notify([alice.pk], BALLOT_OPEN, poll=poll, dedupe="a") == 1
    assert notify(RollEntry.objects.filter(poll=poll).values("user_id"), BALLOT_OPEN, poll=poll,
                  dedupe="b") == 2  # fmt: skip
    assert notify(User.objects.filter(pk__in=[o.pk for o in others]), BALLOT_OPEN, poll=poll,
                  dedupe="c") == 2  # fmt: skip
    assert notify(RollEntry.objects.filter(poll=poll).values_list("user_id", flat=True),
                  BALLOT_OPEN, poll=poll, dedupe="d") == 2  # fmt: skip
    # A poll alone is enough: the contest is the poll's.
    assert set(Notification.objects.values_list("contest_id", flat=True)) == {contest.pk}


@pytest.mark.django_db
def test_it_is_rolled_back_with_the_callers_transaction(
    contest, alice, bob, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify([alice, bob], NotificationKind.RESULT_DECLARED, contest=contest)
        raise RuntimeError("the event failed")

    assert not Notification.objects.exists()
    assert callbacks == []  # and nothing was queued for delivery


@pytest.mark.django_db
def test_it_queues_delivery_once_the_event_commits(
    contest, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
        assert Notification.objects.filter(user=alice).exists()

    assert len(callbacks) == 1


@pytest.mark.django_db
def test_the_same_event_never_notifies_a_person_twice(contest, alice, bob, make_members):
    kind = NotificationKind.RESULT_DECLARED
    assert notify([alice], kind, contest=contest) == 1
    assert notify([alice, bob], kind, contest=contest) == 1  # only bob is new
    assert notify([alice, bob, alice, bob.pk], kind, contest=contest) == 0
    assert Notification.objects.filter(kind=kind).count() == 2
    # Another event of the same kind is another notice.
    assert notify([alice], kind, contest=contest, dedupe="result_declared:again") == 1


@pytest.mark.django_db
def test_the_database_enforces_once_per_event(contest, alice):
    from django.db import IntegrityError

    notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
    row = Notification.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            user=alice, kind=row.kind, contest=contest, dedupe_key=row.dedupe_key
        )


@pytest.mark.django_db
def test_it_streams_a_large_roll_without_loading_users(
    contest, poll, monkeypatch, django_assert_max_num_queries
):
    people = User.objects.bulk_create(
        User(email=f"voter{i}@example.org", full_name=f"Voter {i}") for i in range(2500)
    )
    RollEntry.objects.bulk_create(RollEntry(poll=poll, user=p) for p in people)

    def no_instances(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("notify loaded a User instance")

    monkeypatch.setattr(User, "from_db", no_instances)
    # Batched, not a query per person: a few statements per 1,000 on PostgreSQL;
    # on SQLite Django splits each INSERT to stay under 999 bound parameters.
    with django_assert_max_num_queries(60):
        written = notify(
            User.objects.filter(pk__in=RollEntry.objects.filter(poll=poll).values("user_id")),
            NotificationKind.REMINDER,
            poll=poll,
        )
    assert written == 2500 + 2  # and alice and bob, who are on the roll too
    assert Notification.objects.count() == 2502


@pytest.mark.django_db
def test_it_refuses_ballot_content_in_its_context(contest, alice):
    for context in (
        {"choices": [1, 2]},
        {"round": 2, "detail": {"ballot": "x"}},
        {"rows": [{"receipt_code": "ABCD"}]},
    ):
        with pytest.raises(UnsafeNotification):
            notify([alice], NotificationKind.RULING_ISSUED, contest=contest, context=context)
    with pytest.raises(UnsafeNotification, match="small facts"):
        notify([alice], NotificationKind.RULING_ISSUED, contest=contest, context={"x": "y" * 3000})
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_it_keeps_small_facts(contest, alice):
    notify(
        [alice],
        NotificationKind.ROUND_SCHEDULED,
        contest=contest,
        context={"round": 2, "excluded": ["Cat Carter"]},
    )
    assert Notification.objects.get().context == {"round": 2, "excluded": ["Cat Carter"]}


@pytest.mark.django_db
def test_a_notice_about_no_contest_must_name_its_event(alice):
    with pytest.raises(UnsafeNotification, match="dedupe"):
        notify([alice], NotificationKind.INVITED)
    assert notify([alice], NotificationKind.INVITED, dedupe="invited:ashby") == 1
