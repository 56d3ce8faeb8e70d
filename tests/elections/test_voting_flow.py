"""A councillor votes through the browser-facing views, for each ballot kind."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from elections.models import Ballot, InboxBallot, Method, Participation
from tests.conftest import RECEIPT_ON_PAGE, candidate_ids, poll_of


def _cast(client, poll, data):  # type: ignore[no-untyped-def]
    url = reverse("ballot", args=[poll.pk])
    paper = {"paper": poll.ballot_paper().fingerprint}
    review = client.post(url, {**paper, **data, "action": "review"})
    assert review.status_code == HTTPStatus.OK
    return review, client.post(url, {**paper, **data, "action": "cast"})


@pytest.mark.django_db
def test_it_runs_a_plurality_vote_from_home_page_to_result(client, alice, bob, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    client.force_login(alice)

    home = client.get(reverse("home"))
    assert contest.title in home.content.decode()
    assert reverse("ballot", args=[poll.pk]) in home.content.decode()

    form = client.get(reverse("ballot", args=[poll.pk]))
    assert form.status_code == HTTPStatus.OK
    assert "Ben Baker" in form.content.decode()

    url = reverse("ballot", args=[poll.pk])
    paper = poll.ballot_paper().fingerprint
    choice = {"paper": paper, "choice": str(ids["Ben Baker"])}
    review = client.post(url, {**choice, "action": "review"})
    assert "Check your ballot" in review.content.decode()
    assert "Ben Baker" in review.content.decode()
    assert Participation.objects.count() == 0, "reviewing must record nothing"
    cast = client.post(url, {**choice, "action": "cast"})

    assert cast.status_code == HTTPStatus.OK
    assert RECEIPT_ON_PAGE.search(cast.content.decode())
    assert cast["Cache-Control"].startswith("max-age=0")
    assert Participation.objects.filter(poll=poll, voter=alice).count() == 1
    assert InboxBallot.objects.count() == 1

    again = client.get(reverse("ballot", args=[poll.pk]))
    assert "already voted" in again.content.decode()
    # Replaying the confirmation form (back button, double submit) is refused.
    second = client.post(url, {"paper": paper, "choice": str(ids["Ann Archer"]), "action": "cast"})
    assert second.status_code == HTTPStatus.CONFLICT
    assert "already voted" in second.content.decode()
    assert InboxBallot.objects.count() == 1

    client.force_login(bob)
    _cast(client, poll, {"choice": str(ids["Ben Baker"])})

    poll.close(by=sam)
    poll.count(by=sam)
    contest.declare(by=sam)

    client.force_login(alice)
    page = client.get(reverse("results", args=[contest.pk])).content.decode()
    assert "Ben Baker <strong>(elected)</strong>" in page
    assert "2 of 2 (100.0%)" in page  # turnout
    assert re.search(r"<dt>Margin</dt><dd>2</dd>", page)


@pytest.mark.django_db
@pytest.mark.parametrize("method,seats", [(Method.AV, 1), (Method.STV, 2)])
def test_it_runs_a_ranked_vote(client, make_members, sam, make_contest, method, seats):
    voters = make_members(5)
    contest = make_contest(method, ("Ann Archer", "Ben Baker", "Cat Carter"), seats=seats)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    rankings = [
        {"Ann Archer": 1, "Ben Baker": 2},
        {"Ann Archer": 1},
        {"Ben Baker": 1, "Cat Carter": 2, "Ann Archer": 3},
        {"Cat Carter": 1, "Ben Baker": 2},
        {"Ann Archer": 2, "Cat Carter": 1},
    ]
    for voter, ranking in zip(voters, rankings, strict=True):
        client.force_login(voter)
        data = {f"rank-{ids[name]}": str(rank) for name, rank in ranking.items()}
        review, cast = _cast(client, poll, data)
        first = min(ranking, key=ranking.get)
        assert f"1. {first}" in review.content.decode()
        assert cast.status_code == HTTPStatus.OK, cast.content.decode()
        assert RECEIPT_ON_PAGE.search(cast.content.decode())

    poll.close(by=sam)
    assert sorted(len(b.choices) for b in Ballot.objects.all()) == [1, 2, 2, 2, 3]
    sheet = poll.count(by=sam)
    assert sheet["ballots_counted"] == 5
    assert len(sheet["elected"]) == seats
    contest.declare(by=sam)
    client.force_login(voters[0])
    page = client.get(reverse("results", args=[contest.pk])).content.decode()
    for name in sheet["names"].values():
        assert name in page


@pytest.mark.django_db
def test_it_lets_a_voter_change_their_mind_before_casting(client, alice, make_contest):
    contest = make_contest(Method.AV)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    client.force_login(alice)
    url = reverse("ballot", args=[poll.pk])
    paper = poll.ballot_paper().fingerprint
    edit = client.post(url, {"paper": paper, f"rank-{ids['Cat Carter']}": "1", "action": "edit"})
    assert edit.status_code == HTTPStatus.OK
    assert f'name="rank-{ids["Cat Carter"]}" value="1"' in edit.content.decode()
    assert Participation.objects.count() == 0


@pytest.mark.django_db
def test_it_records_an_abstention_where_the_rules_allow_it(client, alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    client.force_login(alice)
    review, cast = _cast(client, poll, {"choice": "abstain"})
    assert "Abstain" in review.content.decode()
    assert cast.status_code == HTTPStatus.OK
    poll.close(by=sam)
    sheet = poll.count(by=sam)
    assert sheet["blank"] == "1"
    assert sheet["valid_poll"] == "0"


@pytest.mark.django_db
def test_it_refuses_abstention_where_the_rules_forbid_it(client, alice, make_contest):
    contest = make_contest(Method.PLURALITY, abstention_allowed=False)
    client.force_login(alice)
    review = client.post(
        reverse("ballot", args=[poll_of(contest).pk]), {"choice": "abstain", "action": "review"}
    )
    assert review.status_code == HTTPStatus.BAD_REQUEST
    assert "do not allow abstention" in review.content.decode()
    assert "Abstain: I choose no candidate" not in review.content.decode()


@pytest.mark.django_db
def test_it_runs_a_yes_no_vote(client, make_members, sam, make_contest):
    voters = make_members(3)
    contest = make_contest(Method.YES_NO, ("Dana Drake",))
    poll = poll_of(contest)
    for voter, choice in zip(voters, ["yes", "yes", "no"], strict=True):
        client.force_login(voter)
        _, cast = _cast(client, poll, {"choice": choice})
        assert cast.status_code == HTTPStatus.OK
    poll.close(by=sam)
    sheet = poll.count(by=sam)
    assert [sheet["names"][c] for c in sheet["elected"]] == ["Dana Drake"]


@pytest.mark.django_db
def test_it_runs_a_block_vote_for_several_seats(client, make_members, sam, make_contest):
    voters = make_members(3)
    contest = make_contest(Method.PLURALITY, ("Ann Archer", "Ben Baker", "Cat Carter"), seats=2)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    picks = [["Ann Archer", "Ben Baker"], ["Ann Archer", "Cat Carter"], ["Ben Baker"]]
    for voter, names in zip(voters, picks, strict=True):
        client.force_login(voter)
        _, cast = _cast(client, poll, {"choice": [str(ids[n]) for n in names]})
        assert cast.status_code == HTTPStatus.OK
    client.force_login(voters[0])
    poll.close(by=sam)
    sheet = poll.count(by=sam)
    assert sorted(sheet["names"][c] for c in sheet["elected"]) == ["Ann Archer", "Ben Baker"]
