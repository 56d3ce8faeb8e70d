"""Nominations: standing, the nominators' threshold, acceptance, rejection, withdrawal."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from elections.exceptions import InvalidTransition, NotAllowed
from elections.models import (
    AuditEvent,
    Candidate,
    CandidateStatus,
    Contest,
    ContestState,
    Method,
    Nomination,
    RuleSet,
)


@pytest.fixture
def open_nominations(body, sam):  # type: ignore[no-untyped-def]
    def build(threshold: int = 2, **rules) -> Contest:  # type: ignore[no-untyped-def]
        ruleset = RuleSet.objects.create(
            name="r", method=Method.PLURALITY, nomination_threshold=threshold, **rules
        )
        contest = Contest.objects.create(body=body, title="Leader", rules=ruleset)
        contest.open_nominations(by=sam)
        return contest

    return build


@pytest.mark.django_db
def test_a_member_stands_and_is_accepted_once_the_threshold_is_met(
    client, alice, make_members, sam, open_nominations
):
    contest = open_nominations(threshold=2)
    backers = make_members(2)
    client.force_login(alice)
    response = client.post(reverse("stand", args=[contest.pk]), {"statement": "A fresh start."})
    assert response.status_code == HTTPStatus.FOUND
    candidate = Candidate.objects.get(contest=contest, user=alice)
    assert candidate.status == CandidateStatus.NOMINATED
    assert not contest.standing_candidates().exists()

    client.force_login(backers[0])
    client.post(reverse("nominate", args=[candidate.pk]))
    with pytest.raises(InvalidTransition, match="needs 1 more nominator"):
        candidate.accept(by=sam)

    client.force_login(backers[1])
    client.post(reverse("nominate", args=[candidate.pk]))
    client.post(reverse("nominate", args=[candidate.pk]))  # a second time counts once
    assert candidate.nominations.count() == 2

    client.force_login(sam)
    client.post(reverse("candidate_accept", args=[candidate.pk]))
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.ACCEPTED
    assert list(contest.standing_candidates()) == [candidate]
    assert AuditEvent.objects.filter(action="candidate.accepted").count() == 1


@pytest.mark.django_db
def test_candidates_cannot_nominate_themselves_and_outsiders_cannot_nominate(
    alice, charlie, olive, open_nominations
):
    contest = open_nominations()
    candidate = Candidate.stand(contest, member=alice, statement="Me")
    with pytest.raises(InvalidTransition, match="themselves"):
        Nomination.add(candidate, nominator=alice)
    for outsider in (charlie, olive):
        with pytest.raises(NotAllowed):
            Nomination.add(candidate, nominator=outsider)
    assert not Nomination.objects.exists()


@pytest.mark.django_db
def test_the_secretary_rejects_with_a_reason(client, alice, sam, open_nominations):
    contest = open_nominations()
    candidate = Candidate.stand(contest, member=alice, statement="Me")
    with pytest.raises(InvalidTransition, match="reason"):
        candidate.reject(by=sam, reason="  ")
    client.force_login(sam)
    client.post(reverse("candidate_reject", args=[candidate.pk]), {"reason": "Not a councillor"})
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.REJECTED
    assert candidate.decision_reason == "Not a councillor"
    event = AuditEvent.objects.get(action="candidate.rejected")
    assert event.reason == "Not a councillor"


@pytest.mark.django_db
def test_only_the_secretary_decides(alice, bob, open_nominations):
    contest = open_nominations(threshold=0)
    candidate = Candidate.stand(contest, member=alice, statement="Me")
    with pytest.raises(NotAllowed):
        candidate.accept(by=bob)


@pytest.mark.django_db
def test_a_pending_nomination_blocks_the_final_ballot(alice, sam, open_nominations):
    contest = open_nominations(threshold=0)
    candidate = Candidate.stand(contest, member=alice, statement="Me")
    with pytest.raises(InvalidTransition, match="every nomination"):
        contest.finalise_ballot(by=sam)
    candidate.accept(by=sam)
    contest.finalise_ballot(by=sam)
    assert contest.state == ContestState.READY


@pytest.mark.django_db
def test_a_candidate_withdraws_before_the_ballot_is_final_but_not_after(
    client, alice, bob, sam, open_nominations
):
    contest = open_nominations(threshold=0)
    mine = Candidate.stand(contest, member=alice, statement="Me")
    theirs = Candidate.stand(contest, member=bob, statement="Me too")
    mine.accept(by=sam)
    theirs.accept(by=sam)
    client.force_login(bob)
    # bob cannot withdraw alice
    assert client.post(reverse("candidate_withdraw", args=[mine.pk])).status_code == 403
    client.force_login(alice)
    client.post(reverse("candidate_withdraw", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.withdrawn_at is not None
    assert list(contest.standing_candidates()) == [theirs]
    contest.finalise_ballot(by=sam)
    with pytest.raises(InvalidTransition, match="final"):
        theirs.withdraw(by=bob)


@pytest.mark.django_db
def test_affiliation_is_kept_only_where_the_rules_show_it(alice, bob, open_nominations):
    hidden = open_nominations()
    shown = open_nominations(show_affiliation=True)
    assert (
        Candidate.stand(hidden, member=alice, statement="x", affiliation="Reform slate").affiliation
        == ""
    )
    assert (
        Candidate.stand(shown, member=bob, statement="x", affiliation="Reform slate").affiliation
        == "Reform slate"
    )


@pytest.mark.django_db
def test_the_contest_page_shows_the_nominations(client, alice, bob, sam, open_nominations):
    contest = open_nominations(threshold=1)
    candidate = Candidate.stand(contest, member=alice, statement="A fresh start.")
    client.force_login(bob)
    page = client.get(reverse("contest", args=[contest.pk])).content.decode()
    assert "A fresh start." in page
    assert "0 of 1 nominator" in page
    assert reverse("nominate", args=[candidate.pk]) in page
    client.force_login(sam)
    page = client.get(reverse("contest", args=[contest.pk])).content.decode()
    assert reverse("candidate_accept", args=[candidate.pk]) in page
