"""A councillor votes on a phone: logs in, finds the open ballot, ranks the
candidates, checks the ballot, casts it and keeps the receipt code.

Three ways to rank, one test each: typing numbers (with the script running),
dragging and the move buttons (static/js/ranking.js), and typing numbers
with JavaScript off, the path every voter can rely on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from accounts.models import User
from elections.models import Ballot, Contest, Method, Participation
from tests.browser.conftest import Journey
from tests.browser.pages import log_in
from tests.conftest import candidate_ids, poll_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEIPT = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")


def open_the_ballot(trip: Journey, voter: User, contest: Contest) -> None:
    page = trip.page
    log_in(trip, voter)
    expect(page.get_by_role("heading", name="Open for voting")).to_be_visible()
    trip.check("home with the open ballot")
    page.get_by_role("link", name=f"Vote now in {contest.title}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(contest.title)
    trip.check("ballot")


def cast_and_come_back(trip: Journey, contest: Contest, expected: list[str]) -> None:
    """From the filled ballot: check it, cast it, note the receipt, look again."""
    page = trip.page
    page.get_by_role("button", name="Check my ballot").click()
    expect(page.get_by_role("heading", name="Check your ballot")).to_be_visible()
    expect(page.locator(".card li")).to_have_text(expected)
    trip.check("confirmation")
    page.get_by_role("button", name="Cast my vote").click()
    expect(page.get_by_role("heading", name="Your vote has been cast")).to_be_visible()
    assert RECEIPT.match(page.locator("#receipt").inner_text().strip())
    trip.check("receipt")

    trip.goto("/")
    card = page.locator("article.card", has=page.get_by_role("link", name=contest.title))
    expect(card).to_contain_text("You have voted.")
    expect(card.get_by_role("link", name=re.compile("Vote now"))).to_have_count(0)
    trip.check("home after voting")
    card.get_by_role("link", name=contest.title).click()
    expect(page.get_by_text("You have voted in this poll.")).to_be_visible()
    trip.check("contest after voting")


def counted_as(contest: Contest, by: User) -> list[int]:
    """The choices in the ballot box once the poll closes (the only ballot)."""
    poll = poll_of(contest)
    poll.close(by=by)
    return Ballot.objects.get(poll=poll).choices


@pytest.fixture
def stv_contest(make_contest: Callable[..., Contest]) -> Contest:
    return make_contest(Method.STV, seats=2)


def test_it_lets_a_councillor_rank_by_typing_numbers_on_a_phone(
    journey: Callable[..., Journey], alice: User, sam: User, stv_contest: Contest
) -> None:
    trip = journey("phone-typing", phone=True)
    open_the_ballot(trip, alice, stv_contest)
    page = trip.page
    page.get_by_label("Ben Baker", exact=True).fill("1")
    page.get_by_label("Cat Carter", exact=True).fill("2")
    cast_and_come_back(trip, stv_contest, ["1. Ben Baker", "2. Cat Carter"])

    assert Participation.objects.filter(poll=poll_of(stv_contest), voter=alice).exists()
    ids = candidate_ids(stv_contest)
    assert counted_as(stv_contest, sam) == [ids["Ben Baker"], ids["Cat Carter"]]


def test_it_lets_a_councillor_rank_by_dragging_and_with_the_move_buttons(
    journey: Callable[..., Journey], alice: User, sam: User, stv_contest: Contest
) -> None:
    trip = journey("phone-dragging", phone=True)
    open_the_ballot(trip, alice, stv_contest)
    page = trip.page

    def row(name: str):  # type: ignore[no-untyped-def]
        return page.locator(f'[data-rank-row][data-name="{name}"]')

    def numbers() -> dict[str, str]:
        return {
            name: row(name).locator("input.rank").input_value()
            for name in ("Ann Archer", "Ben Baker", "Cat Carter")
        }

    divider = page.locator("[data-rank-divider]")
    expect(divider).to_have_text("Not ranked")
    # Nothing ranked yet: dropping a candidate above the divider ranks them.
    row("Cat Carter").locator(".rank-handle").drag_to(divider, target_position={"x": 20, "y": 1})
    assert numbers() == {"Ann Archer": "", "Ben Baker": "", "Cat Carter": "1"}
    row("Ann Archer").locator(".rank-handle").drag_to(divider, target_position={"x": 20, "y": 1})
    assert numbers() == {"Ann Archer": "2", "Ben Baker": "", "Cat Carter": "1"}
    trip.check("ballot after dragging")

    # The keyboard way: the move buttons, with focus kept on the moved row.
    page.get_by_role("button", name="Move up: Ann Archer").focus()
    page.keyboard.press("Enter")
    assert numbers() == {"Ann Archer": "1", "Ben Baker": "", "Cat Carter": "2"}
    expect(page.locator("form").get_by_role("status")).to_have_text("Ann Archer is now number 1.")
    # Ann is first now, so her "Move up" is off and focus moved to "Move down".
    expect(page.get_by_role("button", name="Move down: Ann Archer")).to_be_focused()
    # Down from last place takes a candidate off the ranking; up puts them back.
    page.get_by_role("button", name="Move down: Cat Carter").focus()
    page.keyboard.press("Enter")
    assert numbers() == {"Ann Archer": "1", "Ben Baker": "", "Cat Carter": ""}
    expect(page.locator("form").get_by_role("status")).to_have_text(
        "Cat Carter is no longer ranked."
    )
    expect(page.get_by_role("button", name="Move up: Cat Carter")).to_be_focused()
    page.keyboard.press("Enter")
    assert numbers() == {"Ann Archer": "1", "Ben Baker": "", "Cat Carter": "2"}
    # Typing still works with the script running, and the list follows it.
    row("Ben Baker").locator("input.rank").fill("3")
    row("Ben Baker").locator("input.rank").press("Tab")
    order = page.locator("[data-rank-row]").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.name)"
    )
    assert order == ["Ann Archer", "Cat Carter", "Ben Baker"]
    expect(divider).to_be_hidden()  # every candidate is ranked
    trip.check("ballot after the move buttons")

    cast_and_come_back(trip, stv_contest, ["1. Ann Archer", "2. Cat Carter", "3. Ben Baker"])
    ids = candidate_ids(stv_contest)
    assert counted_as(stv_contest, sam) == [ids["Ann Archer"], ids["Cat Carter"], ids["Ben Baker"]]


def test_it_lets_a_councillor_vote_without_javascript(
    journey: Callable[..., Journey], alice: User, sam: User, make_contest: Callable[..., Contest]
) -> None:
    contest = make_contest(Method.AV)
    trip = journey("phone-no-javascript", phone=True, javascript=False)
    open_the_ballot(trip, alice, contest)
    page = trip.page
    # No script: no handles, no move buttons, just the numbers.
    expect(page.locator(".rank-handle")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Move up"))).to_have_count(0)
    page.get_by_label("Cat Carter", exact=True).fill("1")
    page.get_by_label("Ann Archer", exact=True).fill("2")
    page.get_by_label("Ben Baker", exact=True).fill("3")
    cast_and_come_back(trip, contest, ["1. Cat Carter", "2. Ann Archer", "3. Ben Baker"])
    ids = candidate_ids(contest)
    assert counted_as(contest, sam) == [ids["Cat Carter"], ids["Ann Archer"], ids["Ben Baker"]]
