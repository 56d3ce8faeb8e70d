"""deliver_pending(): each notice sent once, in batches over one connection,
retried with backoff, given up on at the limit with the reason kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from elections.delivery import deliver_all, deliver_pending, recover_stuck
from elections.models import Notification, NotificationKind, NotificationStatus
from elections.notifications import notify
from elections.tasks import deliver_notifications_task
from tests.notifications.backends import CountingBackend

SITE = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.TELLER_NOTIFY_MAX_ATTEMPTS = 5
    settings.TELLER_NOTIFY_BACKOFF_SECONDS = 60
    settings.TELLER_NOTIFY_BACKOFF_MAX_SECONDS = 3600


@pytest.mark.django_db
def test_it_sends_each_notice_once_with_text_and_html(
    contest, poll, alice, bob, counting_backend, mailoutbox
):
    notify([alice, bob], NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)

    report = deliver_pending()

    assert (report.claimed, report.sent, report.failed) == (2, 2, 0)
    assert sorted(m.to[0] for m in mailoutbox) == sorted([alice.email, bob.email])
    link = f"{SITE}{reverse('ballot', args=[poll.pk])}"
    for message in mailoutbox:
        assert contest.title in message.subject
        assert contest.title in message.body and link in message.body
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html"
        assert contest.title in html and f'href="{link}"' in html
    for row in Notification.objects.all():
        assert row.status == NotificationStatus.SENT and row.sent_at is not None
    # Run again: nothing is due, nothing goes twice.
    assert deliver_pending().claimed == 0
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_it_links_other_notices_to_the_contest_page(contest, alice, counting_backend, mailoutbox):
    notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
    deliver_pending()
    [message] = mailoutbox
    assert f"{SITE}{reverse('contest', args=[contest.pk])}" in message.body


@pytest.mark.django_db
def test_it_opens_one_connection_per_batch(contest, make_members, counting_backend, mailoutbox):
    members = make_members(5)
    notify(members, NotificationKind.RESULT_DECLARED, contest=contest)

    report = deliver_pending(batch_size=2)

    assert report.batches == 3 and report.sent == 5
    assert counting_backend.opens == 3
    assert len(mailoutbox) == 5


@pytest.mark.django_db
def test_a_notice_that_fails_twice_is_sent_once_after_backoff(
    contest, alice, use_backend, mailoutbox
):
    use_backend("FlakyBackend")  # refuses the first two sends
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)

        assert deliver_pending().retrying == 1
        row = Notification.objects.get()
        assert row.status == NotificationStatus.PENDING and row.attempts == 1
        assert "451" in row.last_error
        assert row.next_attempt_at == timezone.now() + timedelta(minutes=2)

        clock.shift(timedelta(minutes=1))
        assert deliver_pending().claimed == 0  # not due yet

        clock.shift(timedelta(minutes=1, seconds=1))
        assert deliver_pending().retrying == 1
        row.refresh_from_db()
        assert row.attempts == 2
        assert row.next_attempt_at == timezone.now() + timedelta(minutes=4)

        clock.shift(timedelta(minutes=4))
        assert deliver_pending().sent == 1

    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT and row.last_error == ""
    assert len(mailoutbox) == 1
    assert CountingBackend.sends == 3


@pytest.mark.django_db
def test_a_notice_that_always_fails_stops_at_the_limit(
    contest, alice, use_backend, mailoutbox, settings
):
    settings.TELLER_NOTIFY_MAX_ATTEMPTS = 3
    use_backend("RefusingBackend")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
        for _ in range(6):
            deliver_pending()
            clock.shift(timedelta(hours=2))

    row = Notification.objects.get()
    assert row.status == NotificationStatus.FAILED
    assert row.attempts == 3
    assert row.last_error.startswith("Gave up after 3 attempts.")
    assert "550" in row.last_error and "Mailbox unavailable" in row.last_error
    assert CountingBackend.sends == 3
    assert mailoutbox == []


@pytest.mark.django_db
def test_the_backoff_is_capped(contest, alice, use_backend, settings):
    settings.TELLER_NOTIFY_MAX_ATTEMPTS = 20
    settings.TELLER_NOTIFY_BACKOFF_MAX_SECONDS = 600
    use_backend("RefusingBackend")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
        for _ in range(6):
            deliver_pending()
            clock.shift(timedelta(hours=1))
        deliver_pending()
        row = Notification.objects.get()
        assert row.next_attempt_at == timezone.now() + timedelta(minutes=10)


@pytest.mark.django_db
def test_an_unreachable_server_defers_the_whole_batch(contest, alice, bob, use_backend, mailoutbox):
    use_backend("UnreachableBackend")
    notify([alice, bob], NotificationKind.RESULT_DECLARED, contest=contest)

    report = deliver_pending()

    assert report.retrying == 2 and report.sent == 0
    for row in Notification.objects.all():
        assert row.status == NotificationStatus.PENDING and row.attempts == 1
        assert row.last_error.startswith("Could not connect to the mail server")
    assert mailoutbox == []


@pytest.mark.django_db
def test_one_bad_notice_does_not_stop_the_batch(contest, alice, bob, counting_backend, mailoutbox):
    notify([alice, bob], NotificationKind.RESULT_DECLARED, contest=contest)
    alice.email = ""
    alice.save(update_fields=["email"])

    report = deliver_pending()

    assert (report.sent, report.failed) == (1, 1)
    assert [m.to for m in mailoutbox] == [[bob.email]]
    row = Notification.objects.get(user=alice)
    assert row.status == NotificationStatus.FAILED
    assert "no email address" in row.last_error


@pytest.mark.django_db
def test_a_notice_stuck_in_sending_is_recovered(contest, alice, bob, counting_backend, mailoutbox):
    notify([alice, bob], NotificationKind.RESULT_DECLARED, contest=contest)
    now = timezone.now()
    # alice's was taken by a worker that died an hour ago; bob's by one
    # that is still sending, a moment ago, and must be left to it.
    Notification.objects.filter(user=alice).update(
        status=NotificationStatus.SENDING, claimed_at=now - timedelta(hours=1)
    )
    Notification.objects.filter(user=bob).update(
        status=NotificationStatus.SENDING, claimed_at=now - timedelta(seconds=5)
    )

    report = deliver_pending()

    assert report.recovered == 1 and report.sent == 1
    assert [m.to for m in mailoutbox] == [[alice.email]]
    row = Notification.objects.get(user=alice)
    assert row.status == NotificationStatus.SENT and row.attempts == 1
    assert Notification.objects.get(user=bob).status == NotificationStatus.SENDING


@pytest.mark.django_db
def test_a_notice_that_keeps_killing_its_worker_is_given_up(contest, alice, settings):
    settings.TELLER_NOTIFY_MAX_ATTEMPTS = 2
    notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
    long_ago = timezone.now() - timedelta(hours=1)
    for _ in range(2):
        Notification.objects.update(status=NotificationStatus.SENDING, claimed_at=long_ago)
        recover_stuck()
    row = Notification.objects.get()
    assert row.status == NotificationStatus.FAILED and row.attempts == 2
    assert "interrupted" in row.last_error


@pytest.mark.django_db
def test_it_stops_after_its_batch_limit_and_says_more_is_due(
    contest, make_members, counting_backend, mailoutbox
):
    notify(make_members(5), NotificationKind.RESULT_DECLARED, contest=contest)

    report = deliver_pending(batch_size=2, max_batches=1)
    assert (report.sent, report.more) == (2, True)

    assert deliver_all(batch_size=2).sent == 3
    assert len(mailoutbox) == 5


@pytest.mark.django_db
def test_the_task_delivers_what_is_due(contest, alice, counting_backend, mailoutbox):
    notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
    result = deliver_notifications_task.delay()  # eager in tests
    assert result.get()["sent"] == 1
    assert len(mailoutbox) == 1
    # Run twice: it is idempotent.
    assert deliver_notifications_task.delay().get()["sent"] == 0


@pytest.mark.django_db
def test_notices_are_delivered_once_their_event_commits(
    contest, alice, counting_backend, mailoutbox, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify([alice], NotificationKind.RESULT_DECLARED, contest=contest)
        assert mailoutbox == []  # nothing leaves before the commit

    assert [m.to for m in mailoutbox] == [[alice.email]]


@pytest.mark.django_db
def test_a_batch_loads_each_contest_and_poll_once(
    contest, poll, make_members, django_assert_num_queries
):
    from elections.delivery import _load

    members = make_members(5)
    notify(members, NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)
    notify(members[:2], NotificationKind.RULING_ISSUED, dedupe="ruling:1")
    Notification.objects.update(status=NotificationStatus.SENDING)
    ids = list(Notification.objects.values_list("id", flat=True))

    # The rows with their members, the contests with their bodies, the polls.
    with django_assert_num_queries(3):
        rows = _load(ids)
        seen = {(r.user.email, r.contest and r.contest.body.name, r.poll and r.poll.number)
                for r in rows}  # fmt: skip

    assert len(seen) == 7
    assert len({id(r.contest) for r in rows if r.contest}) == 1
    assert [r.contest for r in rows if r.kind == NotificationKind.RULING_ISSUED] == [None, None]
