"""Reading a body's roll from a CSV file: parse, validate, and compare.

Plain Python with no database: `parse_roll()` turns the bytes of an upload
into rows or a list of problems, each naming its line; `diff_roll()`
compares valid rows with a snapshot of the roll as it stands and says who
joins, whose details change and who leaves. `elections.services.roll` takes
the snapshot (one query) and applies the plan in one transaction.

The file has a header row naming its columns, in any order and any case:
name (or "full name"), email, ward and, optionally, gender. Nothing is
applied unless the whole file is valid, so a half-read roll can never
deactivate the members it failed to read.

Sized for a roll of 130,000: rows are tuples, the common email address is
checked by one precompiled pattern (Django's validator, about fifteen times
slower, only sees the rest) and the comparison is one pass over dicts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# The model fields' lengths (tests check they still agree).
NAME_MAX = 200
EMAIL_MAX = 254
WARD_MAX = 120

# accounts.models.User.Gender's values (tests check they still agree).
GENDERS = ("woman", "man", "other")
_GENDER_WORDS = {
    "woman": "woman",
    "f": "woman",
    "female": "woman",
    "man": "man",
    "m": "man",
    "male": "man",
    "other": "other",
}

REQUIRED_COLUMNS = ("name", "email", "ward")
OPTIONAL_COLUMNS = ("gender",)
_COLUMN_NAMES = {
    "name": "name",
    "full name": "name",
    "fullname": "name",
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "e-mail address": "email",
    "ward": "ward",
    "gender": "gender",
}

# Errors kept for display; the rest are only counted, so a file that is
# wrong on every one of 130,000 lines still gives a readable page.
MAX_ERRORS = 100

# A subset of what Django's EmailValidator accepts (a dot-atom local part,
# LDH labels, an alphabetic top-level domain): an address matching it is
# valid without asking Django, which checks the rest.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


class RollRow(NamedTuple):
    """One valid line of the file."""

    line: int
    email: str  # lower-cased
    name: str
    ward: str
    # None when the file says nothing (no gender column, or a blank cell):
    # the gender a person has recorded is then left as it is.
    gender: str | None


@dataclass(frozen=True)
class LineError:
    line: int | None  # None: about the whole file
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass
class ParsedRoll:
    rows: list[RollRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    # Every problem found, of which `errors` holds the first MAX_ERRORS.
    error_count: int = 0
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)

    def _error(self, line: int | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(LineError(line, message))


def parse_roll(data: bytes) -> ParsedRoll:
    """Read a roll file; on any problem, return no rows and every problem found."""
    parsed = ParsedRoll(sha256=hashlib.sha256(data).hexdigest())
    text = _decode(data, parsed)
    if text is None:
        return parsed
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    lines = _Lines(reader)
    try:
        header = _first_record(reader, lines)
        if header is None:
            parsed._error(None, "The file is empty.")
            return parsed
        index = _read_header(header, lines.start, parsed)
        if not parsed.ok:
            return parsed
        rows = _read_rows(reader, lines, len(header), index, parsed)
    except csv.Error as exc:
        # The reader cannot resynchronise after this; say where it stopped.
        parsed._error(lines.end + 1, f"this line cannot be read as CSV ({exc}).")
        return _failed(parsed)
    if not rows and parsed.ok:
        parsed._error(None, "The file has a header row but no members under it.")
    if not parsed.ok:
        return _failed(parsed)
    parsed.rows = rows
    return parsed


class _Lines:
    """Which physical lines the reader's current record spans: a quoted
    field may hold line breaks, and a record is named by its first line."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self.start = 0
        self.end = 0

    def advance(self) -> int:
        self.start, self.end = self.end + 1, self._reader.line_num
        return self.start


def _first_record(reader: Iterator[list[str]], lines: _Lines) -> list[str] | None:
    for record in reader:
        lines.advance()
        if any(cell.strip() for cell in record):
            return record
    return None


def _failed(parsed: ParsedRoll) -> ParsedRoll:
    parsed.rows = []
    return parsed


def _decode(data: bytes, parsed: ParsedRoll) -> str | None:
    if not data.strip():
        parsed._error(None, "The file is empty.")
        return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        parsed._error(
            None,
            "The file is UTF-16 text, not UTF-8. Save it as “CSV UTF-8 (comma delimited)” "
            "and upload it again.",
        )
        return None
    if b"\x00" in data:
        parsed._error(
            None,
            "This is not a CSV file (it holds binary data, as a spreadsheet or PDF does). "
            "Save the sheet as “CSV UTF-8 (comma delimited)” and upload that.",
        )
        return None
    try:
        # utf-8-sig: spreadsheet programs often start a UTF-8 file with a BOM.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        parsed._error(
            line,
            "the file is not UTF-8 text. Save it as “CSV UTF-8 (comma delimited)” "
            "and upload it again.",
        )
        return None


def _delimiter(first_line: str) -> str:
    # Spreadsheets set to a European locale write semicolons; a header
    # holds no commas of its own, so the first line tells them apart.
    if "," not in first_line:
        if ";" in first_line:
            return ";"
        if "\t" in first_line:
            return "\t"
    return ","


def _column_key(cell: str) -> str:
    return " ".join(cell.replace("_", " ").lower().split())


def _read_header(record: list[str], line: int, parsed: ParsedRoll) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, cell in enumerate(record):
        name = _COLUMN_NAMES.get(_column_key(cell))
        if name is None:
            if cell.strip():
                parsed.ignored_columns.append(cell.strip())
            continue
        if name in index:
            parsed._error(line, f"the header names the {name} column twice.")
            continue
        index[name] = position
    found = ", ".join(f"“{cell.strip()}”" for cell in record if cell.strip())
    if not index:
        parsed._error(
            line,
            "the first line must be a header row naming the columns name, email and ward "
            f"(and optionally gender), but it holds {found}.",
        )
    else:
        for name in REQUIRED_COLUMNS:
            if name not in index:
                parsed._error(line, f"the header has no “{name}” column (it has {found}).")
    parsed.columns = [name for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in index]
    return index


def _read_rows(
    reader: Iterator[list[str]],
    lines: _Lines,
    width: int,
    index: dict[str, int],
    parsed: ParsedRoll,
) -> list[RollRow]:
    """Check every record after the header; the rows, if all were valid."""
    # One loop with everything in locals: it runs 130,000 times for a big roll.
    rows: list[RollRow] = []
    seen: dict[str, int] = {}
    i_name, i_email, i_ward = index["name"], index["email"], index["ward"]
    i_gender = index.get("gender")
    error = parsed._error
    plain_email = _PLAIN_EMAIL.fullmatch
    genders = _GENDER_WORDS
    advance = lines.advance
    make = tuple.__new__  # RollRow(...) without NamedTuple's Python-level __new__
    for record in reader:
        line = advance()
        if not any(record):
            continue  # a blank line says nothing
        if len(record) != width:
            if any(cell.strip() for cell in record):
                error(
                    line,
                    f"expected {width} fields, as in the header, but found {len(record)}. "
                    "A name or ward that contains a comma must be in double quotes.",
                )
            continue
        errors_before = parsed.error_count
        name = " ".join(record[i_name].split())
        email = record[i_email].strip().lower()
        ward = " ".join(record[i_ward].split())
        gender: str | None = None
        if not (name or email or ward) and not any(cell.strip() for cell in record):
            continue  # a line of bare commas says nothing either
        if not name:
            error(line, "the name is missing.")
        elif len(name) > NAME_MAX:
            error(line, f"the name is longer than {NAME_MAX} characters.")
        if not email:
            error(line, "the email address is missing.")
        elif not (len(email) <= EMAIL_MAX and plain_email(email)) and not _valid_email(email):
            error(line, f"“{email}” is not a valid email address.")
        elif email in seen:
            error(line, f"the email address {email} is already on line {seen[email]}.")
        else:
            seen[email] = line
        if len(ward) > WARD_MAX:
            error(line, f"the ward is longer than {WARD_MAX} characters.")
        if i_gender is not None:
            word = record[i_gender].strip().lower()
            if word:
                gender = genders.get(word)
                if gender is None:
                    error(
                        line,
                        f"the gender “{record[i_gender].strip()}” is not one we know: "
                        "use woman, man or other (or f, m, female, male), or leave it blank.",
                    )
        # Once anything is wrong no row will be applied, so none is kept.
        if errors_before == parsed.error_count == 0:
            rows.append(make(RollRow, (line, email, name, ward, gender)))
    return rows


def _valid_email(email: str) -> bool:
    if len(email) > EMAIL_MAX:
        return False
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


# --- comparing with the roll as it stands ---------------------------------
class Existing(NamedTuple):
    """A person the import may touch: an account whose email is in the file,
    or anyone holding a member's place in the body (active or not)."""

    user_id: int
    email: str  # lower-cased
    name: str
    gender: str
    membership_id: int | None  # their member's place in this body, if any
    ward: str
    active: bool


class Change(NamedTuple):
    field: str  # "name", "ward" or "gender"
    old: str
    new: str


class Joining(NamedTuple):
    """Becomes an active member: a new account, an account new to the body,
    or a former member rejoining."""

    row: RollRow
    existing: Existing | None
    changes: tuple[Change, ...]  # to an existing account's name or gender

    @property
    def creates_account(self) -> bool:
        return self.existing is None

    @property
    def rejoining(self) -> bool:
        return self.existing is not None and self.existing.membership_id is not None


class Updated(NamedTuple):
    row: RollRow
    existing: Existing
    changes: tuple[Change, ...]


@dataclass
class RollPlan:
    joining: list[Joining] = field(default_factory=list)
    updated: list[Updated] = field(default_factory=list)
    leaving: list[Existing] = field(default_factory=list)
    unchanged: int = 0

    @property
    def creates_accounts(self) -> int:
        return sum(1 for j in self.joining if j.existing is None)

    @property
    def is_empty(self) -> bool:
        return not (self.joining or self.updated or self.leaving)

    def counts(self) -> dict[str, int]:
        return {
            "joining": len(self.joining),
            "accounts_created": self.creates_accounts,
            "updated": len(self.updated),
            "leaving": len(self.leaving),
            "unchanged": self.unchanged,
        }

    def fingerprint(self) -> str:
        """A digest of every change and the state it starts from.

        The preview's plan and the plan recomputed at apply time agree only
        if nothing that the import touches changed in between.
        """
        # JSON, not repr: the C encoder is several times faster on 130,000
        # rows, and as deterministic (tuples become lists, in order).
        canonical = json.dumps(
            [self.joining, self.updated, self.leaving, self.unchanged],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def diff_roll(rows: Iterable[RollRow], existing: Iterable[Existing]) -> RollPlan:
    """Who joins, who changes and who leaves if the body's roll becomes `rows`.

    Leaving: active members of the body absent from the file. Secretaries and
    observers hold other kinds of place, which an import never touches.
    """
    by_email: dict[str, Existing] = {}
    for person in existing:
        known = by_email.get(person.email)
        # Two accounts whose addresses differ only in case: prefer the one on the roll.
        if known is None or (person.active and person.membership_id and not known.active):
            by_email[person.email] = person
    plan = RollPlan()
    # Locals and tuple.__new__ (which skips the Python-level __new__ that
    # NamedTuple adds): this loop runs once per row of a 130,000-row file.
    joining, updated, make = plan.joining.append, plan.updated.append, tuple.__new__
    in_file: set[str] = set()
    unchanged = 0
    for row in rows:
        in_file.add(row.email)
        person = by_email.get(row.email)
        if person is None:
            joining(make(Joining, (row, None, ())))
            continue
        changes = _account_changes(row, person)
        if person.membership_id is None or not person.active:
            joining(make(Joining, (row, person, changes)))
            continue
        if row.ward != person.ward:
            changes = (*changes, Change("ward", person.ward, row.ward))
        if changes:
            updated(make(Updated, (row, person, changes)))
        else:
            unchanged += 1
    plan.unchanged = unchanged
    leaving = [
        person
        for person in by_email.values()
        if person.membership_id is not None and person.active and person.email not in in_file
    ]
    leaving.sort(key=lambda p: (p.name.lower(), p.email))
    plan.leaving = leaving
    return plan


def _account_changes(row: RollRow, person: Existing) -> tuple[Change, ...]:
    changes: tuple[Change, ...] = ()
    if row.name != person.name:
        changes = (Change("name", person.name, row.name),)
    if row.gender is not None and row.gender != person.gender:
        changes = (*changes, Change("gender", person.gender, row.gender))
    return changes


__all__ = [
    "EMAIL_MAX",
    "GENDERS",
    "MAX_ERRORS",
    "NAME_MAX",
    "WARD_MAX",
    "Change",
    "Existing",
    "Joining",
    "LineError",
    "ParsedRoll",
    "RollPlan",
    "RollRow",
    "Updated",
    "diff_roll",
    "parse_roll",
]
