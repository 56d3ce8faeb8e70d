"""In the room: the register, the paper counts and the observer's countersignature."""

from __future__ import annotations

import pytest
from django.urls import reverse

from elections.exceptions import BallotRefused, InvalidTransition, NotAllowed
from elections.models import Channel, Method, Participation
from elections.services.casting import cast_ballot
from elections.services.register import (
    countersign_paper_counts,
    enter_paper_counts,
    mark_in_person,
)
from tests.conftest import candidate_ids, poll_of


@pytest.mark.django_db
def test_marked_in_the_room_means_no_online_vote(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY, channel=Channel.HYBRID)
    poll = poll_of(contest)
    mark_in_person(poll.pk, alice, by=sam)
    with pytest.raises(BallotRefused) as refusal:
        cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    assert refusal.value.code == "already_voted"
    assert Participation.objects.get().channel == "in_person"


@pytest.mark.django_db
def test_an_online_vote_means_no_mark_in_the_room(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY, channel=Channel.HYBRID)
    poll = poll_of(contest)
    cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    with pytest.raises(BallotRefused) as refusal:
        mark_in_person(poll.pk, alice, by=sam)
    assert refusal.value.code == "already_voted"
    assert Participation.objects.get().channel == "online"


@pytest.mark.django_db
def test_no_register_for_an_online_only_contest(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY, channel=Channel.ONLINE)
    with pytest.raises(BallotRefused, match="online only"):
        mark_in_person(poll_of(contest).pk, alice, by=sam)


@pytest.mark.django_db
def test_only_the_secretary_keeps_the_register(client, alice, bob, make_contest):
    contest = make_contest(Method.PLURALITY, channel=Channel.IN_PERSON)
    poll = poll_of(contest)
    with pytest.raises(NotAllowed):
        mark_in_person(poll.pk, alice, by=bob)
    client.force_login(bob)
    assert client.post(reverse("register", args=[poll.pk]), {"voter": alice.pk}).status_code == 403
    assert Participation.objects.count() == 0


@pytest.mark.django_db
def test_paper_counts_are_counted_once_an_observer_countersigns(
    client, make_members, sam, olive, make_contest
):
    voters = make_members(5)
    contest = make_contest(Method.PLURALITY, channel=Channel.HYBRID)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    client.force_login(sam)
    for voter in voters[:3]:
        client.post(reverse("register", args=[poll.pk]), {"voter": voter.pk})
    for voter in voters[3:]:
        cast_ballot(poll.pk, voter, [ids["Ben Baker"]])
    poll.close(by=sam)

    with pytest.raises(InvalidTransition, match="add up to 2"):
        enter_paper_counts(poll, {str(ids["Ann Archer"]): 2}, by=sam)
    response = client.post(
        reverse("paper_counts", args=[poll.pk]),
        {f"votes-{ids['Ann Archer']}": 2, f"votes-{ids['Ben Baker']}": 1,
         f"votes-{ids['Cat Carter']}": 0, "votes-abstain": 0},
    )  # fmt: skip
    assert response.status_code == 302
    with pytest.raises(InvalidTransition, match="countersign"):
        poll.count(by=sam)
    with pytest.raises(NotAllowed):
        countersign_paper_counts(poll, by=sam)
    client.force_login(olive)
    page = client.get(reverse("contest", args=[contest.pk])).content.decode()
    assert "<li>Ann Archer: 2</li>" in page, "the observer sees what they countersign"
    client.post(reverse("countersign", args=[poll.pk]))
    sheet = poll.count(by=sam)
    totals = {sheet["names"][c]: v for c, v in sheet["stages"][0]["totals"].items()}
    assert totals == {"Ann Archer": "2", "Ben Baker": "3", "Cat Carter": "0"}
    assert sheet["ballots_counted"] == 5
    # Countersigned counts are final.
    with pytest.raises(InvalidTransition):
        enter_paper_counts(poll, {str(ids["Ann Archer"]): 3}, by=sam)
