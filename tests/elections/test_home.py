"""The member's home: open ballots first, then upcoming and decided, votes, proxies."""

from __future__ import annotations

import pytest
from django.urls import reverse

from elections.models import Method, ProxyAppointment
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
