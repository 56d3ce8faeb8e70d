"""Reading result pages the way a person (or a screen reader) would, for the tests.

A small tree built with the standard library's HTML parser: enough to pick out
each chart's bars and labels, the table beside it, and the count sheet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from accounts.models import User
from elections import counting
from elections.models import Contest, Poll
from elections.services.casting import cast_ballot

VOID = {"br", "hr", "img", "input", "link", "meta", "source", "wbr", "col", "area", "base"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.walk()

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag and (cls is None or cls in n.classes)]

    def find(self, tag: str, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert found, f"no <{tag} class={cls!r}>"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def clean_name(text: str) -> str:
    """A table's row header without its "(elected)"/"(excluded)" marker."""
    text = " ".join(text.split())
    for mark in (" (elected)", " (excluded)"):
        text = text.removesuffix(mark)
    return text


@dataclass
class ChartReading:
    round: int
    stage: int
    bars: dict[str, Decimal]  # from each bar's data attributes
    labels: dict[str, Decimal]  # from the numbers written beside the bars
    elected: set[str]  # bars marked elected (data attribute and text marker)
    table: dict[str, Decimal]  # the table beside the chart
    table_elected: set[str]
    svg: Node


def read_charts(html: str) -> list[ChartReading]:
    out = []
    for fig in parse(html).find_all("figure", "chart-figure"):
        svg = fig.find("svg")
        bars, labels, elected = {}, {}, set()
        for g in svg.find_all("g", "chart-row"):
            name = g.attrs["data-name"] or ""
            bars[name] = Decimal(g.attrs["data-votes"] or "")
            labels[name] = Decimal(g.find("text", "chart-value").text())
            has_mark = "(elected)" in g.find("text", "chart-name").text()
            assert has_mark == ("data-elected" in g.attrs), name
            if has_mark:
                elected.add(name)
        table, table_elected = {}, set()
        for tr in fig.find("tbody").find_all("tr"):
            th = tr.find("th")
            name = clean_name(th.text())
            table[name] = Decimal(tr.find_all("td")[0].text())
            if "(elected)" in th.text():
                table_elected.add(name)
        out.append(
            ChartReading(
                int(fig.attrs["data-round"] or 0),
                int(fig.attrs["data-stage"] or 0),
                bars,
                labels,
                elected,
                table,
                table_elected,
                svg,
            )
        )
    return out


def read_count_sheets(html: str) -> dict[int, dict[int, dict[str, Decimal]]]:
    """Round -> stage -> candidate -> total, from the count sheet tables."""
    out: dict[int, dict[int, dict[str, Decimal]]] = {}
    for table in parse(html).find_all("table", "count-sheet"):
        heads = [" ".join(th.text().split()) for th in table.find("thead").find_all("th")]
        names = heads[2:-1]
        stages = {}
        for tr in table.find("tbody").find_all("tr"):
            cells = [td.text() for td in tr.find_all("td")]
            values = [Decimal(c) for c in cells[1:]]
            row = dict(zip(names, values[:-1], strict=True))
            row["Non-transferable"] = values[-1]
            stages[int(tr.attrs["data-stage"] or 0)] = row
        out[int(table.attrs["data-round"] or 0)] = stages
    return out


def sheet_totals(poll: Poll) -> dict[int, dict[str, Decimal]]:
    """Stage -> candidate name -> total, straight from the stored count sheet."""
    names = {**poll.result["names"], counting.AGAINST: "Against"}
    return {
        stage["number"]: {names[c]: Decimal(v) for c, v in stage["totals"].items()}
        for stage in poll.result["stages"]
    }


def sheet_elected(poll: Poll) -> set[str]:
    return {poll.result["names"][c] for c in poll.result["elected"]}


Choice = Sequence[str]  # candidate names in order, or ["yes"] / ["no"], or [] to abstain


def cast_all(poll: Poll, voters: Sequence[User], papers: Sequence[Choice]) -> None:
    ids = {c.name: c.pk for c in poll.candidates.all()}
    for voter, paper in zip(voters, papers, strict=True):
        choices: list[int | str] = [p if p in ("yes", "no") else ids[p] for p in paper]
        if poll.ballot_paper().kind == "block":
            choices = sorted(choices)  # type: ignore[type-var]
        cast_ballot(poll.pk, voter, choices)


def run_contest(
    make_contest: Callable[..., Contest],
    make_members: Callable[[int], list[User]],
    sam: User,
    method: str,
    names: tuple[str, ...],
    rounds: Sequence[Sequence[Choice]],
    *,
    declare: bool = True,
    **rules: Any,
) -> Contest:
    """Run a contest through the real services: cast, close, count (each round), declare."""
    voters = make_members(max(len(r) for r in rounds))
    contest = make_contest(method, names, **rules)
    for number, papers in enumerate(rounds, start=1):
        poll = contest.current_poll()
        assert poll is not None and poll.number == number
        if number > 1:
            poll.open(by=sam)
        cast_all(poll, voters[: len(papers)], papers)
        poll.close(by=sam)
        poll.count(by=sam)
        contest.refresh_from_db()
    if declare:
        contest.declare(by=sam)
        contest.refresh_from_db()
    return contest
