"""Small numbers betray votes: no count before the close, and no split by
channel after it.

A group of 52 votes in a hybrid poll: 24 in the room (11 for Anwen, 13 for
Berwyn) and 28 online (16 and 12), 27 to 25 in all. The minimum cell size is
set above every one of those channel cells. A member, the secretary and an
observer then open every page and download Teller has, before the close and
at each step after it, and each is searched:

- before the close, for any count of votes for a candidate (and, to be sure,
  no page even reads the inbox or the ballot box while the poll is open);
- after it, for any channel's share of a candidate's votes.

Pages are read as text, the way a person or a screen reader reads them, and a
number only counts as shown where it stands near a candidate's name or a
word naming a channel; the clock is frozen at a time whose digits are none
of those numbers, and nobody's name has a digit in it.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from elections.models import Channel, ContestState, Method
from tests.secrecy.helpers import (
    cast_through_the_page,
    make_councillors,
    numbers_near,
    open_contest,
    page_text,
)

ANWEN, BERWYN = "Anwen Lloyd", "Berwyn Hale"
IDS = (7_340_001, 7_340_002)
ONLINE = {ANWEN: 16, BERWYN: 12}
IN_ROOM = {ANWEN: 11, BERWYN: 13}
TOTALS = {ANWEN: 27, BERWYN: 25}
SPLIT = set(ONLINE.values()) | set(IN_ROOM.values())
CHANNEL_WORDS = ("online", "in person", "in the room", "paper", "proxy", "proxies", "channel",
                 "remote", "postal")  # fmt: skip
# 07:45 on 4 March 2031 (GMT): no 11, 12, 13, 16, 25 or 27 in any date or time shown.
FROZEN = datetime(2031, 3, 4, 7, 45, tzinfo=UTC)
BOX_TABLES = re.compile(r'"elections_(inbox)?ballot"')


def _pages(contest: Any, poll: Any) -> list[tuple[str, str]]:
    """Every page and download that takes a GET, for this contest and poll."""
    named = [
        ("home", []), ("inbox", []), ("notification_settings", []),
        ("contest", [contest.pk]), ("results", [contest.pk]), ("results_print", [contest.pk]),
        ("results_csv", [contest.pk]), ("ballots_blt", [contest.pk]),
        ("receipt_check", [contest.pk]), ("contest_rulings", [contest.pk]),
        ("complaint_lodge", [contest.pk]), ("turnout", [contest.pk]),
        ("audit_trail", [contest.pk]), ("proxy_list", [contest.pk]),
        ("ballot", [poll.pk]), ("register", [poll.pk]), ("paper_counts", [poll.pk]),
        ("roll_import", [contest.body_id]),
    ]  # fmt: skip
    return [(name, reverse(name, args=args)) for name, args in named]


def _read_all(client: Client, who: str, pages: list[tuple[str, str]]) -> list[tuple[str, str, Any]]:
    """(page, text, queries) for each page `who` opens; the text is what a
    person reads (HTML) or the file itself (downloads)."""
    read = []
    for name, url in pages:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code < 500, f"{who} {name}: {response.status_code}"
        if response.status_code in (301, 302):
            continue
        content = response.content.decode()
        is_html = response.get("Content-Type", "").startswith("text/html")
        read.append((f"{who} {name}", page_text(content) if is_html else content, queries))
    return read


@pytest.mark.django_db
def test_no_count_before_the_close_and_no_channel_split_after(
    body: Any, sam: Any, olive: Any
) -> None:
    with time_machine.travel(FROZEN, tick=False):
        _run(body, sam, olive)


def _run(body: Any, sam: Any, olive: Any) -> None:
    councillors = make_councillors(body, 52)
    contest, poll = open_contest(
        body, sam, Method.PLURALITY, (ANWEN, BERWYN), IDS,
        channel=Channel.HYBRID, min_cell_size=30,
    )  # fmt: skip
    ids = dict(zip((ANWEN, BERWYN), IDS, strict=True))
    online, in_room = councillors[:28], councillors[28:]
    member, secretary, observer = Client(), Client(), Client()
    member.force_login(online[0])
    secretary.force_login(sam)
    observer.force_login(olive)
    people = {"member": member, "secretary": secretary, "observer": observer}
    pages = _pages(contest, poll)

    # --- voting: online through the ballot page, in the room on the register -----
    voter = Client()
    choices = [ANWEN] * ONLINE[ANWEN] + [BERWYN] * ONLINE[BERWYN]
    for person, name in zip(online, choices, strict=True):
        voter.force_login(person)
        paper = poll.ballot_paper().fingerprint
        cast_through_the_page(voter, poll, {"paper": paper, "choice": str(ids[name])})
    for person in in_room:
        response = secretary.post(reverse("register", args=[poll.pk]), {"voter": person.pk})
        assert response.status_code == 302

    # --- before the close: no count, and nothing even reads the box -------------
    forbidden = set(ONLINE.values()) | set(TOTALS.values()) | set(IN_ROOM.values())
    for who, client in people.items():
        for page, text, queries in _read_all(client, who, pages):
            assert not numbers_near(text, (ANWEN, BERWYN), forbidden, reach=80), page
            read_box = [q["sql"] for q in queries if BOX_TABLES.search(q["sql"])]
            assert not read_box, f"{page} reads ballots while the poll is open: {read_box}"

    # --- after the close, at every step: no split by channel --------------------
    def no_split(step: str) -> None:
        for who, client in people.items():
            for page, text, _ in _read_all(client, who, pages):
                if page == "secretary paper_counts":
                    # The form where the secretary enters the room's count shows
                    # back what they entered; nobody else reaches it.
                    continue
                anchors = (ANWEN, BERWYN, *CHANNEL_WORDS)
                found = numbers_near(text, anchors, SPLIT, reach=80)
                assert not found, f"after {step}, {page}: {found[:3]}"
                if page.endswith("results_csv") and "votes" in text:
                    rows = list(csv.DictReader(io.StringIO(text)))
                    assert {int(r["votes"]) for r in rows} <= set(TOTALS.values()), page
                if page.endswith("ballots_blt") and text.strip():
                    weights = _blt_weights(text)
                    assert weights <= set(TOTALS.values()), f"{page}: {weights}"

    assert secretary.post(reverse("transition", args=[contest.pk, "close-poll"])).status_code == 302
    no_split("the close")
    counts = {f"votes-{ids[name]}": n for name, n in IN_ROOM.items()}
    response = secretary.post(
        reverse("paper_counts", args=[poll.pk]), {**counts, "votes-abstain": 0}
    )
    assert response.status_code == 302, page_text(response.content.decode())
    assert observer.post(reverse("countersign", args=[poll.pk])).status_code == 302
    assert secretary.post(reverse("transition", args=[contest.pk, "count"])).status_code == 302
    no_split("the count")
    assert secretary.post(reverse("transition", args=[contest.pk, "declare"])).status_code == 302
    contest.refresh_from_db()
    assert contest.state == ContestState.DECLARED
    no_split("the declaration")

    # And the result is there to read: the totals, not their parts.
    results = page_text(member.get(reverse("results", args=[contest.pk])).content.decode())
    for name, total in TOTALS.items():
        assert numbers_near(results, (name,), {total}, reach=40), results[:2000]


def _blt_weights(blt: str) -> set[int]:
    """The weights of a BLT file's ballot lines (between the header and the 0 line)."""
    lines = [line.split() for line in blt.strip().splitlines()]
    weights = set()
    for fields in lines[1:]:
        if fields == ["0"]:
            break
        weights.add(int(fields[0]))
    return weights
