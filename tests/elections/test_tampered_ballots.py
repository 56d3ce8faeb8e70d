"""A tampered or stale ballot form is refused with a reason, and records nothing."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from elections.models import InboxBallot, Membership, Method, Participation
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of


def _nothing_recorded() -> bool:
    return Participation.objects.count() == 0 and InboxBallot.objects.count() == 0


def _post(client, poll, fields):  # type: ignore[no-untyped-def]
    data = {"paper": poll.ballot_paper().fingerprint, "action": "cast", **fields}
    return client.post(reverse("ballot", args=[poll.pk]), data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields,message",
    [
        (lambda ids, other: {"rank-999999": "1"}, "not on this ballot"),
        (lambda ids, other: {f"rank-{other}": "1"}, "not on this ballot"),
        (lambda ids, other: {f"rank-{ids[0]}": "1", f"rank-{ids[1]}": "1"}, "one candidate only"),
        (lambda ids, other: {f"rank-{ids[0]}": "1", f"rank-{ids[1]}": "3"}, "without gaps"),
        (lambda ids, other: {f"rank-{ids[0]}": "2"}, "without gaps"),
        (lambda ids, other: {f"rank-{ids[0]}": "one"}, "whole numbers"),
        (lambda ids, other: {f"rank-{ids[0]}": "0"}, "Rankings run from 1"),
        (lambda ids, other: {f"rank-{ids[0]}": ["1", "2"]}, "one number at most"),
        (lambda ids, other: {}, "Number at least one"),
    ],
    ids=[
        "unknown",
        "other-contest",
        "rank-twice",
        "gap",
        "no-first",
        "not-a-number",
        "zero",
        "two-values",
        "empty",
    ],
)
def test_it_refuses_a_tampered_ranked_ballot(client, alice, make_contest, fields, message):
    contest = make_contest(Method.AV)
    other = make_contest(Method.AV, ("Zed Other",))
    poll = poll_of(contest)
    ids = list(candidate_ids(contest).values())
    client.force_login(alice)
    response = _post(client, poll, fields(ids, candidate_ids(other)["Zed Other"]))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    assert _nothing_recorded()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields,message",
    [
        (lambda ids, other: {"choice": "999999"}, "not on this ballot"),
        (lambda ids, other: {"choice": str(other)}, "not on this ballot"),
        (lambda ids, other: {"choice": "'; DROP TABLE x;--"}, "not on this ballot"),
        (lambda ids, other: {"choice": [str(ids[0]), str(ids[1])]}, "Only one choice"),
        (lambda ids, other: {}, "Make a choice"),
    ],
    ids=["unknown", "other-contest", "garbage", "two-choices", "none"],
)
def test_it_refuses_a_tampered_single_choice(client, alice, make_contest, fields, message):
    contest = make_contest(Method.PLURALITY)
    other = make_contest(Method.PLURALITY, ("Zed Other",))
    poll = poll_of(contest)
    ids = list(candidate_ids(contest).values())
    client.force_login(alice)
    response = _post(client, poll, fields(ids, candidate_ids(other)["Zed Other"]))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    assert _nothing_recorded()


@pytest.mark.django_db
def test_it_refuses_a_form_for_an_older_ballot_paper(client, alice, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    client.force_login(alice)
    response = client.post(
        reverse("ballot", args=[poll.pk]),
        {"paper": "0" * 16, "choice": str(candidate_ids(contest)["Ann Archer"]), "action": "cast"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "has changed" in response.content.decode()
    assert _nothing_recorded()


@pytest.mark.django_db
def test_it_refuses_a_member_who_is_not_on_the_polls_roll(client, make_user, body, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    # Joins the body after the poll opened and its roll was frozen.
    latecomer = make_user("Lana Latecomer")
    Membership.objects.create(body=body, user=latecomer)
    client.force_login(latecomer)
    page = client.get(reverse("ballot", args=[poll.pk]))
    assert "not on the roll" in page.content.decode()
    response = _post(client, poll, {"choice": str(candidate_ids(contest)["Ann Archer"])})
    assert response.status_code == HTTPStatus.CONFLICT
    assert "not on the roll" in response.content.decode()
    assert _nothing_recorded()


@pytest.mark.django_db
def test_the_service_refuses_choices_that_skipped_the_form(alice, make_contest):
    from elections.exceptions import BallotRefused

    contest = make_contest(Method.PLURALITY)
    other = make_contest(Method.PLURALITY, ("Zed Other",))
    poll = poll_of(contest)
    ids = list(candidate_ids(contest).values())
    for choices in (
        [candidate_ids(other)["Zed Other"]],
        [ids[0], ids[1]],
        ["yes"],
        [ids[0], ids[0]],
    ):
        with pytest.raises(BallotRefused):
            cast_ballot(poll.pk, alice, choices)
    assert _nothing_recorded()
