"""The security walk's vocabulary: the roles, the world, snapshots of the database.

Kept out of conftest.py so that the tests can import it by name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.db import connection, models, transaction

from accounts.models import User
from elections.models import (
    AuditEvent,
    Ballot,
    Body,
    Candidate,
    Contest,
    InboxBallot,
    Participation,
    Poll,
    Region,
)

# The eight roles the walk tries, in the order its failures are listed.
ROLES = (
    "anonymous",
    "outsider",  # charlie: a councillor of another body (Brindle, same region)
    "member",  # alice
    "candidate",  # cara: a member standing in the contests
    "secretary",  # sam
    "observer",  # olive
    "other_official",  # otto: a regional official of Otherdale
    "official",  # rita: the regional official of Testshire, Ashby's region
)
# Roles with no role in the Ashby group: its pages do not exist for them.
NOT_IN_BODY = frozenset({"outsider", "other_official", "official"})


@dataclass
class World:
    region: Region
    other_region: Region
    body: Body
    other_body: Body
    people: dict[str, User]
    contests: dict[str, Contest]
    # Named objects a URL can carry: candidacies, proxies, complaints, rulings.
    objects: dict[str, models.Model] = field(default_factory=dict)

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else self.people[role]

    def poll(self, contest: str) -> Poll:
        poll = self.contests[contest].current_poll()
        assert poll is not None, contest
        return poll

    def candidate(self, contest: str, name: str) -> Candidate:
        return self.contests[contest].candidates.get(name=name)

    def secrets(self) -> list[str]:
        """What no page may show someone outside Ashby and its region."""
        return [c.title for c in self.contests.values()] + [self.body.name]


def ensure_second_factor(user: User) -> None:
    """Officials need a second factor before they act (config.security).
    Each official here gets one, whatever tests/conftest.py does, so the
    walk tests the views' own checks rather than the MFA gate."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())


@contextmanager
def rolled_back() -> Iterator[None]:
    """Undo the block's database writes (a savepoint), so that every request
    of a walk, and every example of a property, meets the same world."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


# --- Snapshots of the database ---------------------------------------------
# Tables compared row by row even in a light snapshot: how anyone voted and
# the record of who did what.
SECRET_TABLES: tuple[type[models.Model], ...] = (Ballot, InboxBallot, Participation, AuditEvent)
TRACKED_APPS = frozenset({"elections", "accounts", "mfa", "account"})


def _tracked_models() -> list[type[models.Model]]:
    """Every model of Teller's apps (elections, accounts) and allauth's."""
    return sorted(
        (m for m in apps.get_models() if m._meta.app_label in TRACKED_APPS),
        key=lambda m: m._meta.label,
    )


def _digest(model: type[models.Model]) -> str:
    rows = model._base_manager.order_by("pk").values_list()
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    digests: dict[str, str]

    def differences(self, after: Snapshot) -> list[str]:
        out = [
            f"{label}: {before} rows, then {after.counts.get(label)}"
            for label, before in self.counts.items()
            if before != after.counts.get(label)
        ]
        out += [
            f"{label}: rows changed"
            for label, digest in self.digests.items()
            if label in after.digests and digest != after.digests[label]
        ]
        return out


def row_counts() -> dict[str, int]:
    """The row count of every tracked table, in one query (the walk takes
    thousands of these)."""
    tracked = _tracked_models()
    quote = connection.ops.quote_name
    # Table names from the models, not from any input.
    selects = ", ".join(
        f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})"  # noqa: S608
        for m in tracked
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selects}")
        values = cursor.fetchone()
    return {m._meta.label: int(n) for m, n in zip(tracked, values, strict=True)}


def snapshot(*, rows: bool = True) -> Snapshot:
    """Row counts of every table and, with `rows`, the rows themselves of
    the ballot, participation and audit tables."""
    digested = SECRET_TABLES if rows else ()
    return Snapshot(row_counts(), {m._meta.label: _digest(m) for m in digested})
