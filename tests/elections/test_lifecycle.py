"""The contest's lifecycle: order, permissions and frozen rules."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from elections.exceptions import InvalidTransition, NotAllowed
from elections.models import Candidate, Contest, ContestState, Method, RuleSet


@pytest.fixture
def draft(body, sam) -> Contest:  # type: ignore[no-untyped-def]
    rules = RuleSet.objects.create(name="r", method=Method.PLURALITY)
    return Contest.objects.create(body=body, title="Leader", rules=rules, created_by=sam)


@pytest.mark.django_db
def test_only_the_secretary_moves_a_contest(draft, alice, olive):
    for person in (alice, olive):
        with pytest.raises(NotAllowed):
            draft.open_nominations(by=person)
    draft.refresh_from_db()
    assert draft.state == ContestState.DRAFT


@pytest.mark.django_db
def test_it_moves_only_in_order(draft, sam):
    with pytest.raises(InvalidTransition):
        draft.declare(by=sam)
    with pytest.raises(InvalidTransition, match="at least one candidate"):
        draft.finalise_ballot(by=sam)
    draft.open_nominations(by=sam)
    with pytest.raises(InvalidTransition):
        draft.open_nominations(by=sam)
    Candidate.add(draft, by=sam, name="Ann Archer")
    draft.finalise_ballot(by=sam)
    with pytest.raises(InvalidTransition, match="final"):
        Candidate.add(draft, by=sam, name="Late Entry")
    assert draft.state == ContestState.READY


@pytest.mark.django_db
def test_frozen_rules_cannot_be_changed_except_by_a_ruling(draft, sam):
    draft.open_nominations(by=sam)
    rules = RuleSet.objects.get(pk=draft.rules_id)
    assert rules.is_frozen
    rules.proxy_allowed = True
    with pytest.raises(NotAllowed, match="frozen"):
        rules.save()
    assert RuleSet.objects.get(pk=rules.pk).proxy_allowed is False
    rules.save(amended_by_ruling=True)
    assert RuleSet.objects.get(pk=rules.pk).proxy_allowed is True


@pytest.mark.django_db
def test_a_poll_cannot_be_opened_after_its_closing_time(draft, sam):
    draft.open_nominations(by=sam)
    Candidate.add(draft, by=sam, name="Ann Archer")
    draft.finalise_ballot(by=sam)
    now = timezone.now()
    poll = draft.schedule_poll(
        by=sam, opens_at=now - timedelta(hours=2), closes_at=now - timedelta(hours=1)
    )
    with pytest.raises(InvalidTransition, match="closing time has passed"):
        poll.open(by=sam)


@pytest.mark.django_db
def test_the_secretary_runs_a_contest_from_the_site(client, sam, alice, body):
    client.force_login(sam)
    create = client.post(
        reverse("contest_create", args=[body.pk]),
        {
            "contest-title": "Group leader",
            "contest-description": "",
            "rules-method": "plurality",
            "rules-seats": "1",
            "rules-abstention_allowed": "on",
            "rules-min_women": "0",
            "rules-quorum_percent": "0",
        },
    )
    assert create.status_code == HTTPStatus.FOUND
    contest = Contest.objects.get(title="Group leader")

    def do(action: str) -> None:
        response = client.post(reverse("transition", args=[contest.pk, action]))
        assert response.status_code == HTTPStatus.FOUND

    do("open-nominations")
    for name in ("Ann Archer", "Ben Baker"):
        client.post(reverse("candidate_add", args=[contest.pk]), {"name": name, "gender": ""})
    do("finalise")
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    client.post(
        reverse("schedule", args=[contest.pk]),
        {
            "opens_at": (now + timedelta(hours=1)).strftime(fmt),
            "closes_at": (now + timedelta(hours=5)).strftime(fmt),
        },
    )
    do("open-poll")
    contest.refresh_from_db()
    assert contest.state == ContestState.POLLING
    do("close-poll")
    do("count")
    do("declare")
    contest.refresh_from_db()
    assert contest.state == ContestState.DECLARED
    page = client.get(reverse("contest", args=[contest.pk])).content.decode()
    assert "Declared" in page


@pytest.mark.django_db
def test_a_member_cannot_reach_the_secretarys_pages(client, alice, body, draft):
    client.force_login(alice)
    assert client.get(reverse("contest_create", args=[body.pk])).status_code == HTTPStatus.FORBIDDEN
    for name in ("candidate_add", "schedule"):
        assert client.get(reverse(name, args=[draft.pk])).status_code == HTTPStatus.FORBIDDEN
    response = client.post(reverse("transition", args=[draft.pk, "open-nominations"]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    draft.refresh_from_db()
    assert draft.state == ContestState.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize(
    "opens,closes,message",
    [
        (-3, -1, "already passed"),
        (24 * 400, 24 * 401, "up to a year ahead"),
        (1, 24 * 40, "a month at most"),
        (5, 2, "close after it opens"),
    ],
)
def test_the_schedule_form_refuses_a_timetable_nobody_means(
    client, sam, draft, opens, closes, message
):
    draft.open_nominations(by=sam)
    Candidate.add(draft, by=sam, name="Ann Archer")
    draft.finalise_ballot(by=sam)
    client.force_login(sam)
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    response = client.post(reverse("schedule", args=[draft.pk]), {
        "opens_at": (now + timedelta(hours=opens)).strftime(fmt),
        "closes_at": (now + timedelta(hours=closes)).strftime(fmt),
    })  # fmt: skip
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not draft.polls.exists()
