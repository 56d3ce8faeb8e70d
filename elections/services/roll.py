"""Importing a body's roll: preview the changes, then apply them in one go.

The secretary uploads a file; `preview_import()` compares its rows with the
roll (one query) and stages the rows server-side, in the cache, under a
random id, handing back a signed token that names the id, the body, the
secretary and a fingerprint of the previewed plan. `apply_import()` checks
the token, recomputes the plan under a lock on the body, refuses if it is
not the plan that was previewed, and then writes accounts, memberships, one
audit event and the invitations in one transaction.

Why the token and the fingerprint: the preview is what the secretary
agreed to. A forged or altered token fails its signature; an old one (or
one whose staged rows the cache dropped) has expired; and if the roll
changed in between (another import, an edit in the admin), the recomputed
plan's fingerprint differs and nothing is applied. A second submission of
the same apply finds its own audit event and stops.

Sized for 130,000 rows: no query per row. Accounts and memberships are
written with bulk_create and bulk_update in batches, leavers with one
UPDATE per batch of ids.
"""

from __future__ import annotations

import json
import secrets
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, UNUSABLE_PASSWORD_SUFFIX_LENGTH
from django.core import signing
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import FilteredRelation, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from elections.exceptions import NotAllowed, TellerError
from elections.models import AuditEvent, Body, Membership, NotificationKind
from elections.models.audit import audit_actor_for
from elections.notifications import notify
from elections.roll_import import Existing, ParsedRoll, RollPlan, RollRow, diff_roll

if TYPE_CHECKING:
    from accounts.models import User

MEMBER = Membership.Role.MEMBER
AUDIT_ACTION = "roll.imported"
# Rows per INSERT or UPDATE: large enough that 130,000 rows take a few dozen
# statements, small enough to keep each statement's SQL a few MB at most.
BATCH = 5000
# How long a preview can be applied. Long enough to read a big preview and
# check it with a colleague; short enough that it is about today's roll.
PREVIEW_TTL = 60 * 60
_SALT = "elections.roll-import.preview"
_CACHE_PREFIX = "teller:roll-import:"


class RollImportError(TellerError):
    """The import was refused; nothing was changed. The message says why."""


class PreviewInvalid(RollImportError):
    def __init__(self) -> None:
        super().__init__(
            "This preview could not be verified, so nothing was changed. "
            "Upload the file again to make a new preview."
        )


class PreviewExpired(RollImportError):
    def __init__(self) -> None:
        minutes = PREVIEW_TTL // 60
        super().__init__(
            f"This preview has expired (a preview can be applied for {minutes} minutes), "
            "so nothing was changed. Upload the file again to make a new preview."
        )


class RollChanged(RollImportError):
    def __init__(self) -> None:
        super().__init__(
            "The roll has changed since this preview was made, so nothing was changed. "
            "Upload the file again to see the changes as they stand now."
        )


class AlreadyApplied(RollImportError):
    def __init__(self) -> None:
        super().__init__("This import has already been applied; nothing was changed this time.")


@dataclass(frozen=True)
class Preview:
    token: str
    plan: RollPlan


@dataclass(frozen=True)
class ImportResult:
    joined: int
    accounts_created: int
    updated: int
    left: int
    unchanged: int
    invited: int
    audit_seq: int

    def summary(self) -> str:
        return (
            f"{self.joined} joined ({_n(self.accounts_created, 'new account')}), "
            f"{self.updated} updated, {self.left} left, {self.unchanged} unchanged; "
            f"{_n(self.invited, 'invitation')} queued."
        )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- who may ----------------------------------------------------------------
def may_import(body: Body, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(
        user.is_superuser
        or Membership.objects.active()
        .filter(body=body, user=user, role=Membership.Role.SECRETARY)
        .exists()
    )


def _require_secretary(body: Body, user: Any) -> None:
    if not may_import(body, user):
        raise NotAllowed(f"Only the secretary of {body.name} can import its roll.")


# --- reading the roll as it stands -----------------------------------------
def existing_for(body: Body, emails: Sequence[str]) -> list[Existing]:
    """Everyone the import may touch, in ONE query: the accounts whose (lower-
    cased) address is in the file, and everyone holding a member's place in
    the body, each with that place if they have one."""
    user_model = get_user_model()
    people = user_model.objects.annotate(
        place=FilteredRelation(
            "memberships",
            condition=Q(memberships__body_id=body.pk, memberships__role=MEMBER),
        ),
        lower_email=Lower("email"),
    )
    fields = (
        "pk", "lower_email", "full_name", "gender", "place__id", "place__ward", "place__active"
    )  # fmt: skip
    # A UNION rather than one WHERE with OR: PostgreSQL cannot turn an OR'd
    # IN (subquery) into a hash join, and with 130,000 addresses it falls
    # back to scanning the whole list once per account (minutes, not a
    # second). Someone in both halves comes back twice; the dict keeps one.
    in_file = people.filter(lower_email__in=_email_set(emails)).values_list(*fields).order_by()
    on_roll = people.filter(place__isnull=False).values_list(*fields).order_by()
    found: dict[int, Existing] = {}
    for pk, email, name, gender, place_id, ward, active in in_file.union(on_roll, all=True):
        found[pk] = Existing(pk, email, name, gender, place_id, ward or "", bool(active))
    return list(found.values())


def _email_set(emails: Sequence[str]) -> RawSQL:
    # The file's addresses go to the database as one parameter, an array (or
    # a JSON list on SQLite), joined as a set: an IN list of 130,000 values
    # would be 130,000 parameters, beyond SQLite's limit and slow to plan.
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::text[])", [list(emails)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(list(emails))])


def plan_import(body: Body, rows: Sequence[RollRow]) -> RollPlan:
    return diff_roll(rows, existing_for(body, [row.email for row in rows]))


# --- preview ----------------------------------------------------------------
def preview_import(body: Body, *, by: User, parsed: ParsedRoll, filename: str = "") -> Preview:
    """Compare a valid file with the roll and stage it for `apply_import`."""
    _require_secretary(body, by)
    if not parsed.ok:
        raise RollImportError("The file has problems; fix them and upload it again.")
    plan = plan_import(body, parsed.rows)
    fingerprint = plan.fingerprint()
    import_id = secrets.token_urlsafe(16)
    staged = {
        "body": body.pk,
        "user": by.pk,
        "fingerprint": fingerprint,
        "filename": filename[:200],
        "sha256": parsed.sha256,
        # Compressed: a roll of 130,000 is ~10 MB as JSON, ~2 MB like this.
        "rows": zlib.compress(json.dumps(parsed.rows, separators=(",", ":")).encode(), 1),
    }
    cache.set(_CACHE_PREFIX + import_id, staged, PREVIEW_TTL)
    claims = {"i": import_id, "b": body.pk, "u": by.pk, "f": fingerprint}
    return Preview(token=signing.dumps(claims, salt=_SALT), plan=plan)


# --- apply ------------------------------------------------------------------
def apply_import(body: Body, *, by: User, token: str) -> ImportResult:
    """Apply a previewed import, exactly as previewed, or refuse and change nothing."""
    _require_secretary(body, by)
    try:
        claims = signing.loads(token, salt=_SALT, max_age=PREVIEW_TTL)
    except signing.SignatureExpired:
        raise PreviewExpired from None
    except signing.BadSignature:
        raise PreviewInvalid from None
    if not isinstance(claims, dict) or claims.get("b") != body.pk or claims.get("u") != by.pk:
        # A genuine token, but for another body or another secretary.
        raise PreviewInvalid
    import_id = str(claims["i"])
    if _already_applied(body, import_id):
        raise AlreadyApplied
    staged = cache.get(_CACHE_PREFIX + import_id)
    if staged is None:
        raise PreviewExpired
    if staged["fingerprint"] != claims["f"]:
        raise PreviewInvalid
    rows = [RollRow(*row) for row in json.loads(zlib.decompress(staged["rows"]))]
    result = apply_rows(
        body,
        by=by,
        rows=rows,
        import_id=import_id,
        expected_fingerprint=claims["f"],
        filename=staged["filename"],
        sha256=staged["sha256"],
    )
    cache.delete(_CACHE_PREFIX + import_id)
    return result


def apply_rows(
    body: Body,
    *,
    by: User,
    rows: Sequence[RollRow],
    import_id: str,
    expected_fingerprint: str | None = None,
    filename: str = "",
    sha256: str = "",
) -> ImportResult:
    """Make the body's roll what `rows` say, in one transaction.

    `expected_fingerprint`: the previewed plan's; if the plan computed now
    differs, refuse (RollChanged). `import_id` names the import in the audit
    trail, and a second apply of the same id is refused (AlreadyApplied).
    """
    _require_secretary(body, by)
    with transaction.atomic():
        # Serialise imports of one body on its row: two submissions of one
        # preview (a double click) or two imports at once would otherwise
        # both plan against the same roll and both apply. The second waits
        # here, then finds the first's audit event.
        Body.objects.select_for_update().filter(pk=body.pk).values_list("pk", flat=True).get()
        if _already_applied(body, import_id):
            raise AlreadyApplied
        plan = plan_import(body, rows)
        if expected_fingerprint is not None and plan.fingerprint() != expected_fingerprint:
            raise RollChanged
        joined_ids = _write(body, plan)
        counts = plan.counts()
        event = AuditEvent.record(
            AUDIT_ACTION,
            actor=audit_actor_for(by),
            body=body,
            obj=body,
            reason=f"Roll imported from {filename}" if filename else "Roll imported",
            data={
                **counts,
                "rows": len(rows),
                "import_id": import_id,
                "file_sha256": sha256,
            },
        )
        invited = 0
        if joined_ids:
            # Everyone who joins is told, new account or not; the email
            # carries a link to set a password where the account has none.
            invited = notify(
                joined_ids,
                NotificationKind.INVITED,
                context={"body": body.name},
                dedupe=f"invited:body:{body.pk}:import:{import_id}",
            )
    return ImportResult(
        joined=counts["joining"],
        accounts_created=counts["accounts_created"],
        updated=counts["updated"],
        left=counts["leaving"],
        unchanged=counts["unchanged"],
        invited=invited,
        audit_seq=event.seq,
    )


def _already_applied(body: Body, import_id: str) -> bool:
    return AuditEvent.objects.filter(
        action=AUDIT_ACTION, body_id=body.pk, data__import_id=import_id
    ).exists()


def _write(body: Body, plan: RollPlan) -> list[int]:
    """Write the plan; return the ids of everyone who joined."""
    user_model = get_user_model()
    now = timezone.now()

    # New accounts, as create_user(email, None, ...) would make them (email
    # lower-cased, no usable password) but in batches: create_user costs a
    # query and a random string from Django's slow generator per person.
    creating = [j for j in plan.joining if j.existing is None]
    accounts = [
        user_model(
            email=j.row.email,
            full_name=j.row.name,
            gender=j.row.gender or "",
            password=_unusable_password(),
        )
        for j in creating
    ]
    user_model.objects.bulk_create(accounts, batch_size=BATCH)
    new_ids = _ids_of(accounts)
    new_id_for = {j.row.email: pk for j, pk in zip(creating, new_ids, strict=True)}

    account_edits: list[Any] = []
    new_places: list[Membership] = []
    returning: list[Membership] = []
    ward_edits: list[Membership] = []
    joined_ids: list[int] = []
    for joining in plan.joining:
        row, person = joining.row, joining.existing
        if person is None:
            user_id = new_id_for[row.email]
        else:
            user_id = person.user_id
            if joining.changes:
                account_edits.append(_account(user_model, row, person))
        joined_ids.append(user_id)
        if person is not None and person.membership_id is not None:
            # A former member rejoins: their old place again, dated today.
            returning.append(
                Membership(pk=person.membership_id, ward=row.ward, active=True, joined_at=now)
            )
        else:
            new_places.append(
                Membership(body_id=body.pk, user_id=user_id, role=MEMBER, ward=row.ward)
            )
    for updated in plan.updated:
        fields = {change.field for change in updated.changes}
        if fields & {"name", "gender"}:
            account_edits.append(_account(user_model, updated.row, updated.existing))
        if "ward" in fields:
            ward_edits.append(Membership(pk=updated.existing.membership_id, ward=updated.row.ward))

    user_model.objects.bulk_update(account_edits, ["full_name", "gender"], batch_size=BATCH)
    Membership.objects.bulk_create(new_places, batch_size=BATCH)
    Membership.objects.bulk_update(returning, ["ward", "active", "joined_at"], batch_size=BATCH)
    Membership.objects.bulk_update(ward_edits, ["ward"], batch_size=BATCH)
    # Leavers keep their row, marked inactive: the roll's history stays.
    for chunk in _chunks([p.membership_id for p in plan.leaving], BATCH):
        Membership.objects.filter(pk__in=chunk).update(active=False)
    return joined_ids


def _account(user_model: Any, row: RollRow, person: Existing) -> Any:
    gender = row.gender if row.gender is not None else person.gender
    return user_model(pk=person.user_id, full_name=row.name, gender=gender)


def _unusable_password() -> str:
    # What make_password(None) stores (the unusable prefix, then a random
    # suffix so each account's reset tokens differ), at a fraction of its cost.
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(UNUSABLE_PASSWORD_SUFFIX_LENGTH // 2)


def _ids_of(accounts: list[Any]) -> list[int]:
    if all(account.pk is not None for account in accounts):
        return [account.pk for account in accounts]
    # A database that cannot return ids from a bulk insert: read them back.
    user_model = get_user_model()
    by_email: dict[str, int] = {}
    for chunk in _chunks([account.email for account in accounts], BATCH):
        by_email.update(user_model.objects.filter(email__in=chunk).values_list("email", "pk"))
    return [by_email[account.email] for account in accounts]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


__all__ = [
    "AUDIT_ACTION",
    "PREVIEW_TTL",
    "AlreadyApplied",
    "ImportResult",
    "Preview",
    "PreviewExpired",
    "PreviewInvalid",
    "RollChanged",
    "RollImportError",
    "apply_import",
    "apply_rows",
    "existing_for",
    "may_import",
    "plan_import",
    "preview_import",
]
