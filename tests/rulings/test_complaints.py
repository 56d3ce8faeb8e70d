"""Lodging a complaint, who hears of it, and the members' view of rulings.

charlie (a councillor of another group) gets 404 everywhere here; sam and
olive belong to the group but are not voting members, so they may read the
rulings but not complain.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from elections.models import Contest, Notification, NotificationKind, RulingKind
from elections.models.rulings import Complaint, ComplaintState
from elections.services.rulings import issue_ruling


def _lodge(contest: Contest) -> str:
    return reverse("complaint_lodge", args=[contest.pk])


@pytest.mark.django_db
def test_a_member_lodges_a_complaint_and_the_officials_hear_of_it(
    declared: Contest,
    alice: User,
    rita: User,
    otto: User,
    client_for: Callable[[User | None], Client],
) -> None:
    client = client_for(alice)
    page = client.get(_lodge(declared))
    assert page.status_code == HTTPStatus.OK
    response = client.post(_lodge(declared), {"text": "Proxy votes were used in the room."})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("contest_rulings", args=[declared.pk])
    complaint = Complaint.objects.get()
    assert (complaint.contest, complaint.complainant, complaint.state) == (
        declared,
        alice,
        ComplaintState.OPEN,
    )
    told = Notification.objects.filter(kind=NotificationKind.COMPLAINT_RECEIVED)
    assert list(told.values_list("user", flat=True)) == [rita.pk]
    assert told.get().contest == declared
    assert not Notification.objects.filter(user=otto).exists()


@pytest.mark.django_db
def test_a_blank_complaint_is_refused(
    declared: Contest, alice: User, client_for: Callable[[User | None], Client]
) -> None:
    response = client_for(alice).post(_lodge(declared), {"text": "   "})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors
    assert not Complaint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("charlie", HTTPStatus.NOT_FOUND),
        ("sam", HTTPStatus.FORBIDDEN),
        ("olive", HTTPStatus.FORBIDDEN),
        ("rita", HTTPStatus.NOT_FOUND),
    ],
)
def test_only_members_of_the_body_can_complain(
    who: str,
    status: HTTPStatus,
    declared: Contest,
    request: pytest.FixtureRequest,
    client_for: Callable[[User | None], Client],
) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(_lodge(declared)).status_code == status
    assert client.post(_lodge(declared), {"text": "Let me in."}).status_code == status
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(declared: Contest) -> None:
    response = Client().get(_lodge(declared))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_the_complainant_is_told_of_the_ruling(
    complaint: Complaint, alice: User, bob: User, rita: User
) -> None:
    issue_ruling(
        complaint.contest,
        by=rita,
        kind=RulingKind.DISMISS,
        reason="The register shows no proxy votes.",
        complaint=complaint,
    )
    notice = Notification.objects.get(user=alice, kind=NotificationKind.RULING_ISSUED)
    assert notice.contest == complaint.contest
    assert notice.context["reason"] == "The register shows no proxy votes."
    assert notice.context["decision"] == RulingKind.DISMISS.label
    # A dismissal changes nothing, so only the complainant is told.
    assert not Notification.objects.filter(user=bob, kind=NotificationKind.RULING_ISSUED).exists()


@pytest.mark.django_db
def test_every_member_is_told_of_a_quash_and_a_rerun(
    complaint: Complaint, alice: User, bob: User, sam: User, olive: User, charlie: User, rita: User
) -> None:
    contest = complaint.contest
    ruling = issue_ruling(
        contest,
        by=rita,
        kind=RulingKind.QUASH_AND_RERUN,
        reason="Proxy votes are not allowed.",
        complaint=complaint,
        amendments={"proxy_allowed": False, "channel": "online"},
    )
    for person in (alice, bob, sam, olive):
        quashed = Notification.objects.get(user=person, kind=NotificationKind.RESULT_QUASHED)
        assert quashed.contest == contest and quashed.context["reason"] == ruling.reason
        rerun = Notification.objects.get(user=person, kind=NotificationKind.RERUN_ORDERED)
        assert rerun.contest == ruling.rerun
        assert rerun.context["rerun_of"] == contest.title
    assert (
        not Notification.objects.filter(user=charlie)
        .exclude(kind__in=[NotificationKind.NOMINATIONS_OPEN, NotificationKind.BALLOT_OPEN])
        .exists()
    )
    assert Notification.objects.filter(user=alice, kind=NotificationKind.RULING_ISSUED).count() == 1


@pytest.mark.django_db
def test_the_bodys_members_read_rulings_and_reasons(
    complaint: Complaint,
    rita: User,
    alice: User,
    bob: User,
    olive: User,
    sam: User,
    charlie: User,
    client_for: Callable[[User | None], Client],
) -> None:
    contest = complaint.contest
    ruling = issue_ruling(
        contest,
        by=rita,
        kind=RulingKind.QUASH_AND_RERUN,
        reason="Proxy votes are not allowed for a leader.",
        complaint=complaint,
        amendments={"proxy_allowed": False, "channel": "online"},
    )
    url = reverse("contest_rulings", args=[contest.pk])
    for person in (alice, bob, olive, sam):
        page = client_for(person).get(url)
        html = page.content.decode()
        assert page.status_code == HTTPStatus.OK
        assert "Proxy votes are not allowed for a leader." in html
        assert "Quash the result and order a re-run" in html
        assert reverse("contest", args=[ruling.rerun.pk]) in html
        # Who complained, and what they wrote, stay with the office.
        if person != alice:
            assert complaint.text not in html
            assert str(alice) not in html
    assert client_for(charlie).get(url).status_code == HTTPStatus.NOT_FOUND
    # The re-run's page reads the same rulings.
    page = client_for(bob).get(reverse("contest_rulings", args=[ruling.rerun.pk]))
    assert "Proxy votes are not allowed for a leader." in page.content.decode()


@pytest.mark.django_db
def test_contest_pages_link_original_and_rerun_both_ways(
    declared: Contest, rita: User, bob: User, client_for: Callable[[User | None], Client]
) -> None:
    ruling = issue_ruling(
        declared,
        by=rita,
        kind=RulingKind.QUASH_AND_RERUN,
        reason="Proxy votes are not allowed.",
        amendments={"proxy_allowed": False},
    )
    rerun = ruling.rerun
    client = client_for(bob)
    original_page = client.get(reverse("contest", args=[declared.pk])).content.decode()
    rerun_page = client.get(reverse("contest", args=[rerun.pk])).content.decode()
    assert reverse("contest", args=[rerun.pk]) in original_page
    assert reverse("contest", args=[declared.pk]) in rerun_page
    assert "Proxy votes are not allowed." in rerun_page
    assert reverse("complaint_lodge", args=[declared.pk]) in original_page
