"""Proxy votes: only where the rules allow, approved before polling, not voided."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from elections.exceptions import BallotRefused, InvalidTransition, NotAllowed
from elections.models import (
    Channel,
    InboxBallot,
    Method,
    Participation,
    ProxyAppointment,
    RuleSet,
)
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of


@pytest.fixture
def proxy_contest(make_contest):  # type: ignore[no-untyped-def]
    def build(approve: bool = True, **rules):  # type: ignore[no-untyped-def]
        contest = make_contest(Method.PLURALITY, open_poll=False, proxy_allowed=True, **rules)
        return contest

    return build


def _appoint_and_open(contest, alice, bob, sam, *, approve: bool = True):  # type: ignore[no-untyped-def]
    appointment = ProxyAppointment.appoint(contest, principal=alice, proxy=bob)
    if approve:
        appointment.decide(by=sam, approve=True)
    poll_of(contest).open(by=sam)
    return appointment


@pytest.mark.django_db
def test_a_proxy_holder_casts_the_principals_ballot_as_its_own(
    client, alice, bob, sam, proxy_contest
):
    contest = proxy_contest()
    _appoint_and_open(contest, alice, bob, sam)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    client.force_login(bob)
    page = client.get(reverse("contest", args=[contest.pk])).content.decode()
    assert reverse("ballot", args=[poll.pk]) in page  # vote for yourself
    assert reverse("proxy_ballot", args=[poll.pk, alice.pk]) in page  # vote as proxy
    url = reverse("proxy_ballot", args=[poll.pk, alice.pk])
    form = client.get(url).content.decode()
    assert f"voting as proxy for {alice}" in form
    data = {"paper": poll.ballot_paper().fingerprint, "choice": str(ids["Ann Archer"])}
    cast = client.post(url, {**data, "action": "cast"})
    assert cast.status_code == HTTPStatus.OK
    own = client.post(reverse("ballot", args=[poll.pk]), {**data, "action": "cast"})
    assert own.status_code == HTTPStatus.OK
    rows = Participation.objects.filter(poll=poll)
    assert {(p.voter_id, p.cast_by_id) for p in rows} == {(alice.pk, bob.pk), (bob.pk, bob.pk)}
    assert InboxBallot.objects.count() == 2
    # and alice herself can no longer vote
    with pytest.raises(BallotRefused, match="already voted"):
        cast_ballot(poll.pk, alice, [ids["Ben Baker"]])


@pytest.mark.django_db
def test_no_proxy_where_the_rules_disallow_it(alice, bob, make_contest):
    contest = make_contest(Method.PLURALITY, open_poll=False, proxy_allowed=False)
    with pytest.raises(NotAllowed, match="do not allow proxy"):
        ProxyAppointment.appoint(contest, principal=alice, proxy=bob)


@pytest.mark.django_db
def test_a_proxy_vote_is_refused_where_the_rules_disallow_it(alice, bob, sam, proxy_contest):
    contest = proxy_contest()
    _appoint_and_open(contest, alice, bob, sam)
    # The frozen rules changed by a ruling after approval.
    rules = RuleSet.objects.get(pk=contest.rules_id)
    rules.proxy_allowed = False
    rules.save(amended_by_ruling=True)
    with pytest.raises(BallotRefused) as refusal:
        cast_ballot(poll_of(contest).pk, alice, [candidate_ids(contest)["Ann Archer"]], cast_by=bob)
    assert refusal.value.code == "proxy_not_allowed"
    assert Participation.objects.count() == 0


@pytest.mark.django_db
def test_a_proxy_vote_is_refused_when_the_appointment_was_not_approved(
    client, alice, bob, sam, proxy_contest
):
    contest = proxy_contest()
    _appoint_and_open(contest, alice, bob, sam, approve=False)
    poll = poll_of(contest)
    with pytest.raises(BallotRefused) as refusal:
        cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]], cast_by=bob)
    assert refusal.value.code == "proxy_not_valid"
    client.force_login(bob)
    assert client.get(reverse("proxy_ballot", args=[poll.pk, alice.pk])).status_code == 404
    assert Participation.objects.count() == 0


@pytest.mark.django_db
def test_a_proxy_cannot_be_approved_once_polling_has_opened(alice, bob, sam, proxy_contest):
    contest = proxy_contest()
    appointment = ProxyAppointment.appoint(contest, principal=alice, proxy=bob)
    poll_of(contest).open(by=sam)
    with pytest.raises(InvalidTransition, match="before polling opens"):
        appointment.decide(by=sam, approve=True)


@pytest.mark.django_db
def test_a_proxy_vote_is_refused_after_a_ruling_voided_it(alice, bob, sam, proxy_contest):
    contest = proxy_contest()
    appointment = _appoint_and_open(contest, alice, bob, sam)
    assert ProxyAppointment.void_for(contest, reason="Proxies ruled out") == 1
    appointment.refresh_from_db()
    assert appointment.status == ProxyAppointment.Status.VOIDED
    with pytest.raises(BallotRefused) as refusal:
        cast_ballot(poll_of(contest).pk, alice, [candidate_ids(contest)["Ann Archer"]], cast_by=bob)
    assert refusal.value.code == "proxy_not_valid"


@pytest.mark.django_db
def test_only_the_secretary_decides_and_a_refusal_needs_a_reason(
    client, alice, bob, sam, proxy_contest
):
    contest = proxy_contest()
    appointment = ProxyAppointment.appoint(contest, principal=alice, proxy=bob)
    with pytest.raises(NotAllowed):
        appointment.decide(by=bob, approve=True)
    client.force_login(sam)
    client.post(reverse("proxy_decide", args=[appointment.pk, "refuse"]), {"reason": ""})
    appointment.refresh_from_db()
    assert appointment.status == ProxyAppointment.Status.PENDING
    client.post(
        reverse("proxy_decide", args=[appointment.pk, "refuse"]), {"reason": "Not a member"}
    )
    appointment.refresh_from_db()
    assert appointment.status == ProxyAppointment.Status.REFUSED


@pytest.mark.django_db
def test_a_member_appoints_a_proxy_from_the_site(client, alice, bob, proxy_contest):
    contest = proxy_contest()
    client.force_login(alice)
    response = client.post(reverse("proxy_appoint", args=[contest.pk]), {"proxy": bob.pk})
    assert response.status_code == HTTPStatus.FOUND
    assert ProxyAppointment.objects.get().proxy == bob
    again = client.post(reverse("proxy_appoint", args=[contest.pk]), {"proxy": bob.pk})
    assert "already appointed" in again.content.decode() or again.status_code == HTTPStatus.FOUND
    assert ProxyAppointment.objects.count() == 1


@pytest.mark.django_db
def test_online_voting_is_refused_in_a_room_only_contest(alice, make_contest):
    contest = make_contest(Method.PLURALITY, channel=Channel.IN_PERSON)
    with pytest.raises(BallotRefused) as refusal:
        cast_ballot(poll_of(contest).pk, alice, [candidate_ids(contest)["Ann Archer"]])
    assert refusal.value.code == "wrong_channel"
