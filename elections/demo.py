"""The demo: an invented council group with three contests, for `make run`.

Ashby Vale Council Group (52 councillors) in the Northmoor Region; a
secretary, an observer and a regional official; one contest open for
voting, one scheduled, one declared. Every person and place is invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from elections.ballot_paper import PaperKind
from elections.models import (
    Body,
    Candidate,
    Contest,
    Membership,
    Method,
    Region,
    RegionalOfficial,
    RuleSet,
)
from elections.services.casting import cast_ballot

DEMO_PASSWORD = "teller-demo-2026"  # noqa: S105 (invented accounts on a local demo)
DOMAIN = "ashbyvale.example"

FIRST = ["Aled", "Bethan", "Callum", "Delyth", "Eamon", "Fionnuala", "Gethin", "Harriet",
         "Ifor", "Jocasta", "Kieran", "Lowri", "Magnus", "Nerys", "Osian", "Perpetua", "Quentin",
         "Rhiannon", "Seren", "Tobias", "Ulrika", "Vaughan", "Wenna", "Xander", "Yestin",
         "Zelda"]  # fmt: skip
LAST = ["Ashcombe", "Brackenbury", "Calloway", "Dunmore", "Elderfield", "Fennick", "Greavsey",
        "Hollinshead", "Ingleby", "Jessamy", "Kettering-Vale", "Lorrimer", "Marchbank"]  # fmt: skip
WARDS = ["Ashby North", "Ashby South", "Brackendale", "Cressfield", "Dunmere", "Elm Cross",
         "Fallowmere", "Greystone", "Hollin Bank", "Ivybridge Vale", "Kestle", "Larkhill",
         "Mardle"]  # fmt: skip


@dataclass(frozen=True)
class DemoLogins:
    councillors: list[str]
    secretary: str
    observer: str
    official: str
    admin: str


def existing_logins() -> DemoLogins | None:
    """The demo's logins, if the demo is already loaded."""
    body = Body.objects.filter(slug="ashby-vale").first()
    if body is None:
        return None
    members = body.memberships.filter(role=Membership.Role.MEMBER).order_by("pk")
    return DemoLogins(
        councillors=[m.user.email for m in members.select_related("user")[:3]],
        secretary=f"secretary@{DOMAIN}",
        observer=f"observer@{DOMAIN}",
        official="official@northmoor.example",
        admin="admin@teller.example",
    )


@lru_cache(maxsize=1)
def _demo_hash() -> str:
    # One slow hash for all 56 demo accounts, not one each: the demo loads in seconds.
    return make_password(DEMO_PASSWORD)


def _user(email: str, name: str, gender: str = "", **extra: object) -> User:
    user = User.objects.create_user(email, None, full_name=name, gender=gender, **extra)
    user.password = _demo_hash()
    user.save(update_fields=["password"])
    return user


def _rules(name: str, **fields: object) -> RuleSet:
    rules = RuleSet(name=name, **fields)
    rules.full_clean()
    rules.save()
    return rules


@transaction.atomic
def load_demo(seed: int = 2026) -> DemoLogins:
    rng = random.Random(seed)
    region = Region.objects.create(
        name="Northmoor Region",
        slug="northmoor",
        default_rules=_rules("Northmoor defaults", method=Method.PLURALITY),
    )
    body = Body.objects.create(region=region, name="Ashby Vale Council Group", slug="ashby-vale")
    councillors: list[User] = []
    for n in range(52):
        first, last = FIRST[n % len(FIRST)], LAST[n // len(FIRST) * 5 + n % 5]
        gender = "woman" if n % 2 else "man"
        user = _user(
            f"{first}.{last}".lower().replace("-", "") + f"@{DOMAIN}", f"{first} {last}", gender
        )
        Membership.objects.create(body=body, user=user, ward=WARDS[n % len(WARDS)])
        councillors.append(user)
    secretary = _user(f"secretary@{DOMAIN}", "Morwenna Tregarth", "woman")
    Membership.objects.create(body=body, user=secretary, role=Membership.Role.SECRETARY)
    observer = _user(f"observer@{DOMAIN}", "Idris Pellow", "man")
    Membership.objects.create(body=body, user=observer, role=Membership.Role.OBSERVER)
    official = _user("official@northmoor.example", "Ruth Okonedo-Hale", "woman")
    RegionalOfficial.objects.create(region=region, user=official)
    admin = _user("admin@teller.example", "Site Administrator", is_staff=True, is_superuser=True)

    now = timezone.now()
    # Declared: last year's whip, by alternative vote, voted and counted for real.
    whip = _contest(
        body,
        secretary,
        "Group whip 2025",
        Method.AV,
        ["Delyth Brackenbury", "Osian Ashcombe", "Harriet Dunmore"],
    )
    poll = whip.schedule_poll(by=secretary, opens_at=now, closes_at=now + timedelta(hours=1))
    poll.open(by=secretary)
    paper = poll.ballot_paper()
    assert paper.kind == PaperKind.RANKED
    ids = [o.id for o in paper.options]
    for voter in councillors[:47]:
        ranking = rng.sample(ids, k=rng.randint(1, len(ids)))
        cast_ballot(poll.pk, voter, ranking)
    poll.close(by=secretary)
    poll.count(by=secretary)
    whip.declare(by=secretary)

    # Open: the leadership ballot, first past the post.
    leader = _contest(
        body,
        secretary,
        "Group leader 2026",
        Method.PLURALITY,
        ["Fionnuala Greavsey", "Tobias Lorrimer"],
    )
    poll = leader.schedule_poll(by=secretary, opens_at=now, closes_at=now + timedelta(days=7))
    poll.open(by=secretary)

    # Scheduled: the group executive, three seats by STV, opening next week.
    executive = _contest(body, secretary, "Group executive 2026", Method.STV,
                         ["Aled Elderfield", "Bethan Fennick", "Callum Ingleby", "Rhiannon Jessamy",
                          "Seren Marchbank"], seats=3)  # fmt: skip
    executive.schedule_poll(
        by=secretary, opens_at=now + timedelta(days=8), closes_at=now + timedelta(days=15)
    )
    return DemoLogins(
        councillors=[u.email for u in councillors[:3]],
        secretary=secretary.email,
        observer=observer.email,
        official=official.email,
        admin=admin.email,
    )


def _contest(
    body: Body, secretary: User, title: str, method: Method, names: list[str], seats: int = 1
) -> Contest:
    rules = body.region.default_rules.copy(name=f"Rules for {title}")
    rules.method, rules.seats = method, seats
    rules.save()
    contest = Contest.objects.create(body=body, title=title, rules=rules, created_by=secretary)
    contest.open_nominations(by=secretary)
    for name in names:
        Candidate.add(contest, by=secretary, name=name)
    contest.finalise_ballot(by=secretary)
    return contest
