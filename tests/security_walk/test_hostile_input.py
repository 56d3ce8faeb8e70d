"""Hostile input at the views: never a 500, and nothing written.

Hypothesis throws malformed and hostile ballots, roll files, ruling forms
and query strings at the views through Django's test client (a 500 comes
back as a status, not an exception). Each must get a clear 4xx, or its
page back with an error on it, and leave the database as it was: the same
row count in every table and the same rows in the ballot, participation and
audit tables. Every example runs in a savepoint that is rolled back, so
each meets the same world (tests/security_walk/conftest.py).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from elections.exceptions import BallotRefused
from elections.models import Ruling, RulingKind
from tests.security_walk.helpers import ROLES, World, rolled_back, snapshot
from tests.security_walk.hostile import (
    CRITICAL,
    FORM,
    FUZZ,
    client_for,
    form_body,
    nasty_text,
    no_server_error,
    pages,
    unchanged,
)
from tests.security_walk.test_url_walk import rule_fields


# --- Ballots ----------------------------------------------------------------
def _ballot_targets(world: World) -> dict[str, tuple[str, Any]]:
    """Ballots alice can still cast: her own on a single-choice and on a ranked
    paper, and dave's, whose proxy she holds."""
    dave = world.people["dave"].pk
    return {
        "single": (reverse("ballot", args=[world.poll("polling").pk]), world.poll("polling")),
        "ranked": (reverse("ballot", args=[world.poll("ranked").pk]), world.poll("ranked")),
        "proxy": (
            reverse("proxy_ballot", args=[world.poll("polling").pk, dave]),
            world.poll("polling"),
        ),
    }


@st.composite
def ballot_posts(draw: st.DrawFn, ids: list[str]) -> dict[str, list[str]]:
    """Form fields of every kind: real and invented names, real candidate ids,
    rank numbers in and out of range, duplicates, and hostile strings."""
    names = st.one_of(
        st.sampled_from(["choice", "paper", "action", *[f"rank-{i}" for i in ids]]),
        nasty_text.map(lambda s: f"rank-{s}"),
        nasty_text,
    )
    values = st.one_of(
        st.sampled_from([*ids, "abstain", "yes", "no", "review", "cast", "edit"]),
        st.integers(min_value=-3, max_value=len(ids) + 2).map(str),
        nasty_text,
    )
    fields = draw(st.dictionaries(names, st.lists(values, min_size=1, max_size=3), max_size=6))
    # Mostly aim at the cast, the path that writes.
    action = draw(st.one_of(st.just(["cast"]), st.just(["review"]), st.lists(nasty_text)))
    if action:
        fields.setdefault("action", action)
    return fields


@pytest.mark.django_db
@pytest.mark.usefixtures("lenient_ballot_rate")
def test_hostile_ballots_are_refused_and_record_nothing(world: World) -> None:
    alice = client_for(world, "member")
    targets = _ballot_targets(world)
    papers = {name: poll.ballot_paper() for name, (_, poll) in targets.items()}

    @FUZZ
    @given(target=st.sampled_from(sorted(targets)), data=st.data())
    def run(target: str, data: st.DataObject) -> None:
        path, _ = targets[target]
        paper = papers[target]
        fields = data.draw(ballot_posts([str(i) for i in paper.ids]))
        body = form_body(fields)
        posted = QueryDict(body)
        try:
            paper.read(posted)
            readable = True
        except BallotRefused:
            readable = False
        action = posted.get("action", "review")
        with rolled_back():
            before = snapshot()
            response = alice.post(path, body, content_type=FORM)
            what = f"POST {path} {fields!r}"
            no_server_error(response, what)
            if readable and action == "cast":
                # A genuine paper after all: cast (and undone with the savepoint).
                assert response.status_code == HTTPStatus.OK, what
                return
            if readable and action in ("review", "edit"):
                assert response.status_code == HTTPStatus.OK, what
            else:
                assert response.status_code == HTTPStatus.BAD_REQUEST, what
                assert b"Your ballot was not accepted" in response.content, what
            unchanged(before, what)

    run()


@pytest.mark.django_db
@pytest.mark.usefixtures("lenient_ballot_rate")
def test_a_flood_of_fields_is_refused(world: World) -> None:
    """More fields than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS): a 400, not a 500."""
    alice = client_for(world, "member")
    path, _ = _ballot_targets(world)["single"]
    body = form_body({f"rank-{n}": ["1"] for n in range(2000)} | {"action": ["cast"]})
    with rolled_back():
        before = snapshot()
        response = alice.post(path, body, content_type=FORM)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        unchanged(before, "a flood of fields")


# --- Roll files -------------------------------------------------------------
HEADERS = [
    ["name", "email", "ward"],
    ["name", "email", "ward", "gender"],
    ["Full Name", "E-mail", "Ward", "Gender"],
    ["email", "name"],
    ["name", "name", "email", "ward"],
    [],
]
cells = st.one_of(
    st.sampled_from(["Ann Archer", "ann@example.org", "North", "woman", "x@y", "@", ""]),
    st.emails().map(str),
    nasty_text,
)


@st.composite
def roll_files(draw: st.DrawFn) -> bytes:
    header = draw(st.one_of(st.sampled_from(HEADERS), st.lists(nasty_text, max_size=5)))
    rows = draw(st.lists(st.lists(cells, max_size=6), max_size=8))
    if draw(st.booleans()):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=draw(st.sampled_from([",", ";", "\t"])))
        writer.writerow(header)
        writer.writerows(rows)
        text = out.getvalue()
    else:
        # Hand-joined: stray quotes and separators left as they fall.
        text = "\n".join(",".join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "bytes"]))
    if encoding == "bytes":
        return draw(st.binary(max_size=300))
    return text.encode(encoding, errors="replace")


@pytest.mark.django_db
def test_hostile_roll_files_get_a_form_error_or_a_preview(world: World) -> None:
    sam = client_for(world, "secretary")
    body = world.body
    upload_path = reverse("roll_import", args=[body.pk])
    apply_path = reverse("roll_import_apply", args=[body.pk])

    @FUZZ
    @given(
        content=roll_files(),
        filename=st.one_of(st.just("roll.csv"), nasty_text.filter(lambda s: "\x00" not in s)),
        token=nasty_text,
    )
    def run(content: bytes, filename: str, token: str) -> None:
        with rolled_back():
            before = snapshot()
            upload = SimpleUploadedFile(filename or "roll.csv", content, content_type="text/csv")
            response = sam.post(upload_path, {"file": upload})
            what = f"upload {content[:200]!r}"
            no_server_error(response, what)
            assert response.status_code == HTTPStatus.OK, what
            page = response.content.decode()
            previewed = 'name="token"' in page
            assert previewed or "errorlist" in page, what
            # Uploading only reads and stages; nothing is written until applied.
            unchanged(before, what)
            # A forged token applies nothing.
            forged = sam.post(apply_path, {"token": token})
            no_server_error(forged, f"apply {token!r}")
            assert forged.status_code == HTTPStatus.FOUND
            unchanged(before, f"apply of the forged token {token!r}")
            if previewed:
                # Whatever the preview accepted, applying it is an answer, not a crash.
                genuine = response.context["token"]
                applied = sam.post(apply_path, {"token": genuine})
                no_server_error(applied, f"apply of {what}")
                assert applied.status_code == HTTPStatus.FOUND, what

    run()


# --- Ruling forms -----------------------------------------------------------
UNPARSEABLE = st.one_of(
    st.sampled_from(
        [
            "not a date",
            "2026-02-30T10:00",
            "2026-13-01T00:00",
            "99999-01-01T00:00",
            "\x00",
            "T",
            "--",
            "yesterday",
        ]
    ),
    st.text(min_size=1, max_size=20).filter(
        lambda s: s.strip() != "" and not any(c.isdigit() for c in s)
    ),
)
# Rule values no form or model accepts.
BAD_RULES = [
    ("method", "bogus"), ("channel", "carrier pigeon"), ("publish", "\x00"), ("tie_break", "-1"),
    ("stv_rules", "x"), ("seats", "abc"), ("seats", "-1"), ("seats", "0"),
    ("quorum_percent", "101"), ("quorum_percent", "-5"), ("min_cell_size", "ten"),
    ("nomination_threshold", "1.5"),
]  # fmt: skip
# Slugs that name no kind of ruling (the URL takes only slugs).
BAD_KINDS = ["QUASH", "quash-", "delete", "__init__", "uphold_", "0", "dismissed"]


def _local(when: Any) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


@st.composite
def ruling_posts(
    draw: st.DrawFn, world: World, contest: str, kind: RulingKind
) -> tuple[dict[str, list[str]], list[str]]:
    """A ruling form with at least one part broken beyond repair (or a kind
    the contest cannot take), the rest of it arbitrary; and what was broken."""
    rules = world.contests[contest].rules
    fields: dict[str, list[str]] = {k: [str(v)] for k, v in rule_fields(rules).items()}
    fields["reason"] = [draw(nasty_text)]
    if draw(st.booleans()):
        fields["complaint"] = [str(world.objects["complaint_open"].pk)]
    # Any extra fields at all, which the form must ignore.
    fields |= draw(st.dictionaries(nasty_text, st.lists(nasty_text, max_size=2), max_size=3))
    breakers = ["reason", "complaint", "supersedes"]
    if kind in (RulingKind.AMEND_RULES, RulingKind.ORDER_RERUN, RulingKind.QUASH_AND_RERUN):
        breakers.append("rule")
    if kind in (RulingKind.ORDER_RERUN, RulingKind.QUASH_AND_RERUN):
        breakers.append("dates")
    offered = bool(Ruling.can_offer(world.contests[contest], kind))
    broken = draw(st.lists(st.sampled_from(breakers), min_size=1 if offered else 0, unique=True))
    soon = timezone.now() + timedelta(days=3)
    if "reason" in broken:
        fields["reason"] = draw(st.sampled_from([[], [""], ["   "], ["\n\t"], ["a\x00b"]]))
    if "complaint" in broken:
        # A decided complaint, or something that names no complaint at all.
        decided = str(world.objects["complaint_decided"].pk)
        fields["complaint"] = [draw(st.one_of(st.just(decided), UNPARSEABLE, st.just("-7")))]
    if "supersedes" in broken:
        fields["supersedes"] = [draw(st.one_of(UNPARSEABLE, st.just("-1"), st.just("9" * 25)))]
    if "rule" in broken:
        name, value = draw(st.sampled_from(BAD_RULES))
        fields[f"rule_{name}"] = [value]
    if "dates" in broken:
        good = _local(soon)
        fields |= draw(
            st.sampled_from(
                [
                    {"opens_at": [good]},  # the close missing
                    {"closes_at": [good]},  # the opening missing
                    {"opens_at": [good], "closes_at": [good]},  # closes as it opens
                    {"opens_at": [good], "closes_at": [_local(soon - timedelta(hours=1))]},
                    {"opens_at": ["2001-01-01T09:00"], "closes_at": ["2001-01-01T17:00"]},  # past
                ]
            )
            | UNPARSEABLE.map(lambda bad: {"opens_at": [good], "closes_at": [bad]})
            | UNPARSEABLE.map(lambda bad: {"opens_at": [bad], "closes_at": [good]})
        )
    return fields, broken


@pytest.mark.django_db
def test_hostile_ruling_forms_get_a_form_error(world: World) -> None:
    rita = client_for(world, "official")

    @FUZZ
    @given(
        contest=st.sampled_from(["polling", "counted", "quashed"]),
        kind=st.sampled_from(list(RulingKind)),
        data=st.data(),
    )
    def run(contest: str, kind: RulingKind, data: st.DataObject) -> None:
        fields, broken = data.draw(ruling_posts(world, contest, kind))
        path = reverse("office:elections_contest_ruling", args=[world.contests[contest].pk, kind])
        with rolled_back():
            before = snapshot()
            response = rita.post(path, form_body(fields), content_type=FORM)
            what = f"POST {path} broken={broken} {fields!r}"
            no_server_error(response, what)
            assert response.status_code == HTTPStatus.OK, f"{what}: {response.status_code}"
            assert b"errornote" in response.content, what
            unchanged(before, what)

    run()


@pytest.mark.django_db
def test_a_ruling_of_no_known_kind_is_not_found(world: World) -> None:
    rita = client_for(world, "official")
    contest = world.contests["polling"]
    for kind in BAD_KINDS:
        path = reverse("office:elections_contest_ruling", args=[contest.pk, kind])
        with rolled_back():
            before = snapshot()
            response = rita.post(path, {"reason": "Because.", **rule_fields(contest.rules)})
            assert response.status_code == HTTPStatus.NOT_FOUND, kind
            unchanged(before, kind)


# --- Query strings ----------------------------------------------------------
QUERY_KEYS = [
    "page", "round", "complaint", "next", "o", "p", "q", "e", "all", "_to_field", "_popup",
    "_changelist_filters", "state", "state__exact", "kind__exact", "body__id__exact",
    "contest__body__region__name", "password__startswith", "__proto__",
]  # fmt: skip
# The parameters the pages read themselves: tried together on every page.
READ_KEYS = ["page", "round", "complaint", "next", "o", "p", "q"]


@pytest.mark.django_db
def test_hostile_query_strings_never_break_a_page(world: World) -> None:
    """?page=, ?round=, the admin's list parameters and arbitrary keys, on
    every page: an answer (or a 400 or 404), never a 500, nothing written."""
    targets = pages(world)
    assert len(targets) > 40, "the walk's table should give most of the site's pages"
    clients = {role: client_for(world, role) for role in ROLES}

    def check(page: tuple[str, str], query: dict[str, list[str]]) -> None:
        role, path = page
        url = f"{path}?{form_body(query)}"
        with rolled_back():
            before = snapshot()
            response = clients[role].get(url)
            no_server_error(response, f"GET {url[:300]} as {role}")
            assert response.status_code in (200, 302, 400, 404), (url[:300], response.status_code)
            unchanged(before, f"GET {url[:300]} as {role}")

    run = given(
        page=st.sampled_from(targets),
        query=st.dictionaries(
            st.one_of(st.sampled_from(QUERY_KEYS), nasty_text),
            st.lists(nasty_text, min_size=1, max_size=2),
            max_size=4,
        ),
    )(check)
    for page in targets:
        for value in CRITICAL:
            run = example(page=page, query={key: [value] for key in READ_KEYS})(run)
    # The explicit examples run first, and on top of the random ones.
    settings(FUZZ, max_examples=60)(run)()
