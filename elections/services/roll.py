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
    # Two halves in a UNION, not one WHERE with OR: PostgreSQL cannot turn an
    # OR'd IN (subquery) into a hash join, and with 130,000 addresses it
    # falls back to scanning the whole list once per account (minutes).
    # The halves do not overlap: accounts in the file with no member's place
    # here, then everyone with one, in the file or not.
    in_file = people.filter(lower_email__in=_email_set(emails), place__isnull=True)
    on_roll = people.filter(place__isnull=False)
    both = (
        in_file.values_list(*fields)
        .order_by()
        .union(on_roll.values_list(*fields).order_by(), all=True)
    )
    return [
        Existing(pk, email, name, gender, place_id, ward or "", bool(active))
        for pk, email, name, gender, place_id, ward, active in both
    ]


def _email_set(emails: Sequence[str]) -> RawSQL:
    # The file's addresses go to the database as ONE parameter, joined as a
    # set: an IN list of 130,000 values would be 130,000 parameters (beyond
    # SQLite's limit, slow to plan) and an array is quoted element by element
    # in Python. Validated addresses hold no line breaks.
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(string_to_array(%s, chr(10)))", ["\n".join(emails)])
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
    # lower-cased, no usable password) but in bulk: create_user costs a query
    # and a random string from Django's slow generator per person.
    creating = [j.row for j in plan.joining if j.existing is None]
    new_id_for = _insert(
        user_model,
        ("email", "full_name", "gender", "password"),
        [(r.email, r.name, r.gender or "", _unusable_password()) for r in creating],
        template=user_model(),
        returning="email",
    )

    account_edits: list[tuple[Any, ...]] = []
    new_places: list[tuple[Any, ...]] = []
    returning: list[tuple[Any, ...]] = []
    ward_edits: list[tuple[Any, ...]] = []
    joined_ids: list[int] = []
    for joining in plan.joining:
        row, person = joining.row, joining.existing
        if person is None:
            user_id = new_id_for[row.email]
        else:
            user_id = person.user_id
            if joining.changes:
                account_edits.append(_account(row, person))
        joined_ids.append(user_id)
        if person is not None and person.membership_id is not None:
            # A former member rejoins: their old place again, dated today.
            returning.append((person.membership_id, row.ward, True, now))
        else:
            new_places.append((user_id, row.ward))
    for updated in plan.updated:
        fields = {change.field for change in updated.changes}
        if fields & {"name", "gender"}:
            account_edits.append(_account(updated.row, updated.existing))
        if "ward" in fields:
            ward_edits.append((updated.existing.membership_id, updated.row.ward))

    _update(user_model, ("full_name", "gender"), account_edits)
    _insert(
        Membership,
        ("user_id", "ward"),
        new_places,
        template=Membership(body_id=body.pk, role=MEMBER, active=True),
    )
    _update(Membership, ("ward", "active", "joined_at"), returning)
    _update(Membership, ("ward",), ward_edits)
    # Leavers keep their row, marked inactive: the roll's history stays.
    for chunk in _chunks([p.membership_id for p in plan.leaving], BATCH):
        Membership.objects.filter(pk__in=chunk).update(active=False)
    return joined_ids


def _account(row: RollRow, person: Existing) -> tuple[Any, ...]:
    gender = row.gender if row.gender is not None else person.gender
    return (person.user_id, row.name, gender)


def _unusable_password() -> str:
    # What make_password(None) stores (the unusable prefix, then a random
    # suffix so each account's reset tokens differ), at a fraction of its cost.
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(UNUSABLE_PASSWORD_SUFFIX_LENGTH // 2)


# --- bulk writes ----------------------------------------------------------------
# Django's bulk_create and bulk_update are fine for thousands of rows but not
# for 130,000 on PostgreSQL: each value is prepared field by field in Python
# and quoted into the SQL text, and bulk_update's CASE WHEN costs rows x batch
# comparisons. On PostgreSQL, inserts go through COPY and updates join an
# UNNEST of column arrays; elsewhere (SQLite in development) Django's own.
def _insert(
    model: Any,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    template: Any,
    returning: str | None = None,
) -> dict[Any, int]:
    """Insert rows of `columns`, every other column as `template` has it
    (its defaults). With `returning`, map that column's values to the new ids."""
    if not rows:
        return {}
    if connection.vendor != "postgresql":
        objects = [
            model(**{**_own_values(template), **dict(zip(columns, row, strict=True))})
            for row in rows
        ]
        model.objects.bulk_create(objects, batch_size=BATCH)
        if returning is None:
            return {}
        if all(obj.pk is not None for obj in objects):
            return {getattr(obj, returning): obj.pk for obj in objects}
        return _ids_by(model, returning, [getattr(obj, returning) for obj in objects])
    meta = model._meta
    quote = connection.ops.quote_name
    names = [quote(meta.get_field(c).column) for c in columns]
    ids: list[int] = []
    if returning is not None:
        # Take the new rows' ids from their sequence first, in one query, so
        # COPY (which returns nothing) writes them and nothing reads them back.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        names.append(quote(meta.pk.column))
    fixed = [
        f for f in meta.local_concrete_fields if not f.primary_key and f.attname not in columns
    ]
    # Defaults are computed once, from the template: a field whose default
    # must differ per row (a unique token) would need to be in `columns`.
    fixed_values = tuple(f.get_db_prep_save(f.pre_save(template, True), connection) for f in fixed)
    names += [quote(f.column) for f in fixed]
    statement = f"COPY {quote(meta.db_table)} ({', '.join(names)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        if returning is None:
            for row in rows:
                copy.write_row((*row, *fixed_values))
            return {}
        for row, pk in zip(rows, ids, strict=True):
            copy.write_row((*row, pk, *fixed_values))
    key = columns.index(returning)
    return {row[key]: pk for row, pk in zip(rows, ids, strict=True)}


def _own_values(template: Any) -> dict[str, Any]:
    return {
        f.attname: getattr(template, f.attname)
        for f in template._meta.local_concrete_fields
        if not f.primary_key
    }


def _ids_by(model: Any, column: str, values: list[Any]) -> dict[Any, int]:
    """The ids of the rows whose `column` (unique) is one of `values`: for a
    database whose bulk_create cannot return them."""
    found: dict[Any, int] = {}
    for chunk in _chunks(values, 500):
        found.update(model.objects.filter(**{f"{column}__in": chunk}).values_list(column, "pk"))
    return found


def _update(model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Set `columns` on the rows whose ids come first in each tuple."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objects = [model(pk=row[0], **dict(zip(columns, row[1:], strict=True))) for row in rows]
        # Small batches: the CASE WHEN that bulk_update writes costs rows x batch.
        model.objects.bulk_update(objects, list(columns), batch_size=500)
        return
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [meta.pk, *(meta.get_field(c) for c in columns)]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    aliases = ", ".join(quote(f"v_{f.column}") for f in fields)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f'v_{f.column}')}" for f in fields[1:])
    pk = quote(meta.pk.column)
    statement = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 (names from _meta)
        f"FROM unnest({arrays}) AS v({aliases}) WHERE t.{pk} = v.{quote(f'v_{meta.pk.column}')}"
    )
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, BATCH):
            cursor.execute(statement, [list(column) for column in zip(*chunk, strict=True)])


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
