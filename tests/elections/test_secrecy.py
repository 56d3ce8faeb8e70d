"""The secret ballot: nothing links a voter to a ballot."""

from __future__ import annotations

import logging
from http import HTTPStatus

import pytest
from django.conf import settings
from django.db import connection, models
from django.urls import reverse

from elections.models import Ballot, InboxBallot, Method, Participation
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of, receipt_shown


def test_it_keeps_no_voter_or_time_on_a_ballot():
    fields = {f.name: f for f in Ballot._meta.get_fields()}
    assert set(fields) == {"id", "poll", "choices", "receipt_digest"}
    for field in fields.values():
        assert not isinstance(field, models.DateTimeField | models.DateField | models.TimeField)
        assert not isinstance(field, models.AutoField | models.BigAutoField), "no sequential id"
        if field.is_relation:
            assert field.related_model is not None
            assert field.related_model._meta.label != settings.AUTH_USER_MODEL
    assert isinstance(fields["id"], models.UUIDField)
    # The only relation is to the poll, and the poll holds no user field.
    assert [f.name for f in fields.values() if f.is_relation] == ["poll"]
    poll_fields = fields["poll"].related_model._meta.concrete_fields
    assert not any(
        f.is_relation and f.related_model._meta.label == settings.AUTH_USER_MODEL
        for f in poll_fields
    )


@pytest.mark.django_db
def test_it_writes_no_choice_to_any_log_record(client, alice, make_contest, caplog, settings):
    settings.DEBUG = True  # the most talkative configuration
    contest = make_contest(Method.PLURALITY, ("Zebedee Quixotic", "Ysolde Pembrey"))
    poll = poll_of(contest)
    chosen = candidate_ids(contest)["Zebedee Quixotic"]
    client.force_login(alice)
    url = reverse("ballot", args=[poll.pk])
    data = {"paper": poll.ballot_paper().fingerprint, "choice": str(chosen)}
    with caplog.at_level(logging.DEBUG):
        client.post(url, {**data, "action": "review"})
        response = client.post(url, {**data, "action": "cast"})
        # and a refused second cast, which logs a 409
        client.post(url, {**data, "action": "cast"})
    assert response.status_code == HTTPStatus.OK
    receipt = receipt_shown(response.content.decode())
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {getattr(r, 'request', '')!r}"
        for r in caplog.records
    )
    assert caplog.records, "expected the request log to have captured something"
    for secret in ("Zebedee", f"[{chosen}]", f"'choice': '{chosen}'", receipt, "choices"):
        assert secret not in logged


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_ballot_sharing_a_transaction_id_with_a_participation(
    make_members, sam, make_contest
):
    voters = make_members(6)
    contest = make_contest(Method.AV)
    poll = poll_of(contest)
    ids = list(candidate_ids(contest).values())
    for n, voter in enumerate(voters):
        cast_ballot(poll.pk, voter, ids[: 1 + n % 3])
    # While open, a small poll's ballots wait in the inbox, beside their participation.
    assert InboxBallot.objects.count() == 6
    assert Ballot.objects.count() == 0

    poll.close(by=sam)

    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM elections_ballot")
        ballot_xmins = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT xmin::text FROM elections_participation")
        participation_xmins = {row[0] for row in cursor.fetchall()}
    assert len(participation_xmins) == 6, "each vote is its own transaction"
    assert ballot_xmins and not (ballot_xmins & participation_xmins)
    assert InboxBallot.objects.count() == 0
    sheet = poll.count(by=sam)
    assert sheet["ballots_counted"] == Participation.objects.filter(poll=poll).count() == 6


@pytest.mark.django_db
def test_it_counts_exactly_as_many_ballots_as_participations(make_members, sam, make_contest):
    voters = make_members(7)
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    ids = list(candidate_ids(contest).values())
    for n, voter in enumerate(voters):
        cast_ballot(poll.pk, voter, [ids[n % 3]])
    poll.close(by=sam)
    sheet = poll.count(by=sam)
    assert sheet["ballots_counted"] == Participation.objects.filter(poll=poll).count() == 7
    assert sheet["valid_poll"] == "7"


@pytest.mark.django_db
def test_it_refuses_to_count_when_box_and_participations_disagree(alice, sam, make_contest):
    from elections.services.tally import CountMismatch

    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    poll.close(by=sam)
    Ballot.objects.create(poll=poll, choices=[], receipt_digest="x" * 64)  # a stuffed ballot
    with pytest.raises(CountMismatch):
        poll.count(by=sam)
    poll.refresh_from_db()
    assert poll.status == "closed"
