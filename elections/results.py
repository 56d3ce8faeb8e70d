"""What a result page shows, read from a poll's stored count sheet.

The sheet (``poll.result``) is what the tally stored: the engine's
``Result.to_dict()`` keyed by candidate id, plus "names", "ballots_counted",
"turnout" and "roll_size". Everything here reads it; nothing recounts,
except the BLT export, which rebuilds the count's own input from the ballot
box so that anyone can recount it.

How much is shown follows the contest's ``rules.publish``:
- full: every stage, the count sheet, ties and lots, charts of every stage;
- totals: each round's first-count totals and their chart, no later stages;
- elected: who was elected and the turnout, no numbers per candidate.
Nothing here ever splits a count by channel (online, in the room, proxy).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString

from elections import counting
from elections.charts import SeriesStage, number_text, stage_series
from elections.models import Contest, Method, Poll, PollStatus, Publication

# Yes/no sheets report "for" under the candidate's id and "against" under this key.
_EXTRA_NAMES = {counting.AGAINST: "Against", counting.FOR: "For"}


def _name(names: dict[str, str], cid: str) -> str:
    return names.get(cid) or _EXTRA_NAMES.get(cid, cid)


@dataclass(frozen=True)
class CandidateLine:
    name: str
    votes: Decimal
    share: Decimal  # percentage of the votes for candidates at this stage
    elected: bool


@dataclass(frozen=True)
class StageRow:
    """One candidate at one stage of the count."""

    name: str
    votes: Decimal
    text: str  # the total as the sheet writes it, decimals and all
    share: Decimal
    elected: bool  # elected at this stage or before
    excluded: bool  # excluded at this stage or before

    @property
    def display(self) -> str:
        """As the chart writes it, so the table beside the chart reads the same."""
        return number_text(self.votes)


@dataclass(frozen=True)
class StageView:
    number: int
    action: str
    kind: str
    rows: list[StageRow]
    non_transferable: Decimal
    non_transferable_text: str
    elected_here: list[str]
    excluded_here: list[str]
    notes: list[str]

    @property
    def non_transferable_display(self) -> str:
        return number_text(self.non_transferable)


@dataclass(frozen=True)
class TieLine:
    stage: int
    candidates: list[str]
    purpose: str
    decided_by: str
    chosen: str
    seed: str | None  # for a lot: the seed, so anyone can replay the draw
    draw: int | None
    order: list[str]


@dataclass(frozen=True)
class Panel:
    """A chart and the stage whose numbers it draws (shown in a table beside it)."""

    stage: StageView
    chart: SafeString
    title: str
    caption_shown: bool = True  # a lone chart is already named by its section's heading


@dataclass(frozen=True)
class ResultSummary:
    poll: Poll
    lines: list[CandidateLine]  # first-count (or only-count) totals, highest first
    final_lines: list[CandidateLine]  # totals at the last stage
    elected: list[str]
    turnout: int
    roll_size: int
    valid_poll: Decimal
    blank: Decimal
    margin: Decimal | None
    stages: list[dict[str, Any]]
    names: dict[str, str]
    method: str = ""
    seats: int = 1
    quota: Decimal | None = None
    seed: str | None = None
    ties: tuple[TieLine, ...] = ()
    stage_views: tuple[StageView, ...] = ()

    @property
    def number(self) -> int:
        return self.poll.number

    @property
    def turnout_percent(self) -> Decimal:
        if not self.roll_size:
            return Decimal(0)
        return (Decimal(self.turnout) * 100 / self.roll_size).quantize(Decimal("0.1"))

    @property
    def has_stages(self) -> bool:
        return len(self.stages) > 1

    @property
    def candidate_names(self) -> list[str]:
        """Column order for the count sheet: the order of the rows of every stage."""
        return [row.name for row in self.stage_views[0].rows] if self.stage_views else []


def _share(votes: Decimal, total: Decimal) -> Decimal:
    return (votes * 100 / total).quantize(Decimal("0.1")) if total else Decimal(0)


def _lines(totals: dict[str, str], names: dict[str, str], elected: set[str]) -> list[CandidateLine]:
    valid = sum((Decimal(v) for v in totals.values()), Decimal(0))
    lines = [
        CandidateLine(
            name=_name(names, cid),
            votes=Decimal(v),
            share=_share(Decimal(v), valid),
            elected=cid in elected,
        )
        for cid, v in totals.items()
    ]
    return sorted(lines, key=lambda line: (-line.votes, line.name))


def _stage_views(sheet: dict[str, Any], names: dict[str, str]) -> list[StageView]:
    stages: list[dict[str, Any]] = sheet.get("stages", [])
    if not stages:
        return []
    first, last = stages[0]["totals"], stages[-1]["totals"]
    final_elected = set(sheet.get("elected", []))
    # One order for every stage, so the eye can follow a candidate down the
    # series: the elected first, then by final and first-count totals.
    order = sorted(
        last,
        key=lambda c: (
            c not in final_elected,
            -Decimal(last.get(c, "0")),
            -Decimal(first.get(c, "0")),
            _name(names, c),
        ),
    )
    views = []
    elected: set[str] = set()
    excluded: set[str] = set()
    for n, stage in enumerate(stages):
        elected |= set(stage.get("elected", []))
        excluded |= set(stage.get("excluded", []))
        if n == len(stages) - 1:
            # Seats filled at the end without a stage of their own still count as elected here.
            elected |= final_elected
        totals = stage["totals"]
        in_count = sum((Decimal(v) for v in totals.values()), Decimal(0))
        rows = [
            StageRow(
                name=_name(names, c),
                votes=Decimal(totals[c]),
                text=totals[c],
                share=_share(Decimal(totals[c]), in_count),
                elected=c in elected,
                excluded=c in excluded and c not in elected,
            )
            for c in [*order, *(c for c in totals if c not in order)]
            if c in totals
        ]
        views.append(
            StageView(
                number=stage.get("number", n + 1),
                action=stage.get("action", ""),
                kind=stage.get("kind", ""),
                rows=rows,
                non_transferable=Decimal(stage.get("non_transferable", "0")),
                non_transferable_text=stage.get("non_transferable", "0"),
                elected_here=[_name(names, c) for c in stage.get("elected", [])],
                excluded_here=[_name(names, c) for c in stage.get("excluded", [])],
                notes=list(stage.get("notes", [])),
            )
        )
    return views


def _ties(sheet: dict[str, Any], names: dict[str, str]) -> list[TieLine]:
    out = []
    for tie in sheet.get("ties", []):
        draw = tie.get("draw") or {}
        out.append(
            TieLine(
                stage=tie.get("stage", 0),
                candidates=[_name(names, c) for c in tie.get("candidates", [])],
                purpose=tie.get("purpose", ""),
                decided_by=tie.get("decided_by", ""),
                chosen=_name(names, tie.get("chosen", "")),
                seed=None if draw.get("seed") is None else str(draw["seed"]),
                draw=draw.get("draw"),
                order=[_name(names, c) for c in draw.get("order", [])],
            )
        )
    return out


def summarise(poll: Poll) -> ResultSummary | None:
    sheet = poll.result
    if poll.status != PollStatus.COUNTED or not sheet:
        return None
    names: dict[str, str] = sheet.get("names", {})
    elected = set(sheet.get("elected", []))
    stages = sheet.get("stages", [])
    first = stages[0]["totals"] if stages else {}
    last = stages[-1]["totals"] if stages else {}
    final_lines = _lines(last, names, elected)
    seats = sheet.get("seats", 1)
    margin = None
    if len(final_lines) > seats:
        margin = final_lines[seats - 1].votes - final_lines[seats].votes
    quota = sheet.get("quota")
    return ResultSummary(
        poll=poll,
        lines=_lines(first, names, elected),
        final_lines=final_lines,
        elected=[_name(names, c) for c in sheet.get("elected", [])],
        turnout=sheet.get("turnout", 0),
        roll_size=sheet.get("roll_size", 0),
        valid_poll=Decimal(sheet.get("valid_poll", "0")),
        blank=Decimal(sheet.get("blank", "0")),
        margin=margin,
        stages=[
            {**stage, "named_totals": [(_name(names, c), v) for c, v in stage["totals"].items()]}
            for stage in stages
        ],
        names=names,
        method=sheet.get("method", ""),
        seats=seats,
        quota=None if quota is None else Decimal(quota),
        seed=None if sheet.get("seed") is None else str(sheet["seed"]),
        ties=tuple(_ties(sheet, names)),
        stage_views=tuple(_stage_views(sheet, names)),
    )


def summaries_for(contest: Contest) -> list[ResultSummary]:
    """Every counted poll of the contest, round by round."""
    polls = contest.polls.order_by("number")
    return [s for s in (summarise(p) for p in polls) if s]


def _chart_title(summary: ResultSummary, stage: StageView, several_rounds: bool) -> str:
    where = f"Round {summary.number}" if several_rounds else ""
    if len(summary.stage_views) > 1:
        what = f"stage {stage.number}: {stage.action}"
        return f"{where}, {what}" if where else what[0].upper() + what[1:]
    return where or "Votes per candidate"


def panels(summary: ResultSummary, publish: str, *, several_rounds: bool) -> list[Panel]:
    """The charts a poll's section shows under the contest's publication rule."""
    if publish == Publication.ELECTED or not summary.stage_views:
        return []
    stages = list(summary.stage_views)
    if publish != Publication.FULL:
        # Totals only: the first count, in its own order; later stages stay unpublished.
        first = stages[0]
        rows = sorted(first.rows, key=lambda r: (not r.elected, -r.votes, r.name))
        stages = [replace(first, rows=rows)]
    series = [
        SeriesStage(
            title=_chart_title(summary, stage, several_rounds),
            rows=[(row.name, row.votes) for row in stage.rows],
            highlight={row.name for row in stage.rows if row.elected},
        )
        for stage in stages
    ]
    charts = stage_series(series, quota=summary.quota, id_prefix=f"chart-r{summary.number}")
    return [
        Panel(stage=stage, chart=chart, title=s.title, caption_shown=len(stages) > 1)
        for stage, chart, s in zip(stages, charts, series, strict=True)
    ]


# --- downloads ---------------------------------------------------------------

CSV_COLUMNS = [
    "round",
    "stage",
    "action",
    "candidate",
    "votes",
    "elected_at_this_stage",
    "excluded_at_this_stage",
    "non_transferable",
    "quota",
]
CSV_COLUMNS_ELECTED_ONLY = ["candidate", "elected"]


def _cell(text: str) -> str:
    # A name starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(summaries: list[ResultSummary], publish: str) -> list[list[str]]:
    """The result sheet as CSV rows, header first: one row per stage and candidate.

    Under publish="totals" only each round's first count is written; under
    "elected" only who was elected, with no numbers.
    """
    if publish == Publication.ELECTED:
        final = summaries[-1] if summaries else None
        rows: list[list[str]] = [CSV_COLUMNS_ELECTED_ONLY]
        if final and final.stage_views:
            elected = set(final.elected)
            names = sorted(r.name for r in final.stage_views[-1].rows)
            rows += [[_cell(n), "yes" if n in elected else "no"] for n in names]
        return rows
    rows = [CSV_COLUMNS]
    for summary in summaries:
        stages = summary.stage_views if publish == Publication.FULL else summary.stage_views[:1]
        quota = "" if summary.quota is None else number_text(summary.quota)
        for stage in stages:
            elected, excluded = set(stage.elected_here), set(stage.excluded_here)
            rows += [
                [
                    str(summary.number),
                    str(stage.number),
                    _cell(stage.action),
                    _cell(row.name),
                    row.text,
                    "yes" if row.name in elected else "no",
                    "yes" if row.name in excluded else "no",
                    stage.non_transferable_text,
                    quota,
                ]
                for row in stage.rows
            ]
    return rows


def _blt_text(text: str) -> str:
    # BLT quotes names and titles and has no escape: swap the few characters it cannot hold.
    return " ".join(text.replace('"', "\u201d").split())


def ballots_blt(poll: Poll) -> str:
    """The poll's counted ballots as a BLT file anyone can recount.

    Built from the same input the count used (`tally.engine_input`): the
    ballot box, plus the countersigned paper counts of an in-room poll
    merged in, so the file recounts to the published result and cannot be
    set against it to learn how the room voted. Identical papers are
    grouped into one weighted line and the lines sorted by their
    preferences, so nothing in the file follows the order of casting.
    Candidates are numbered in the poll's ballot order; the title is the
    contest's title.

    - Abstentions and blank papers: weighted lines with no preference
      ("3 0"), which the engine counts as blank.
    - Plurality and exhaustive rounds: one preference per line; recount
      with --method plurality / exhaustive (one file per round).
    - Block vote: each paper's choices (unordered; listed by ballot order)
      on one line in ballot order; recount with --method block (seats
      from the file).
    - Yes/no: the candidate or motion is candidate 1 and a second
      candidate "Against" holds the votes against; recount with
      --method yes_no, which reads "Against" that way.
    """
    from elections.services.register import paper_ballots
    from elections.services.tally import engine_input

    contest = poll.contest
    candidates, ballots = engine_input(poll, paper_ballots(poll))
    candidates = [
        counting.Candidate(id=c.id, name=_blt_text(c.name), withdrawn=c.withdrawn)
        for c in candidates
    ]
    if contest.rules.method == Method.YES_NO:
        candidates.append(counting.Candidate(id=counting.AGAINST, name="Against"))
    number = {c.id: i for i, c in enumerate(candidates)}
    if contest.rules.method == Method.PLURALITY and contest.rules.seats > 1:
        # A block paper's choices have no order; list them as the ballot paper does.
        ballots = [
            counting.Ballot(tuple(sorted(b.ranking, key=number.__getitem__)), b.weight)
            for b in ballots
        ]
    ballots = sorted(
        ballots,
        key=lambda b: ([number.get(c, len(number)) for c in b.ranking], -b.weight),
    )
    data = counting.BltData(
        candidates=candidates,
        ballots=ballots,
        seats=contest.rules.seats,
        title=_blt_text(contest.title),
    )
    return counting.write_blt(data)


def result_visible(contest: Contest, roles: set[str]) -> bool:
    """Members see a result once declared; the secretary once counted."""
    from elections.models import ContestState, Membership

    if contest.state in (ContestState.DECLARED, ContestState.QUASHED) and contest.declared_at:
        return True
    return Membership.Role.SECRETARY in roles and contest.state == ContestState.COUNTED
