"""No notice, email or task message carries ballot choices or who voted for whom."""

from __future__ import annotations

import inspect
import json

import pytest
from django.db import transaction

from elections.delivery import deliver_pending
from elections.models import (
    Ballot,
    InboxBallot,
    Notification,
    NotificationKind,
    NotificationMute,
    Participation,
)
from elections.notifications import notify
from elections.services.casting import cast_ballot
from elections.tasks import deliver_notifications_task
from tests.conftest import candidate_ids


def test_no_notification_field_reaches_a_ballot():
    for model in (Notification, NotificationMute):
        for field in model._meta.get_fields():
            assert field.related_model not in (Ballot, InboxBallot, Participation), field
            assert "choice" not in field.name and "ballot" not in field.name, field


def test_the_task_message_carries_nothing():
    assert inspect.signature(deliver_notifications_task.run).parameters == {}


@pytest.mark.django_db
def test_notices_and_emails_of_a_poll_hold_no_choices(
    contest,
    poll,
    alice,
    bob,
    sam,
    counting_backend,
    mailoutbox,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    queued = []
    monkeypatch.setattr(
        deliver_notifications_task, "delay", lambda *a, **kw: queued.append((a, kw))
    )
    ids = candidate_ids(contest)
    receipts = [
        cast_ballot(poll.pk, alice, [ids["Ann Archer"]]),
        cast_ballot(poll.pk, bob, [ids["Cat Carter"]]),
    ]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(
            [alice, bob],
            NotificationKind.RULING_ISSUED,
            contest=contest,
            context={"decision": "Upheld", "reason": "The count was in order."},
        )
    poll.close(by=sam)
    deliver_pending()

    assert Notification.objects.exists() and mailoutbox
    for notice in Notification.objects.all():
        text = json.dumps(notice.context).lower()
        assert "choice" not in text and "ballot" not in text and "receipt" not in text
    ballot_ids = [str(b) for b in Ballot.objects.values_list("id", flat=True)]
    for message in mailoutbox:
        parts = [message.subject, message.body, message.alternatives[0].content]
        for part in parts:
            for secret in (*receipts, *ballot_ids):
                assert secret not in part
    # Whatever was queued for Celery carried no arguments at all.
    assert queued == [((), {})]
