"""A whole world for the security walk: every kind of object a URL can name.

Built through the services, as tests/story does, so every row is one the
application itself could have written. Besides tests/conftest.py's cast:
- cara: a councillor of Ashby standing as a candidate;
- dave, erin: councillors of Ashby (dave gave alice his proxy, erin's waits);
- rita: the regional official of Testshire (Ashby's region);
- otto: the regional official of Otherdale, another region.

Contests, all in Ashby: a draft; one in nominations (cara standing, a proxy
pending); one polling online with an approved proxy; a ranked one polling;
one polling in the room; one closed with paper counts to countersign; one
counted (bob complained); one declared then quashed by rita's ruling, and
its re-run, scheduled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.utils import timezone

from accounts.models import User
from elections.models import (
    Body,
    Candidate,
    Channel,
    Contest,
    Membership,
    Method,
    Nomination,
    Poll,
    ProxyAppointment,
    Region,
    RegionalOfficial,
    RuleSet,
    RulingKind,
)
from elections.services.casting import cast_ballot
from elections.services.register import enter_paper_counts, mark_in_person
from elections.services.rulings import issue_ruling, lodge_complaint, review_complaint
from tests.security_walk.helpers import ROLES, World, ensure_second_factor


def _rules(**values: Any) -> RuleSet:
    return RuleSet.objects.create(name="Contest rules", **values)


def _ready(
    body: Body,
    sam: User,
    title: str,
    candidates: list[tuple[str, User | None]],
    **rules: Any,
) -> Contest:
    contest = Contest.objects.create(body=body, title=title, rules=_rules(**rules))
    contest.open_nominations(by=sam)
    for name, user in candidates:
        Candidate.add(contest, by=sam, name=name, user=user)
    contest.finalise_ballot(by=sam)
    return contest


def _open(contest: Contest, sam: User) -> Poll:
    now = timezone.now()
    poll = contest.schedule_poll(
        by=sam, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=2)
    )
    poll.open(by=sam)
    contest.refresh_from_db()
    poll.refresh_from_db()
    return poll


def _ids(contest: Contest) -> dict[str, int]:
    return {c.name: c.pk for c in contest.candidates.all()}


@pytest.fixture
def world(
    db: None,
    make_user: Callable[..., User],
    region: Region,
    body: Body,
    other_body: Body,
    alice: User,
    bob: User,
    sam: User,
    olive: User,
    charlie: User,
) -> World:
    def member(name: str) -> User:
        user = make_user(name)
        Membership.objects.create(body=body, user=user)
        return user

    cara, dave, erin = member("Cara Candidate"), member("Dave Absent"), member("Erin Member")
    other_region = Region.objects.create(
        name="Otherdale",
        slug="otherdale",
        default_rules=RuleSet.objects.create(name="Otherdale defaults"),
    )
    rita, otto = make_user("Rita Regional"), make_user("Otto Otherdale")
    RegionalOfficial.objects.create(region=region, user=rita)
    RegionalOfficial.objects.create(region=other_region, user=otto)
    for official in (sam, olive, rita, otto):
        ensure_second_factor(official)
    people = {
        "outsider": charlie,
        "member": alice,
        "candidate": cara,
        "secretary": sam,
        "observer": olive,
        "other_official": otto,
        "official": rita,
        "bob": bob,
        "dave": dave,
        "erin": erin,
    }
    contests: dict[str, Contest] = {}
    objects: dict[str, models.Model] = {}

    # A draft: nominations not yet open.
    contests["draft"] = Contest.objects.create(
        body=body, title="Ashby whip 2026 (draft)", rules=_rules(proxy_allowed=True)
    )

    # Nominations open: cara stands, bob nominates her; erin's proxy waits for sam.
    nominations = Contest.objects.create(
        body=body, title="Ashby treasurer 2026 (nominations)", rules=_rules(proxy_allowed=True)
    )
    nominations.open_nominations(by=sam)
    Candidate.add(nominations, by=sam, name="Ann Archer")
    standing = Candidate.stand(nominations, member=cara, statement="I will keep the books.")
    Nomination.add(standing, nominator=bob)
    objects["standing"] = standing
    objects["proxy_pending"] = ProxyAppointment.appoint(nominations, principal=erin, proxy=bob)
    contests["nominations"] = nominations

    # Polling online, with proxies: dave's proxy (alice) approved before it opened; bob voted.
    polling = _ready(
        body, sam, "Ashby leader 2026 (polling)",
        [("Ann Archer", None), ("Cara Candidate", cara), ("Ben Baker", None)],
        proxy_allowed=True,
    )  # fmt: skip
    approved = ProxyAppointment.appoint(polling, principal=dave, proxy=alice)
    approved.decide(by=sam, approve=True)
    objects["proxy_approved"] = approved
    poll = _open(polling, sam)
    cast_ballot(poll.pk, bob, [_ids(polling)["Ann Archer"]])
    contests["polling"] = polling

    # A ranked ballot (alternative vote), polling online: for rank numbers.
    contests["ranked"] = _ready(
        body, sam, "Ashby deputy 2026 (ranked)",
        [("Ann Archer", None), ("Cara Candidate", cara), ("Ben Baker", None)],
        method=Method.AV,
    )  # fmt: skip
    _open(contests["ranked"], sam)

    # In the room, polling: bob is marked on the register.
    in_room = _ready(
        body, sam, "Ashby chair 2026 (in the room)",
        [("Ann Archer", None), ("Cara Candidate", cara)], channel=Channel.IN_PERSON,
    )  # fmt: skip
    mark_in_person(_open(in_room, sam).pk, bob, by=sam)
    contests["in_room"] = in_room

    # In the room, closed, paper counts entered and waiting for olive's countersignature.
    paper = _ready(
        body, sam, "Ashby secretary 2026 (paper counts)",
        [("Ann Archer", None), ("Cara Candidate", cara)], channel=Channel.IN_PERSON,
    )  # fmt: skip
    paper_poll = _open(paper, sam)
    mark_in_person(paper_poll.pk, alice, by=sam)
    mark_in_person(paper_poll.pk, bob, by=sam)
    paper_poll.close(by=sam)
    ids = _ids(paper)
    enter_paper_counts(
        paper_poll, {str(ids["Ann Archer"]): 1, str(ids["Cara Candidate"]): 1}, by=sam
    )
    contests["paper"] = paper

    # Counted, not declared: its result is the secretary's alone; bob has complained.
    counted = _ready(
        body, sam, "Ashby vice-chair 2026 (counted)", [("Ann Archer", None), ("Ben Baker", None)]
    )
    counted_poll = _open(counted, sam)
    cast_ballot(counted_poll.pk, alice, [_ids(counted)["Ben Baker"]])
    counted_poll.close(by=sam)
    counted_poll.refresh_from_db()
    counted_poll.count(by=sam, seed="fixed")
    counted.refresh_from_db()
    contests["counted"] = counted
    objects["complaint_open"] = lodge_complaint(counted, by=bob, text="The count was rushed.")

    # Declared, complained about, quashed with a re-run ordered by rita.
    quashed = _ready(
        body, sam, "Ashby leader 2025 (quashed)",
        [("Ann Archer", None), ("Cara Candidate", cara)],
    )  # fmt: skip
    quashed_poll = _open(quashed, sam)
    ids = _ids(quashed)
    cast_ballot(quashed_poll.pk, alice, [ids["Ann Archer"]])
    cast_ballot(quashed_poll.pk, bob, [ids["Cara Candidate"]])
    quashed_poll.close(by=sam)
    quashed_poll.refresh_from_db()
    quashed_poll.count(by=sam, seed="fixed")
    quashed.refresh_from_db()
    quashed.declare(by=sam)
    complaint = lodge_complaint(quashed, by=alice, text="Members were turned away.")
    review_complaint(complaint, by=rita)
    opens_at = timezone.now() + timedelta(days=3)
    ruling = issue_ruling(
        quashed,
        by=rita,
        kind=RulingKind.QUASH_AND_RERUN,
        reason="The roll was wrong; run it again.",
        complaint=complaint,
        timetable=(opens_at, opens_at + timedelta(hours=8)),
    )
    quashed.refresh_from_db()
    assert ruling.rerun is not None
    contests["quashed"] = quashed
    contests["rerun"] = ruling.rerun
    objects["complaint_decided"] = complaint
    objects["ruling"] = ruling

    for contest in contests.values():
        contest.refresh_from_db()
    return World(
        region=region,
        other_region=other_region,
        body=body,
        other_body=other_body,
        people=people,
        contests=contests,
        objects=objects,
    )


# --- Clients -----------------------------------------------------------------
@pytest.fixture
def clients(world: World) -> dict[str, Client]:
    """One logged-in test client per role; a 500 comes back as a response."""
    out: dict[str, Client] = {}
    for role in ROLES:
        client = Client(raise_request_exception=False)
        user = world.user(role)
        if user is not None:
            client.force_login(user)
        out[role] = client
    return out


@pytest.fixture
def lenient_ballot_rate(settings: Any) -> None:
    """The ballot's rate limit counts per person across all of a test's posts;
    the fuzzing here is about the form, not the limiter (tests/security's)."""
    settings.TELLER_BALLOT_RATE = "1000000/m"
