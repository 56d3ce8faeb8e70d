"""Helpers for the secrecy tests: a contest built the way people build one,
ballots cast through the ballot page, and ways to look at everything the
system kept afterwards (every table, hidden columns included, and pages as
a person reads them)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from elections.ballot_paper import RANK_PREFIX
from elections.models import Body, Candidate, Contest, Membership, Poll, RuleSet
from tests.conftest import receipt_shown

# Names without digits, so that a number on a page is never part of a name.
FIRST = ["Aled", "Bethan", "Cerys", "Dylan", "Eirlys", "Ffion", "Glyn", "Heledd", "Idris",
         "Jenna", "Kai", "Lowri", "Meirion"]  # fmt: skip
LAST = ["Morgan", "Pryce", "Vaughan", "Rhys"]


def make_councillors(body: Body, n: int) -> list[User]:
    """`n` voting members of `body`, named like people (no digits anywhere)."""
    people = []
    for i in range(n):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        tag = "abcdefghijklmnopqrstuvwxyz"[i // 26] + "abcdefghijklmnopqrstuvwxyz"[i % 26]
        user = User.objects.create_user(
            f"{first}.{last}.{tag}@council.example".lower(), None, full_name=f"{first} {last}"
        )
        Membership.objects.create(body=body, user=user)
        people.append(user)
    return people


def open_contest(
    body: Body,
    secretary: User,
    method: str,
    names: Sequence[str],
    ids: Sequence[int],
    *,
    title: str = "Group leader",
    **rules: Any,
) -> tuple[Contest, Poll]:
    """A contest whose candidates have the given ids, its poll open now.

    The ids are chosen by the test so that they are numbers nothing else in
    the database or on a page will be: a choice written anywhere it should
    not be is then found by searching for the number.
    """
    ruleset = RuleSet.objects.create(name=f"{title} rules", method=method, **rules)
    contest = Contest.objects.create(body=body, title=title, rules=ruleset)
    contest.open_nominations(by=secretary)
    for name, pk in zip(names, ids, strict=True):
        Candidate.add(contest, by=secretary, name=name, id=pk)
    contest.finalise_ballot(by=secretary)
    now = timezone.now()
    poll = contest.schedule_poll(
        by=secretary, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=2)
    )
    poll.open(by=secretary)
    contest.refresh_from_db()
    poll.refresh_from_db()
    return contest, poll


def ranked_fields(poll: Poll, ranking: Sequence[int]) -> dict[str, str]:
    """The ranked ballot form as a browser submits it: every box, blank if unranked."""
    rank = {cid: str(n) for n, cid in enumerate(ranking, start=1)}
    fields = {f"{RANK_PREFIX}{o.id}": rank.get(o.id, "") for o in poll.ballot_paper().options}
    return {"paper": poll.ballot_paper().fingerprint, **fields}


def hidden_fields(review_html: str) -> dict[str, str]:
    """The hidden inputs the confirmation page carries into the cast."""
    fields = {}
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", review_html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and value and name.group(1) not in ("csrfmiddlewaretoken", "action"):
            fields[name.group(1)] = value.group(1)
    return fields


def cast_through_the_page(client: Client, poll: Poll, fields: dict[str, str]) -> str:
    """Mark, review and cast as a voter does; return the receipt code shown."""
    url = reverse("ballot", args=[poll.pk])
    review = client.post(url, {**fields, "action": "review"})
    assert review.status_code == 200, review.content.decode()[:2000]
    cast = client.post(url, {**hidden_fields(review.content.decode()), "action": "cast"})
    assert cast.status_code == 200, cast.content.decode()[:2000]
    return receipt_shown(cast.content.decode())


def id_run(ids: Sequence[int]) -> re.Pattern[str]:
    """A list of candidate ids in this order, however it is written ([1, 2],
    "1,2", "1 2"), but not as quoted strings, which is how a count sheet
    names candidates."""
    sep = r"[\s,;|\[\]()]{1,4}"
    return re.compile(r"(?<![\d\"'])" + sep.join(str(i) for i in ids) + r"(?![\d\"'])")


# --- the database, hidden columns included -----------------------------------
@dataclass(frozen=True)
class Row:
    table: str
    xmin: str
    xmax: str
    ctid: str
    text: str


def every_row() -> list[Row]:
    """Every row of every table in the database, as PostgreSQL prints it,
    with the transaction that wrote it (`xmin`), the one that last locked or
    deleted it (`xmax`) and where it sits on disk (`ctid`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        tables = cursor.fetchall()
        rows = []
        for schema, table in tables:
            name = connection.ops.quote_name(schema) + "." + connection.ops.quote_name(table)
            cursor.execute(f"SELECT xmin::text, xmax::text, ctid::text, t::text FROM {name} AS t")  # noqa: S608
            rows += [Row(table, *found) for found in cursor.fetchall()]
    assert {r.table for r in rows} >= {"elections_ballot", "elections_participation"}
    return rows


# --- pages as a person reads them --------------------------------------------
class _Text(HTMLParser):
    """Visible text, plus what assistive technology reads out of attributes."""

    SPOKEN = ("aria-label", "title", "alt")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in self.SPOKEN and value:
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.chunks.append(" ".join(data.split()))


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " | ".join(parser.chunks)


def numbers_near(
    text: str, anchors: Iterable[str], numbers: Iterable[int], reach: int
) -> list[str]:
    """Each place where one of `numbers`, standing alone, is within `reach`
    characters of one of `anchors` (case-insensitive). Digits inside a word (an
    audit event's digest, a receipt code) are not a number anyone reads."""
    wanted = {str(n) for n in numbers}
    found = []
    for anchor in anchors:
        for match in re.finditer(re.escape(anchor), text, flags=re.IGNORECASE):
            window = text[max(0, match.start() - reach) : match.end() + reach]
            for number in re.findall(r"(?<![\w.,:])\d+(?![\w:]|[.,]\d)", window):
                if number in wanted:
                    found.append(f"{number} near {anchor!r}: …{window}…")
    return found
