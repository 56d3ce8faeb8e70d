"""A regional official quashes a result and orders a re-run, through the site.

A councillor complains about a declared contest on the members' site. The
official (authenticator code required) opens the complaint in the regional
office (/office/), takes it under review, and issues a ruling that quashes
the result and orders an online re-run, with a reason. The re-run then shows
in the contest's lineage, in the office and on the members' site.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from elections.models import Body, Complaint, Contest, ContestState, RegionalOfficial
from elections.services.casting import cast_ballot
from tests.browser.conftest import Journey
from tests.browser.pages import log_in
from tests.conftest import candidate_ids, poll_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPLAINT = "Two members were told the wrong closing time and could not vote."
REASON = "Members were misinformed about the closing time; the poll is run again, online."


def local_input(moment: timezone.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def declared(make_contest: Callable[..., Contest], alice: User, bob: User, sam: User) -> Contest:
    """A declared first-past-the-post contest that Ben won 2 votes to 0."""
    contest = make_contest()
    contest.title = "Group leader 2026"
    contest.save(update_fields=["title"])
    ids = candidate_ids(contest)
    poll = poll_of(contest)
    for voter in (alice, bob):
        cast_ballot(poll.pk, voter, [ids["Ben Baker"]])
    poll.close(by=sam)
    poll.count(by=sam)
    contest.declare(by=sam)
    return contest


@pytest.fixture
def official(make_user: Callable[..., User], body: Body) -> User:
    person = make_user("Olu Official")
    RegionalOfficial.objects.create(region=body.region, user=person)
    return person


def test_it_lets_an_official_quash_a_result_and_order_a_rerun(
    journey: Callable[..., Journey], alice: User, official: User, declared: Contest
) -> None:
    # --- A councillor complains ---------------------------------------------
    member = journey("complaint")
    page = member.page
    log_in(member, alice)
    member.check("home")
    page.get_by_role("link", name=declared.title, exact=True).click()
    member.check("declared contest")
    page.get_by_role("link", name="Complain about this contest").click()
    member.check("complaint form")
    page.get_by_label("Your complaint").fill(COMPLAINT)
    page.get_by_role("button", name="Send the complaint").click()
    expect(page.locator(".messages")).to_contain_text("sent to the regional office")
    member.check("complaint sent")
    complaint = Complaint.objects.get(contest=declared)

    # --- The official hears it and rules ------------------------------------
    office = journey("official")
    page = office.page
    log_in(office, official)
    office.check("home")
    page.get_by_role("link", name="Regional office").click()
    expect(page.get_by_role("table", name="Complaints waiting for a ruling")).to_contain_text(
        declared.title
    )
    office.check("office")
    page.get_by_role("link", name=f"#{complaint.pk}", exact=True).click()
    expect(page.locator("main, #content").first).to_contain_text(COMPLAINT)
    office.check("complaint")
    page.get_by_role("link", name="Take under review").click()
    office.check("review")
    page.get_by_role("button", name="Yes, take it under review").click()
    expect(page.get_by_text("The complaint is under review.")).to_be_visible()
    office.check("under review")
    page.get_by_role("link", name="Quash the result and order a re-run").click()
    office.check("ruling")
    page.get_by_label("Reason").fill(REASON)
    expect(page.get_by_label("In answer to the complaint")).to_have_value(str(complaint.pk))
    opens = timezone.now() + timedelta(days=3)
    page.get_by_label("Re-run poll opens").fill(local_input(opens))
    page.get_by_label("Re-run poll closes").fill(local_input(opens + timedelta(hours=8)))
    page.get_by_role("button", name="Yes, issue this ruling").click()
    expect(page.get_by_text("Ruling issued")).to_be_visible()
    rerun = Contest.objects.get(rerun_of=declared)
    expect(page.get_by_role("link", name=rerun.title).first).to_be_visible()
    office.check("ruling issued")

    declared.refresh_from_db()
    assert declared.state == ContestState.QUASHED
    complaint.refresh_from_db()
    assert complaint.ruling is not None and complaint.ruling.reason == REASON

    # --- The lineage, as the members see it ---------------------------------
    page = member.page
    member.goto(f"/contests/{declared.pk}/")
    lineage = page.locator(
        "section", has=page.get_by_role("heading", name="Complaints and rulings")
    )
    expect(lineage).to_contain_text("Quashed")
    member.check("quashed contest")
    lineage.get_by_role("link", name=rerun.title).click()
    expect(page.get_by_text("This is a re-run of")).to_be_visible()
    expect(page.get_by_text(REASON[:40])).to_be_visible()
    member.check("re-run")
    page.get_by_role("link", name="Rulings and their reasons").click()
    expect(page.get_by_text(REASON)).to_be_visible()
    member.check("rulings")
