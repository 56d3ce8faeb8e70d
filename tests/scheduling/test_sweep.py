"""The sweep opens, reminds, closes and counts polls at their times."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from elections.models import AuditEvent, ContestState, Method, Poll, PollStatus, RollEntry
from elections.models.notifications import Notification, NotificationKind
from elections.services.casting import cast_ballot
from elections.services.schedule import send_reminders, sweep
from elections.tasks.polls import count_poll_task, sweep_polls_task
from tests.conftest import candidate_ids, poll_of


def _schedule(contest, sam, opens_in: timedelta, length: timedelta) -> Poll:  # type: ignore[no-untyped-def]
    now = timezone.now()
    return contest.schedule_poll(by=sam, opens_at=now + opens_in, closes_at=now + opens_in + length)


def _kinds(user) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(Notification.objects.filter(user=user).values_list("kind", flat=True))


@pytest.mark.django_db
def test_it_opens_and_closes_a_poll_at_its_times(alice, bob, sam, make_contest):
    contest = make_contest(Method.PLURALITY, open_poll=False)
    poll = _schedule(contest, sam, timedelta(hours=1), timedelta(hours=8))
    opens_at, closes_at = poll.opens_at, poll.closes_at

    assert sweep().opened == []
    with time_machine.travel(opens_at - timedelta(seconds=1), tick=False):
        assert sweep().opened == []
    with time_machine.travel(opens_at, tick=False):
        assert sweep().opened == [poll.pk]
        poll.refresh_from_db()
        assert poll.status == PollStatus.OPEN
        assert poll.opened_at == opens_at
        assert set(RollEntry.objects.filter(poll=poll).values_list("user", flat=True)) == {
            alice.pk,
            bob.pk,
        }
        assert _kinds(alice)[NotificationKind.BALLOT_OPEN] == 1
        cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    with time_machine.travel(closes_at - timedelta(seconds=1), tick=False):
        assert sweep().closed == []
    with time_machine.travel(closes_at, tick=False):
        report = sweep_polls_task()
        assert report["closed"] == [poll.pk]
    poll.refresh_from_db()
    contest.refresh_from_db()
    assert poll.status == PollStatus.COUNTED, "counting follows the close"
    assert poll.closed_at == closes_at
    assert contest.state == ContestState.COUNTED
    assert _kinds(sam)[NotificationKind.COUNT_READY] == 1
    assert _kinds(alice)[NotificationKind.POLL_CLOSED] == 1
    assert poll.result["ballots_counted"] == 1


@pytest.mark.django_db
def test_it_closes_a_poll_that_was_due_an_hour_ago(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    with time_machine.travel(poll.closes_at + timedelta(hours=1), tick=False):
        report = sweep(on_closed=count_poll_task)
    assert report.closed == [poll.pk]
    poll.refresh_from_db()
    assert poll.status == PollStatus.COUNTED
    assert poll.closes_at < poll.closed_at, "the plan and what happened are kept apart"


@pytest.mark.django_db
def test_a_sweep_run_twice_moves_each_poll_once(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY, open_poll=False)
    poll = poll_of(contest)
    assert sweep().opened == [poll.pk]
    assert sweep().opened == []
    assert AuditEvent.objects.filter(action="poll.opened").count() == 1
    assert _kinds(alice)[NotificationKind.BALLOT_OPEN] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_move_each_poll_once(make_members, sam, make_contest):
    voters = make_members(4)
    contests = [make_contest(Method.PLURALITY, open_poll=False) for _ in range(3)]
    barrier = threading.Barrier(2)
    reports = []

    def run() -> None:
        barrier.wait()
        try:
            reports.append(sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    opened = sorted(pk for report in reports for pk in report.opened)
    assert opened == sorted(poll_of(c).pk for c in contests)
    assert AuditEvent.objects.filter(action="poll.opened").count() == 3
    for voter in voters:
        assert _kinds(voter)[NotificationKind.BALLOT_OPEN] == 3


@pytest.mark.django_db
def test_one_failing_poll_does_not_stop_the_others(alice, sam, make_contest, monkeypatch):
    good = poll_of(make_contest(Method.PLURALITY, open_poll=False))
    bad = poll_of(make_contest(Method.PLURALITY, open_poll=False))
    real_open = Poll.open

    def flaky_open(self, *, by):  # type: ignore[no-untyped-def]
        if self.pk == bad.pk:
            raise RuntimeError("disk on fire")
        return real_open(self, by=by)

    monkeypatch.setattr(Poll, "open", flaky_open)
    report = sweep()
    assert report.opened == [good.pk]
    assert report.failed == [bad.pk]


@pytest.mark.django_db
def test_reminders_go_only_to_those_who_have_not_voted(make_members, sam, make_contest):
    voters = make_members(4)
    contest = make_contest(Method.PLURALITY, reminder_hours_before_close=4)
    poll = poll_of(contest)
    ann = candidate_ids(contest)["Ann Archer"]
    cast_ballot(poll.pk, voters[0], [ann])
    cast_ballot(poll.pk, voters[1], [ann])

    with time_machine.travel(poll.closes_at - timedelta(hours=4, seconds=1), tick=False):
        assert sweep().reminded == []
    with time_machine.travel(poll.closes_at - timedelta(hours=4), tick=False):
        assert sweep().reminded == [poll.pk]
        assert sweep().reminded == [], "once per poll"

    reminded = set(
        Notification.objects.filter(kind=NotificationKind.REMINDER).values_list("user", flat=True)
    )
    assert reminded == {voters[2].pk, voters[3].pk}


@pytest.mark.django_db
def test_the_reminder_never_reads_the_ballot_box(make_members, sam, make_contest):
    voters = make_members(3)
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    cast_ballot(poll.pk, voters[0], [candidate_ids(contest)["Ann Archer"]])
    with CaptureQueriesContext(connection) as queries:
        assert send_reminders(poll.pk) == 2
    sql = " ".join(q["sql"].lower() for q in queries.captured_queries)
    assert "elections_participation" in sql
    assert "elections_ballot" not in sql
    assert "elections_inboxballot" not in sql


@pytest.mark.django_db
def test_a_muted_reminder_is_not_sent_but_a_ballot_open_notice_is(alice, bob, sam, make_contest):
    from elections.models.notifications import NotificationMute

    NotificationMute.objects.create(user=alice, kind=NotificationKind.REMINDER)
    contest = make_contest(Method.PLURALITY)
    send_reminders(poll_of(contest).pk)
    assert _kinds(alice)[NotificationKind.REMINDER] == 0
    assert _kinds(alice)[NotificationKind.BALLOT_OPEN] == 1
    assert _kinds(bob)[NotificationKind.REMINDER] == 1


@pytest.mark.django_db
def test_an_exhaustive_ballot_runs_to_a_winner_over_rounds(make_members, sam, make_contest):
    names = ("Ann Archer", "Ben Baker", "Cat Carter", "Dev Dhillon", "Eve Evans")
    voters = make_members(15)
    contest = make_contest(
        Method.EXHAUSTIVE, names, open_poll=False, round_gap_hours=1, round_length_hours=6
    )
    ids = candidate_ids(contest)
    # Each voter's order of preference; with five candidates nobody has a majority at first.
    prefs = (
        [["Ann Archer", "Ben Baker", "Cat Carter", "Dev Dhillon", "Eve Evans"]] * 5
        + [["Ben Baker", "Cat Carter", "Ann Archer", "Dev Dhillon", "Eve Evans"]] * 4
        + [["Cat Carter", "Ben Baker", "Ann Archer", "Dev Dhillon", "Eve Evans"]] * 3
        + [["Dev Dhillon", "Cat Carter", "Ben Baker", "Ann Archer", "Eve Evans"]] * 2
        + [["Eve Evans", "Dev Dhillon", "Ben Baker", "Ann Archer", "Cat Carter"]] * 1
    )
    now = timezone.now()
    excluded: list[list[str]] = []
    for round_number in range(1, 6):
        contest.refresh_from_db()
        if contest.state == ContestState.COUNTED:
            break
        poll = contest.current_poll()
        assert poll.number == round_number
        now = max(now, poll.opens_at)
        with time_machine.travel(now, tick=False):
            assert sweep().opened == [poll.pk]
        standing = {ids_name for ids_name in poll.candidates.values_list("name", flat=True)}
        with time_machine.travel(now + timedelta(minutes=5), tick=False):
            for voter, order in zip(voters, prefs, strict=True):
                choice = next(name for name in order if name in standing)
                cast_ballot(poll.pk, voter, [ids[choice]])
        now = poll.closes_at
        with time_machine.travel(now, tick=False):
            sweep(on_closed=count_poll_task)
        poll.refresh_from_db()
        sheet = poll.result
        excluded.append([sheet["names"][c] for c in sheet["excluded"]])
    contest.refresh_from_db()
    assert contest.state == ContestState.COUNTED
    final = contest.current_poll()
    assert [final.result["names"][c] for c in final.result["elected"]] == ["Ben Baker"]
    assert excluded[:3] == [["Eve Evans"], ["Dev Dhillon"], ["Cat Carter"]]
    assert final.number == 4
    # Members were told of each new round.
    told = Notification.objects.filter(kind=NotificationKind.ROUND_SCHEDULED, user=voters[0])
    assert told.count() == 3
