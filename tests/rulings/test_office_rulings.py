"""Each kind of ruling through the office's views: a confirmation page, a
required reason (refused with a form error, nothing changed, when missing),
and the ruling carried out once confirmed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from elections.models import (
    AuditEvent,
    Ballot,
    Channel,
    Contest,
    ContestState,
    InboxBallot,
    Participation,
    PollStatus,
    RuleSet,
    RulingKind,
)
from elections.models.rulings import Complaint, ComplaintState, Ruling
from tests.conftest import poll_of
from tests.rulings.conftest import rule_post


def _url(contest: Contest, kind: str) -> str:
    return reverse("office:elections_contest_ruling", args=[contest.pk, kind])


def _snapshot(contest: Contest) -> tuple[Any, ...]:
    contest.refresh_from_db()
    rules = RuleSet.objects.get(pk=contest.rules_id)
    return (
        contest.state,
        contest.quashed_at,
        rules.as_dict(),
        Ruling.objects.count(),
        Contest.objects.count(),
        AuditEvent.objects.count(),
        list(Complaint.objects.values_list("state", flat=True)),
    )


@pytest.fixture
def office(rita: User, client_for: Callable[[User | None], Client]) -> Client:
    return client_for(rita)


def _styled_as_an_admin_form(page: Any) -> None:
    """The office's own form pages look like the admin's change forms beside them."""
    assert 'href="/static/admin/css/forms.css"' in page.content.decode()


def _confirm_then_refuse_blank(
    office: Client, contest: Contest, kind: str, data: dict[str, Any]
) -> None:
    """GET shows the confirmation page; a POST without a reason changes nothing."""
    page = office.get(_url(contest, kind))
    assert page.status_code == HTTPStatus.OK
    assert "Yes, issue this ruling" in page.content.decode()
    _styled_as_an_admin_form(page)
    before = _snapshot(contest)
    for blank in ("", "   \n "):
        response = office.post(_url(contest, kind), {**data, "reason": blank})
        assert response.status_code == HTTPStatus.OK
        assert "reason" in response.context["form"].errors
        assert _snapshot(contest) == before


@pytest.mark.django_db
def test_it_dismisses_a_complaint(office: Client, complaint: Complaint) -> None:
    contest = complaint.contest
    data = {"complaint": complaint.pk}
    _confirm_then_refuse_blank(office, contest, "dismiss", data)
    # A dismissal needs the complaint it dismisses.
    response = office.post(_url(contest, "dismiss"), {"reason": "No proxies were used."})
    assert response.status_code == HTTPStatus.OK
    assert "complaint" in response.context["form"].errors

    response = office.post(_url(contest, "dismiss"), {**data, "reason": "No proxies were used."})
    assert response.status_code == HTTPStatus.FOUND
    complaint.refresh_from_db()
    ruling = Ruling.objects.get()
    assert (ruling.kind, ruling.complaint, ruling.reason) == (
        RulingKind.DISMISS,
        complaint,
        "No proxies were used.",
    )
    assert complaint.state == ComplaintState.DECIDED and complaint.ruling == ruling
    contest.refresh_from_db()
    assert contest.state == ContestState.DECLARED


@pytest.mark.django_db
def test_it_upholds_a_result(office: Client, complaint: Complaint) -> None:
    contest = complaint.contest
    _confirm_then_refuse_blank(office, contest, "uphold", {"complaint": complaint.pk})
    response = office.post(
        _url(contest, "uphold"), {"complaint": complaint.pk, "reason": "The count stands."}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert Ruling.objects.get().kind == RulingKind.UPHOLD
    contest.refresh_from_db()
    assert contest.state == ContestState.DECLARED


@pytest.mark.django_db
def test_it_amends_the_frozen_rules(office: Client, polling: Contest) -> None:
    data = rule_post(polling, quorum_percent=40, abstention_allowed=False)
    _confirm_then_refuse_blank(office, polling, "amend_rules", data)
    before = RuleSet.objects.get(pk=polling.rules_id).as_dict()

    response = office.post(
        _url(polling, "amend_rules"), {**data, "reason": "A quorum was always intended."}
    )
    assert response.status_code == HTTPStatus.FOUND
    rules = RuleSet.objects.get(pk=polling.rules_id)
    assert rules.is_frozen
    assert (rules.quorum_percent, rules.abstention_allowed) == (40, False)
    ruling = Ruling.objects.get()
    assert ruling.rules_before == before
    assert ruling.rules_after == rules.as_dict()
    assert {f for f, _, _ in ruling.rule_changes()} == {"quorum_percent", "abstention_allowed"}


@pytest.mark.django_db
def test_an_amendment_that_changes_nothing_is_refused(office: Client, polling: Contest) -> None:
    before = _snapshot(polling)
    response = office.post(_url(polling, "amend_rules"), {**rule_post(polling), "reason": "r"})
    assert response.status_code == HTTPStatus.OK
    assert "change nothing" in str(response.context["form"].non_field_errors())
    assert _snapshot(polling) == before


@pytest.mark.django_db
def test_it_quashes_a_poll_still_open(
    office: Client, polling: Contest, django_capture_on_commit_callbacks: Any
) -> None:
    _confirm_then_refuse_blank(office, polling, "quash", {})
    with django_capture_on_commit_callbacks(execute=True):
        response = office.post(_url(polling, "quash"), {"reason": "The roll was wrong."})
    assert response.status_code == HTTPStatus.FOUND
    polling.refresh_from_db()
    assert polling.state == ContestState.QUASHED and polling.quashed_at is not None
    poll = poll_of(polling)
    # Suspended and closed at once, so no sweep or late vote moves it again;
    # the ballot cast is mixed out of the inbox, and who voted is kept.
    assert poll.suspended and poll.status == PollStatus.CLOSED
    assert not InboxBallot.objects.filter(poll=poll).exists()
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert Participation.objects.filter(poll=poll).count() == 1


@pytest.mark.django_db
def test_it_refuses_to_quash_a_contest_not_yet_polling(
    office: Client, make_contest: Callable[..., Contest]
) -> None:
    ready = make_contest(open_poll=False)
    page = office.get(_url(ready, "quash"))
    assert "cannot be issued now" in page.content.decode()
    before = _snapshot(ready)
    response = office.post(_url(ready, "quash"), {"reason": "Too early."})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].non_field_errors()
    assert _snapshot(ready) == before


@pytest.mark.django_db
def test_it_orders_a_rerun_of_a_quashed_contest(office: Client, declared: Contest) -> None:
    office.post(_url(declared, "quash"), {"reason": "Proxy votes were not allowed."})
    data = rule_post(declared, channel=Channel.ONLINE, proxy_allowed=False)
    _confirm_then_refuse_blank(office, declared, "order_rerun", data)
    response = office.post(
        _url(declared, "order_rerun"), {**data, "reason": "Run it again, online."}
    )
    assert response.status_code == HTTPStatus.FOUND
    rerun = Contest.objects.get(rerun_of=declared)
    assert rerun.state == ContestState.READY
    assert Ruling.objects.get(kind=RulingKind.ORDER_RERUN).rerun == rerun


@pytest.mark.django_db
def test_it_quashes_and_orders_a_rerun_with_a_timetable(office: Client, declared: Contest) -> None:
    opens = (timezone.localtime() + timedelta(days=7)).replace(second=0, microsecond=0)
    closes = opens + timedelta(days=2)
    data = {
        **rule_post(declared, channel=Channel.ONLINE, proxy_allowed=False),
        "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
    }
    page = office.get(_url(declared, "quash_and_rerun"))
    form = page.context["form"]
    # The re-run is offered online and without proxies unless the official says otherwise.
    assert form["rule_channel"].initial == Channel.ONLINE
    assert form["rule_proxy_allowed"].initial is False
    _confirm_then_refuse_blank(office, declared, "quash_and_rerun", data)

    response = office.post(
        _url(declared, "quash_and_rerun"), {**data, "reason": "Proxies were used."}
    )
    assert response.status_code == HTTPStatus.FOUND
    declared.refresh_from_db()
    assert declared.state == ContestState.QUASHED
    rerun = declared.rerun
    poll = poll_of(rerun)
    assert (poll.opens_at, poll.closes_at) == (opens, closes)
    assert poll.status == PollStatus.SCHEDULED


@pytest.mark.django_db
def test_a_half_given_timetable_is_refused(office: Client, declared: Contest) -> None:
    before = _snapshot(declared)
    response = office.post(
        _url(declared, "quash_and_rerun"),
        {**rule_post(declared), "reason": "r", "opens_at": "2030-01-01T10:00"},
    )
    assert response.status_code == HTTPStatus.OK
    assert "closes_at" in response.context["form"].errors
    assert _snapshot(declared) == before


@pytest.mark.django_db
def test_a_complaint_is_taken_under_review(
    office: Client, complaint: Complaint, otto: User, client_for: Callable[[User | None], Client]
) -> None:
    url = reverse("office:elections_complaint_review", args=[complaint.pk])
    assert client_for(otto).post(url).status_code == HTTPStatus.FORBIDDEN
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.OPEN

    page = office.get(url)
    assert page.status_code == HTTPStatus.OK
    assert complaint.text in page.content.decode()
    _styled_as_an_admin_form(page)
    assert office.post(url).status_code == HTTPStatus.FOUND
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.UNDER_REVIEW
    assert AuditEvent.objects.filter(action="complaint.under_review").count() == 1


@pytest.mark.django_db
def test_the_complaint_page_shows_the_contests_record(
    office: Client, complaint: Complaint, alice: User, bob: User
) -> None:
    page = office.get(reverse("office:elections_complaint_change", args=[complaint.pk]))
    html = page.content.decode()
    assert page.status_code == HTTPStatus.OK
    assert complaint.text in html
    # The roll, the turnout against it and the audit trail are there ...
    assert str(alice) in html and str(bob) in html
    assert "2 (100.0%)" in html
    assert "contest.declared" in html and "poll.counted" in html
    assert "Proxies approved" in html and "frozen" in html
    # ... and the ruling links carry the complaint along.
    assert f"{_url(complaint.contest, 'dismiss')}?complaint={complaint.pk}" in html


@pytest.mark.django_db
def test_complaints_are_taken_under_review_from_the_list(
    office: Client, complaint: Complaint
) -> None:
    response = office.post(
        reverse("office:elections_complaint_changelist"),
        {"action": "take_under_review", "_selected_action": [complaint.pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.UNDER_REVIEW


@pytest.mark.django_db
def test_an_exhaustive_ballot_can_be_quashed_between_rounds(
    office: Client,
    make_contest: Callable[..., Contest],
    alice: User,
    bob: User,
    sam: User,
) -> None:
    from elections.models import Method
    from elections.services.casting import cast_ballot
    from tests.conftest import candidate_ids

    contest = make_contest(Method.EXHAUSTIVE)
    ids = candidate_ids(contest)
    first = poll_of(contest)
    cast_ballot(first.pk, alice, [ids["Ann Archer"]])
    cast_ballot(first.pk, bob, [ids["Ben Baker"]])
    first.close(by=sam)
    first.refresh_from_db()
    first.count(by=sam, seed="s")
    contest.refresh_from_db()
    assert contest.state == ContestState.READY  # no majority: round 2 is scheduled
    response = office.post(_url(contest, "quash"), {"reason": "The first round was flawed."})
    assert response.status_code == HTTPStatus.FOUND
    contest.refresh_from_db()
    assert contest.state == ContestState.QUASHED
    second = poll_of(contest)
    assert second.number == 2 and second.suspended and second.status == PollStatus.SCHEDULED
    assert first.__class__.objects.get(pk=first.pk).result  # round 1's count is kept
