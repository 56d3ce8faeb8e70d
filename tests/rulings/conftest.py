"""Fixtures for complaints, rulings and the regional office.

Besides the shared cast (alice, bob, sam, olive, charlie), here are:
- rita: a regional official of Testshire, the region of the Ashby group;
- otto: a regional official of another region (Otherdale);
- a counted and declared contest that alice and bob voted in, and a
  complaint alice lodged about it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from elections.models import Contest, Region, RegionalOfficial, RuleSet
from elections.models.rulings import Complaint
from elections.services.casting import cast_ballot
from elections.services.rulings import lodge_complaint
from tests.conftest import candidate_ids, poll_of


@pytest.fixture
def rita(make_user: Callable[..., User], region: Region) -> User:
    user = make_user("Rita Regional")
    RegionalOfficial.objects.create(region=region, user=user)
    return user


@pytest.fixture
def other_region(db: None) -> Region:
    rules = RuleSet.objects.create(name="Otherdale defaults")
    return Region.objects.create(name="Otherdale", slug="otherdale", default_rules=rules)


@pytest.fixture
def otto(make_user: Callable[..., User], other_region: Region) -> User:
    user = make_user("Otto Otherdale")
    RegionalOfficial.objects.create(region=other_region, user=user)
    return user


@pytest.fixture
def polling(make_contest: Callable[..., Contest], alice: User, bob: User) -> Contest:
    """A contest polling now, with alice and bob on the roll; alice has voted."""
    contest = make_contest()
    ids = candidate_ids(contest)
    cast_ballot(poll_of(contest).pk, alice, [ids["Ann Archer"]])
    return contest


@pytest.fixture
def declared(polling: Contest, bob: User, sam: User) -> Contest:
    """The same contest with bob's vote in, closed, counted and declared."""
    ids = candidate_ids(polling)
    poll = poll_of(polling)
    cast_ballot(poll.pk, bob, [ids["Ben Baker"]])
    poll.close(by=sam)
    poll.refresh_from_db()
    poll.count(by=sam, seed="fixed")
    polling.refresh_from_db()
    polling.declare(by=sam)
    polling.refresh_from_db()
    return polling


@pytest.fixture
def complaint(declared: Contest, alice: User) -> Complaint:
    return lodge_complaint(declared, by=alice, text="Proxy votes were used in the room.")


@pytest.fixture
def client_for() -> Callable[[User | None], Client]:
    def build(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return build


def rule_post(contest: Contest, **changes: Any) -> dict[str, Any]:
    """Form data for every rule field of the ruling form, starting from the
    contest's rules, with `changes` applied (booleans left out when false,
    as a browser leaves an unticked box out)."""
    return rule_post_for(contest.rules, **changes)


def rule_post_for(rules: RuleSet, **changes: Any) -> dict[str, Any]:
    values = {**rules.as_dict(), **changes}
    data: dict[str, Any] = {}
    for field, value in values.items():
        if isinstance(value, bool):
            if value:
                data[f"rule_{field}"] = "on"
        else:
            data[f"rule_{field}"] = value
    return data
