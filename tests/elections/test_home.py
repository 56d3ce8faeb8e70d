"""The member's home: open ballots first, then upcoming and decided, votes, proxies;
beyond the latest few upcoming and decided contests, pages that list them all."""

from __future__ import annotations

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from elections.models import (
    Body,
    Contest,
    ContestState,
    Method,
    Participation,
    Poll,
    PollStatus,
    ProxyAppointment,
    RuleSet,
)
from elections.services.casting import cast_ballot
from tests.conftest import candidate_ids, poll_of


@pytest.mark.django_db
def test_it_orders_open_then_upcoming_then_decided(client, alice, sam, make_contest):
    upcoming = make_contest(Method.PLURALITY, open_poll=False)
    upcoming.title = "Upcoming contest"
    upcoming.save()
    decided = make_contest(Method.PLURALITY)
    decided.title = "Decided contest"
    decided.save()
    poll = poll_of(decided)
    poll.close(by=sam)
    poll.count(by=sam)
    decided.declare(by=sam)
    open_ = make_contest(Method.PLURALITY)
    open_.title = "Open contest"
    open_.save()
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert (
        page.index("Open contest") < page.index("Upcoming contest") < page.index("Decided contest")
    )


@pytest.mark.django_db
def test_it_lists_votes_with_receipt_checks_and_proxies(client, alice, bob, sam, make_contest):
    contest = make_contest(Method.PLURALITY, open_poll=False, proxy_allowed=True)
    ProxyAppointment.appoint(contest, principal=bob, proxy=alice).decide(by=sam, approve=True)
    poll = poll_of(contest)
    poll.open(by=sam)
    cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert "Your votes and receipts" in page
    assert "Receipts can be checked after the close" in page
    assert reverse("proxy_ballot", args=[poll.pk, bob.pk]) in page
    assert f"You vote for {bob}" in page
    poll.close(by=sam)
    page = client.get(reverse("home")).content.decode()
    assert reverse("receipt_check", args=[contest.pk]) in page
    client.force_login(bob)
    assert f"{alice} is your proxy" in client.get(reverse("home")).content.decode()


# --- Many contests: the home page shows the latest, the rest are a link away -------------


def _contests(body: Body, n: int, state: str, title: str, *, polls: bool = False) -> list[Contest]:
    """``n`` contests in ``state``, written in bulk; decided ones a day apart, the last
    (highest number) decided most recently. ``polls`` gives each a poll in keeping."""
    now = timezone.now()
    rules = RuleSet.objects.bulk_create([RuleSet(name=f"{title} {i}") for i in range(n)])
    day = {
        ContestState.DECLARED: "declared_at",
        ContestState.QUASHED: "quashed_at",
    }.get(state)  # fmt: skip
    contests = Contest.objects.bulk_create(
        Contest(
            body=body,
            title=f"{title} #{i:02d}",
            rules=rules[i],
            state=state,
            **({day: now - timedelta(days=n - i)} if day else {}),
        )
        for i in range(n)
    )
    if polls:
        status = {
            ContestState.POLLING: PollStatus.OPEN,
            ContestState.READY: PollStatus.SCHEDULED,
        }.get(state, PollStatus.COUNTED)  # fmt: skip
        Poll.objects.bulk_create(
            Poll(
                contest=c,
                opens_at=now - timedelta(days=60 - i),
                closes_at=now - timedelta(days=59 - i)
                if status == PollStatus.COUNTED
                else now + timedelta(days=1 + i),
                closed_at=now - timedelta(days=59 - i) if status == PollStatus.COUNTED else None,
                status=status,
            )
            for i, c in enumerate(contests)
        )
    return contests


def _titles(page: str, prefix: str) -> list[str]:
    """The titles of the contest cards on ``page`` that start with ``prefix``, in order."""
    return re.findall(rf">({re.escape(prefix)} #\d\d)</a></h3>", page)


@pytest.mark.django_db
def test_it_shows_the_latest_decided_and_links_to_all_past_contests(client, alice, body):
    _contests(body, 13, ContestState.DECLARED, "Past")
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    # The ten decided most recently, latest first; the three oldest only on the past page.
    assert _titles(page, "Past") == [f"Past #{i:02d}" for i in range(12, 2, -1)]
    assert "See all 13 past contests" in page
    assert reverse("past_contests") in page


@pytest.mark.django_db
def test_it_orders_past_contests_by_when_they_were_decided(client, alice, body):
    now = timezone.now()
    declared, quashed, counted = (
        _contests(body, 1, state, name, polls=True)[0]
        for state, name in (
            (ContestState.DECLARED, "Declared"),
            (ContestState.QUASHED, "Quashed"),
            (ContestState.COUNTED, "Counted"),
        )
    )
    # Created in that order, decided in the reverse: counted (its poll closed) last.
    Contest.objects.filter(pk=declared.pk).update(declared_at=now - timedelta(days=3))
    Contest.objects.filter(pk=quashed.pk).update(
        declared_at=now - timedelta(days=9), quashed_at=now - timedelta(days=2)
    )
    Poll.objects.filter(contest=counted).update(closed_at=now - timedelta(days=1))
    client.force_login(alice)
    for url in (reverse("home"), reverse("past_contests")):
        page = client.get(url).content.decode()
        assert page.index("Counted #00") < page.index("Quashed #00") < page.index("Declared #00")


@pytest.mark.django_db
def test_it_pages_through_past_contests_latest_first(client, alice, body):
    _contests(body, 30, ContestState.DECLARED, "Past")
    client.force_login(alice)
    first = client.get(reverse("past_contests"))
    assert first.status_code == HTTPStatus.OK
    first_page = first.content.decode()
    assert _titles(first_page, "Past") == [f"Past #{i:02d}" for i in range(29, 4, -1)]
    assert "30 contests" in first_page and "Page 1 of 2" in first_page
    assert '<nav aria-label="Past contests: pages">' in first_page
    assert '<a href="?page=2" rel="next">Next page</a>' in first_page
    assert 'rel="prev"' not in first_page
    second = client.get(reverse("past_contests"), {"page": 2}).content.decode()
    assert '<a href="?page=1" rel="prev">Previous page</a>' in second
    assert _titles(second, "Past") == [f"Past #{i:02d}" for i in range(4, -1, -1)]
    # Past the end: the last page, as the inbox does.
    assert _titles(client.get(reverse("past_contests"), {"page": 9}).content.decode(), "Past") == (
        _titles(second, "Past")
    )


@pytest.mark.django_db
def test_it_never_shows_an_outsiders_contests(client, alice, charlie, body, other_body):
    _contests(body, 12, ContestState.DECLARED, "Ashby past")
    _contests(body, 11, ContestState.NOMINATIONS, "Ashby upcoming")
    _contests(other_body, 14, ContestState.DECLARED, "Brindle past")
    _contests(other_body, 3, ContestState.POLLING, "Brindle open", polls=True)
    client.force_login(alice)
    home = client.get(reverse("home")).content.decode()
    past = client.get(reverse("past_contests")).content.decode()
    assert "Brindle" not in home + past
    assert "See all 12 past contests" in home and len(_titles(past, "Ashby past")) == 12
    assert "See all 11 upcoming contests" in home
    client.force_login(charlie)
    home = client.get(reverse("home")).content.decode()
    past = client.get(reverse("past_contests")).content.decode()
    upcoming = client.get(reverse("upcoming_contests")).content.decode()
    assert "Ashby" not in home + past + upcoming
    assert "See all 14 past contests" in home and len(_titles(past, "Brindle past")) == 14
    assert len(_titles(home, "Brindle open")) == 3
    assert "Nothing scheduled." in upcoming


@pytest.mark.django_db
def test_it_shows_every_open_contest_and_the_soonest_upcoming(client, alice, body):
    _contests(body, 14, ContestState.POLLING, "Open", polls=True)
    _contests(body, 12, ContestState.READY, "Ready", polls=True)
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert len(_titles(page, "Open")) == 14
    # Soonest to open first: the polls of the lowest numbers open first.
    assert _titles(page, "Ready") == [f"Ready #{i:02d}" for i in range(10)]
    assert "See all 12 upcoming contests" in page
    upcoming = client.get(reverse("upcoming_contests")).content.decode()
    assert _titles(upcoming, "Ready") == [f"Ready #{i:02d}" for i in range(12)]


@pytest.mark.django_db
def test_it_lists_the_latest_votes_and_where_to_find_the_rest(client, alice, body):
    contests = _contests(body, 12, ContestState.DECLARED, "Voted", polls=True)
    Participation.objects.bulk_create(Participation(poll=poll_of(c), voter=alice) for c in contests)
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    votes = page[page.index("Your votes and receipts") :]
    assert len(re.findall(r"<li>Voted #\d\d: you voted", votes)) == 10
    assert "These are your latest votes" in votes
    past = client.get(reverse("past_contests")).content.decode()
    for c in contests:
        assert reverse("receipt_check", args=[c.pk]) in past


def _home_world(body: Body, alice: User, n: int) -> None:
    """``n`` more contests, in every state, most with polls, alice voting in some."""
    states = list(ContestState)
    for k, state in enumerate(states):
        share = n // len(states) + (k < n % len(states))
        made = _contests(body, share, state, f"{state} contest", polls=k % 3 > 0)
        polls = Poll.objects.filter(contest__in=made, status=PollStatus.COUNTED)
        Participation.objects.bulk_create(Participation(poll=p, voter=alice) for p in polls)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["home", "past_contests", "upcoming_contests"])
def test_it_makes_as_many_queries_for_60_contests_as_for_10(client, alice, body, url):
    client.force_login(alice)
    counts = []
    for more in (10, 50):  # 10 contests, then 60
        _home_world(body, alice, more)
        client.get(reverse(url))  # the first request may warm caches; count the second
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(url))
        assert response.status_code == HTTPStatus.OK
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
