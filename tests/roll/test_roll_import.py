"""Reading a roll file and comparing it with the roll: elections.roll_import (no database)."""

from __future__ import annotations

import pytest

from accounts.models import User
from elections.models import Membership
from elections.roll_import import (
    EMAIL_MAX,
    GENDERS,
    MAX_ERRORS,
    NAME_MAX,
    WARD_MAX,
    Change,
    Existing,
    RollRow,
    diff_roll,
    parse_roll,
)


def messages(data: bytes | str) -> list[str]:
    parsed = parse_roll(data.encode() if isinstance(data, str) else data)
    assert not parsed.ok and parsed.rows == []
    return [str(error) for error in parsed.errors]


# --- reading ------------------------------------------------------------------
def test_it_reads_a_valid_file_in_any_column_order_and_header_case() -> None:
    parsed = parse_roll(
        b"Ward, EMAIL ,Full Name,Gender\n"
        b"North,Ann.Archer@Example.org,Ann   Archer,F\n"
        b"South,ben@example.org,Ben Baker,male\n"
        b'"East, upper",cat@example.org,Cat Carter,\n'
    )
    assert parsed.ok, parsed.errors
    assert parsed.columns == ["name", "email", "ward", "gender"]
    assert parsed.rows == [
        RollRow(2, "ann.archer@example.org", "Ann Archer", "North", "woman"),
        RollRow(3, "ben@example.org", "Ben Baker", "South", "man"),
        RollRow(4, "cat@example.org", "Cat Carter", "East, upper", None),
    ]


@pytest.mark.parametrize(
    ("word", "gender"),
    [
        ("woman", "woman"),
        ("Woman", "woman"),
        ("f", "woman"),
        ("Female", "woman"),
        ("man", "man"),
        ("M", "man"),
        ("male", "man"),
        ("other", "other"),
        ("OTHER", "other"),
        ("", None),
        ("  ", None),
    ],
)
def test_it_maps_the_gender_words(word: str, gender: str | None) -> None:
    parsed = parse_roll(f"name,email,ward,gender\nAnn,ann@example.org,N,{word}\n".encode())
    assert parsed.ok and parsed.rows[0].gender == gender


def test_it_accepts_name_or_full_name_and_a_file_without_gender() -> None:
    for header in ("name", "Full name", "FULL_NAME", "full  name"):
        parsed = parse_roll(f"{header},email,ward\nAnn,ann@example.org,North\n".encode())
        assert parsed.ok, (header, parsed.errors)
        assert parsed.rows[0].name == "Ann" and parsed.rows[0].gender is None
        assert parsed.columns == ["name", "email", "ward"]


def test_it_reads_a_bom_semicolons_crlf_and_skips_blank_lines() -> None:
    data = "\ufeffname;email;ward\r\n\r\nAnn;ann@example.org;North\r\n;;\r\nBen;b@example.org;\r\n"
    parsed = parse_roll(data.encode())
    assert parsed.ok, parsed.errors
    assert [(r.line, r.name, r.ward) for r in parsed.rows] == [(3, "Ann", "North"), (5, "Ben", "")]


def test_it_ignores_unknown_columns_and_says_so() -> None:
    parsed = parse_roll(b"name,phone,email,ward\nAnn,0123,ann@example.org,North\n")
    assert parsed.ok and parsed.ignored_columns == ["phone"]


def test_it_numbers_lines_by_where_a_record_starts() -> None:
    data = b'name,email,ward\n"Ann\nArcher",ann@example.org,N\nBen,not-an-email,S\n'
    assert messages(data) == ["Line 4: “not-an-email” is not a valid email address."]


def test_it_names_the_line_of_a_bad_email() -> None:
    data = "name,email,ward\nAnn,ann@example.org,N\nBen,ben@@example,S\nCat,,S\n"
    assert messages(data) == [
        "Line 3: “ben@@example” is not a valid email address.",
        "Line 4: the email address is missing.",
    ]


def test_it_names_both_lines_of_a_duplicate_email() -> None:
    data = "name,email,ward\nAnn,ann@example.org,N\nBen,b@example.org,S\nAnn 2,ANN@example.org,S\n"
    assert messages(data) == ["Line 4: the email address ann@example.org is already on line 2."]


def test_it_names_a_missing_column() -> None:
    assert messages("name,email\nAnn,ann@example.org\n") == [
        "Line 1: the header has no “ward” column (it has “name”, “email”)."
    ]


def test_it_says_when_the_first_line_is_not_a_header() -> None:
    (message,) = messages("Ann,ann@example.org,North\n")
    assert message.startswith("Line 1: the first line must be a header row")


def test_it_names_the_line_of_a_missing_name() -> None:
    assert messages("name,email,ward\nAnn,ann@example.org,N\n ,ben@example.org,S\n") == [
        "Line 3: the name is missing."
    ]


def test_it_names_the_line_of_an_unknown_gender() -> None:
    (message,) = messages("name,email,ward,gender\nAnn,ann@example.org,N,x\n")
    assert message.startswith("Line 2: the gender “x” is not one we know")


def test_it_names_the_line_with_the_wrong_number_of_fields() -> None:
    data = "name,email,ward\nAnn,ann@example.org,N\nArcher, Ben,ben@example.org,S\nCat,c@x.org\n"
    assert messages(data) == [
        "Line 3: expected 3 fields, as in the header, but found 4. "
        "A name or ward that contains a comma must be in double quotes.",
        "Line 4: expected 3 fields, as in the header, but found 2. "
        "A name or ward that contains a comma must be in double quotes.",
    ]


def test_it_names_the_line_where_the_file_stops_being_utf8() -> None:
    data = "name,email,ward\nAnn,ann@example.org,N\nBéa,bea@example.org,S\n".encode("latin-1")
    (message,) = messages(data)
    assert message.startswith("Line 3: the file is not UTF-8 text")


@pytest.mark.parametrize(
    ("data", "start"),
    [
        (b"", "The file is empty."),
        (b" \n\n", "The file is empty."),
        (b"name,email,ward\n", "The file has a header row but no members under it."),
        (b"PK\x03\x04\x14\x00\x00\x00 xlsx", "This is not a CSV file"),
        ("name,email,ward\n".encode("utf-16"), "The file is UTF-16 text, not UTF-8."),
    ],
)
def test_it_refuses_a_file_that_is_empty_or_not_csv(data: bytes, start: str) -> None:
    (message,) = messages(data)
    assert message.startswith(start)


def test_it_refuses_overlong_fields() -> None:
    long_name, long_ward = "N" * (NAME_MAX + 1), "W" * (WARD_MAX + 1)
    long_email = "a" * (EMAIL_MAX - len("@example.org") + 1) + "@example.org"
    data = f"name,email,ward\n{long_name},a@example.org,N\nAnn,{long_email},{long_ward}\n"
    assert messages(data) == [
        f"Line 2: the name is longer than {NAME_MAX} characters.",
        f"Line 3: “{long_email}” is not a valid email address.",
        f"Line 3: the ward is longer than {WARD_MAX} characters.",
    ]


def test_it_lists_the_first_errors_and_counts_the_rest() -> None:
    lines = "".join(f"P{i},bad-{i},W\n" for i in range(MAX_ERRORS + 50))
    parsed = parse_roll(f"name,email,ward\n{lines}".encode())
    assert len(parsed.errors) == MAX_ERRORS and parsed.error_count == MAX_ERRORS + 50
    assert parsed.more_errors == 50


def test_it_agrees_with_django_on_unusual_but_valid_addresses() -> None:
    data = "name,email,ward\nA,o'neil+roll@example.org,N\nB,user@xn--bcher-kva.example,S\n"
    assert parse_roll(data.encode()).ok


def test_its_limits_match_the_models() -> None:
    assert User._meta.get_field("full_name").max_length == NAME_MAX
    assert User._meta.get_field("email").max_length == EMAIL_MAX
    assert Membership._meta.get_field("ward").max_length == WARD_MAX
    assert tuple(User.Gender.values) == GENDERS


# --- comparing ----------------------------------------------------------------
def person(uid: int, email: str, name: str, *, place: int | None, ward: str = "", active=True):  # type: ignore[no-untyped-def]
    return Existing(uid, email, name, "", place, ward, active)


def row(line: int, email: str, name: str, ward: str = "", gender: str | None = None) -> RollRow:
    return RollRow(line, email, name, ward, gender)


def test_it_sorts_people_into_joining_updated_leaving_and_unchanged() -> None:
    existing = [
        person(1, "ann@x.org", "Ann", place=11, ward="N"),  # unchanged
        person(2, "ben@x.org", "Ben", place=12, ward="N"),  # new ward
        person(3, "cat@x.org", "Cat", place=13, ward="S"),  # leaves
        person(4, "dan@x.org", "Dan", place=14, ward="S", active=False),  # rejoins
        person(5, "eve@x.org", "Eve", place=None),  # an account, new to the body
        person(6, "fay@x.org", "Fay", place=16, active=False),  # left before; stays out
    ]
    rows = [
        row(2, "ann@x.org", "Ann", "N"),
        row(3, "ben@x.org", "Ben", "E"),
        row(4, "dan@x.org", "Dan", "S"),
        row(5, "eve@x.org", "Eve Evans", "W", "woman"),
        row(6, "gus@x.org", "Gus", "W"),
    ]
    plan = diff_roll(rows, existing)
    assert [(j.row.email, j.creates_account, j.rejoining) for j in plan.joining] == [
        ("dan@x.org", False, True),
        ("eve@x.org", False, False),
        ("gus@x.org", True, False),
    ]
    assert plan.joining[1].changes == (
        Change("name", "Eve", "Eve Evans"),
        Change("gender", "", "woman"),
    )
    assert [(u.row.email, u.changes) for u in plan.updated] == [
        ("ben@x.org", (Change("ward", "N", "E"),))
    ]
    assert [p.email for p in plan.leaving] == ["cat@x.org"]
    assert plan.unchanged == 1
    assert plan.counts() == {
        "joining": 3,
        "accounts_created": 1,
        "updated": 1,
        "leaving": 1,
        "unchanged": 1,
    }


def test_a_blank_gender_leaves_the_recorded_one() -> None:
    existing = [Existing(1, "ann@x.org", "Ann", "woman", 11, "N", True)]
    assert diff_roll([row(2, "ann@x.org", "Ann", "N", None)], existing).is_empty
    plan = diff_roll([row(2, "ann@x.org", "Ann", "N", "other")], existing)
    assert plan.updated[0].changes == (Change("gender", "woman", "other"),)


def test_the_fingerprint_changes_with_the_roll_it_starts_from() -> None:
    rows = [row(2, "ann@x.org", "Ann", "N")]
    before = diff_roll(rows, [person(1, "ann@x.org", "Ann", place=11, ward="S")])
    same = diff_roll(rows, [person(1, "ann@x.org", "Ann", place=11, ward="S")])
    moved = diff_roll(rows, [person(1, "ann@x.org", "Ann", place=11, ward="E")])
    assert before.fingerprint() == same.fingerprint() != moved.fingerprint()
