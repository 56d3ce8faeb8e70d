"""A group secretary runs a contest through the site, start to declaration.

Sam logs in (with an authenticator code: secretaries must have one), imports
the group's roll from a CSV file, creates an alternative-vote contest, opens
nominations, adds the candidates, finalises the ballot paper, schedules the
poll and opens it. The councillors vote (through the casting service: their
side of the site has its own journey), and Sam closes the poll, counts it,
declares the result and sees it, with its chart, as the members will.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from elections.models import Body, Contest, ContestState, Membership
from elections.services.casting import cast_ballot
from tests.browser.conftest import Journey
from tests.browser.pages import log_in
from tests.conftest import candidate_ids, poll_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLL = """name,email,ward
Dana Fell,dana.fell@ashby.example,Northgate
Evan Moss,evan.moss@ashby.example,Northgate
Fern Hale,fern.hale@ashby.example,Riverside
Gil Yates,gil.yates@ashby.example,Riverside
Hana Pryce,hana.pryce@ashby.example,Castle
"""

CANDIDATES = [
    ("Ann Archer", "Northgate", "woman"),
    ("Ben Baker", "Riverside", "man"),
    ("Cat Carter", "Castle", "woman"),
]


def local_input(moment: timezone.datetime) -> str:
    """A time as a datetime-local input takes it, in the site's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def press(trip: Journey, button: str, done: str, label: str) -> None:
    """Presses one of the contest page's buttons and waits for its message."""
    trip.page.get_by_role("button", name=button, exact=True).click()
    expect(trip.page.locator(".messages")).to_contain_text(done)
    trip.check(label)


def test_it_lets_a_secretary_run_a_contest_to_its_declaration(
    journey: Callable[..., Journey], sam: User, body: Body
) -> None:
    trip = journey("secretary")
    page = trip.page
    log_in(trip, sam)
    trip.check("home")

    # --- The roll, imported from a spreadsheet -------------------------------
    page.get_by_role("link", name="Import the roll").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Import the roll of {body.name}")
    trip.check("roll import")
    page.get_by_label("Roll file (CSV)").set_input_files(
        files=[{"name": "ashby-roll.csv", "mimeType": "text/csv", "buffer": ROLL.encode()}]
    )
    page.get_by_role("button", name="Check the file and preview the changes").click()
    expect(page.get_by_role("heading", name="New members")).to_be_visible()
    expect(page.get_by_role("table", name="New members")).to_contain_text("Hana Pryce")
    trip.check("roll preview")
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.locator(".messages")).to_contain_text(f"The roll of {body.name} is imported")
    trip.check("roll imported")
    councillors = list(
        User.objects.filter(
            memberships__body=body, memberships__role=Membership.Role.MEMBER
        ).order_by("email")
    )
    assert [c.full_name for c in councillors] == [
        "Dana Fell", "Evan Moss", "Fern Hale", "Gil Yates", "Hana Pryce",
    ]  # fmt: skip

    # --- The contest ---------------------------------------------------------
    page.get_by_role("link", name="My contests", exact=True).click()
    trip.check("home with the roll")
    page.get_by_role("link", name="create a contest").click()
    trip.check("new contest")
    page.get_by_label("Title").fill("Group leader 2026")
    page.get_by_label("Description").fill("The group elects its leader for the year.")
    page.get_by_label("Method").select_option(label="Alternative vote")
    page.get_by_role("button", name="Create the contest").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Group leader 2026")
    trip.check("contest created")
    contest = Contest.objects.get(title="Group leader 2026")

    press(trip, "Open nominations", "Nominations are open.", "nominations open")
    for name, affiliation, gender in CANDIDATES:
        page.get_by_role("link", name="Add a candidate").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Add a candidate")
        trip.check(f"add {name}")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Affiliation").fill(affiliation)
        page.get_by_label("Gender").select_option(gender)
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator(".messages")).to_contain_text(f"{name} added.")
        trip.check(f"{name} added")
    press(trip, "Finalise the ballot paper", "The ballot paper is final.", "ballot final")

    page.get_by_role("link", name="Schedule the poll").click()
    trip.check("schedule")
    now = timezone.now()
    page.get_by_label("Opens").fill(local_input(now + timedelta(hours=1)))
    page.get_by_label("Closes").fill(local_input(now + timedelta(days=2)))
    page.get_by_role("button", name="Save the times").click()
    expect(page.locator(".messages")).to_contain_text("Poll scheduled.")
    trip.check("scheduled")
    press(trip, "Open the poll now", "The poll is open.", "poll open")
    contest.refresh_from_db()
    assert contest.state == ContestState.POLLING

    # --- The councillors vote ------------------------------------------------
    ids = candidate_ids(contest)
    ann, ben, cat = ids["Ann Archer"], ids["Ben Baker"], ids["Cat Carter"]
    poll = poll_of(contest)
    for person, ranking in zip(
        councillors,
        [[ann, cat], [ben], [cat, ann], [ann], [ben, ann]],
        strict=True,
    ):
        cast_ballot(poll.pk, person, ranking)
    page.reload()
    expect(page.locator("dl.facts").first).to_contain_text("5 of 5")
    trip.check("turnout")

    # --- Close, count, declare -----------------------------------------------
    press(trip, "Close the poll now", "The poll is closed", "poll closed")
    press(trip, "Count", "The poll has been counted.", "counted")
    press(trip, "Declare the result", "The result is declared.", "declared")
    page.get_by_role("link", name="See the result").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Group leader 2026: result")
    # Two rounds: Cat is excluded and her ballot passes to Ann, who wins 3 to 2.
    expect(page.locator("svg.chart").first).to_be_visible()
    final = page.get_by_role("table", name="the numbers in the chart").last
    expect(final.get_by_role("row", name="Ann Archer (elected)")).to_contain_text("3")
    trip.check("result")
    contest.refresh_from_db()
    assert contest.state == ContestState.DECLARED
