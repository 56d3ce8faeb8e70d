"""Draw docs/benchmarks.svg and the figures of docs/benchmarks.md from bench/results/*.json.

    python bench/chart.py [--results bench/results] [--out docs/benchmarks.svg]
                          [--doc docs/benchmarks.md]

One panel per benchmark, ours beside the reference measured in the same run. Plain SVG
written by hand, so the chart needs nothing installed and diffs as text. The tables of
figures replace what stands between the ``<!-- figures -->`` and ``<!-- /figures -->``
lines of the doc; the prose around them is written by hand. A benchmark with no results
yet is left out.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]

WIDTH = 760
LABEL_W = 230
BAR_W = 400
ROW_H = 22
OURS = "#2b6cb0"
REFERENCE = "#a0aec0"
TARGET = "#c53030"


@dataclass
class Bar:
    label: str
    value: float
    text: str
    ours: bool = False


@dataclass
class Panel:
    title: str
    note: str
    bars: list[Bar]
    log: bool = False
    target: float | None = None
    target_text: str = ""


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def casting_panel(data: dict[str, Any]) -> Panel:
    bars: list[Bar] = []
    for level, figures in data["levels"].items():
        cast, floor, db = figures["cast"], figures["floor"], figures["database"]
        bars += [
            Bar(f"cast, {level} voters", cast["per_second"],
                f"{cast['per_second']:.0f}/s, p99 {cast['p99_ms']:.0f} ms", ours=True),
            Bar(f"floor of the stack, {level}", floor["per_second"],
                f"{floor['per_second']:.0f}/s"),
            Bar(f"raw SQL (database), {level}", db["per_second"], f"{db['per_second']:.0f}/s"),
        ]  # fmt: skip
    if (o := data.get("open")) is not None:
        bars.append(
            Bar("cast, open loop", o["per_second"],
                f"{o['per_second']:.0f}/s arriving, p99 {o['p99_ms']:.0f} ms", ours=True)
        )  # fmt: skip
    return Panel(
        "Casting: ballots per second through gunicorn",
        f"{data['voters']:,} voters, each casting once; references in the same run",
        bars,
    )


def pages_panel(data: dict[str, Any]) -> Panel:
    key = list(data["sizes"])[-1]
    size = data["sizes"][key]
    bars = [
        Bar(
            f"{page} ({size['queries'].get(page, '-')} queries)" if page != "floor" else "floor",
            fig["per_second"],
            f"{fig['per_second']:.0f}/s, p99 {fig['p99_ms']:.0f} ms",
            ours=page != "floor",
        )
        for page, fig in size["http"].items()
    ]
    return Panel(
        "Pages: requests per second",
        f"{size['contests']:,} contests, {size['members']:,} members, "
        f"{data['concurrency']} concurrent members",
        bars,
    )


def counting_panel(data: dict[str, Any]) -> Panel:
    bars: list[Bar] = []
    for key, label in (("stv", "STV"), ("av", "AV")):
        mine = data["ours"][key]["seconds"]
        bars.append(Bar(f"Teller {label}", mine, f"{mine:.2f} s", ours=True))
        for name in ("pyrankvote", "votekit", "pref_voting"):
            ref = data["references"].get(f"{name}_{key}", {})
            if "seconds" in ref:
                bars.append(
                    Bar(f"{name} {label}", ref["seconds"],
                        f"{ref['seconds']:.2f} s ({ref['seconds'] / mine:.0f}x)")
                )  # fmt: skip
    return Panel(
        "Counting: seconds from raw rankings to a result (log scale, shorter is better)",
        f"{data['ballots']:,} ballots, {data['candidates']} candidates, {data['seats']} seats",
        bars,
        log=True,
        target=2.0,
        target_text="target 2 s",
    )


def notifications_panel(data: dict[str, Any]) -> Panel:
    ref = data["reference"]
    bars = [
        Bar("outbox → Celery → SMTP", data["per_second"],
            f"{data['per_second']:.0f}/s, {data['delivered']:,} in {data['delivery_s']:.0f} s",
            ours=True),
        Bar("smtplib to the same sinks", ref["per_second"], f"{ref['per_second']:.0f}/s"),
    ]  # fmt: skip
    return Panel(
        "Notifications: emails per second",
        f"{data['members']:,} 'ballot open' emails, {data['twice_or_more']} sent twice",
        bars,
        target=data["members"] / 300,
        target_text="5 minutes",
    )


def roll_panel(data: dict[str, Any]) -> Panel:
    bars = [
        Bar("first import", data["first_import"]["total_s"],
            f"{data['first_import']['total_s']:.1f} s", ours=True),
        Bar("re-import (changes)", data["reimport"]["total_s"],
            f"{data['reimport']['total_s']:.1f} s", ours=True),
        Bar("COPY of the same CSV", data["reference_copy_s"], f"{data['reference_copy_s']:.2f} s"),
    ]  # fmt: skip
    return Panel(
        "Roll import: seconds (shorter is better)",
        f"{data['rows']:,} rows from CSV",
        bars,
        target=data.get("budget_s", 30.0),
        target_text="target 30 s",
    )


def render(panels: list[Panel]) -> str:
    parts: list[str] = []
    y = 10
    for panel in panels:
        parts.append(f'<text x="10" y="{y + 16}" class="title">{escape(panel.title)}</text>')
        parts.append(f'<text x="10" y="{y + 32}" class="note">{escape(panel.note)}</text>')
        y += 44
        values = [b.value for b in panel.bars if b.value > 0]
        if panel.target:
            values.append(panel.target)
        top = max(values) if values else 1.0
        low = min(values) if values else 1.0

        def scale(v: float, top: float = top, low: float = low, log: bool = panel.log) -> float:
            if v <= 0:
                return 0.0
            if log:
                floor = math.log10(low) - 0.3
                return BAR_W * (math.log10(v) - floor) / (math.log10(top) - floor)
            return BAR_W * v / top

        first_y = y
        for bar in panel.bars:
            w = max(1.0, scale(bar.value))
            colour = OURS if bar.ours else REFERENCE
            parts.append(
                f'<text x="{LABEL_W - 8}" y="{y + 15}" class="label">{escape(bar.label)}</text>'
                f'<rect x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW_H - 6}" '
                f'fill="{colour}"/>'
                f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 15}" class="value">'
                f"{escape(bar.text)}</text>"
            )
            y += ROW_H
        if panel.target:
            x = LABEL_W + scale(panel.target)
            parts.append(
                f'<line x1="{x:.1f}" y1="{first_y}" x2="{x:.1f}" y2="{y}" stroke="{TARGET}" '
                f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{first_y - 2}" '
                f'class="target">{escape(panel.target_text)}</text>'
            )
        y += 18
    style = (
        "text{font-family:system-ui,sans-serif;font-size:12px;fill:#1a202c}"
        ".title{font-size:14px;font-weight:600}.note{fill:#4a5568}"
        f".label{{text-anchor:end}}.target{{fill:{TARGET};font-size:11px}}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" '
        f'viewBox="0 0 {WIDTH} {y}" role="img" aria-labelledby="t">'
        f'<title id="t">Teller benchmarks: ours (blue) against references (grey)</title>'
        f'<style>{style}</style><rect width="100%" height="100%" fill="#fff"/>'
        + "".join(parts)
        + "</svg>\n"
    )


def _load_avg(machine: dict[str, Any]) -> str:
    """The 1-minute load average at the start of the run, else at its end."""
    load = machine.get("load_average_at_start") or machine.get("load_average") or ["?"]
    return str(load[0])


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _cpu_line(level: dict[str, Any]) -> str:
    cast, floor = level["cast"]["cpu_ms"], level["floor"]["cpu_ms"]
    parts = [p for p in ("gunicorn", "postgres", "redis", "load generator") if p in cast]
    each = "; ".join(f"{p} {cast[p]:.2f} (floor {floor.get(p, 0):.2f})" for p in parts)
    total_cast, total_floor = sum(cast.values()), sum(floor.values())
    return f"casting {total_cast:.2f} (floor {total_floor:.2f}): {each}."


def tables(results: dict[str, dict[str, Any]]) -> str:
    """The figures as Markdown tables, one per benchmark that has results."""
    out: list[str] = []
    if (data := results.get("casting")) is not None:
        m = data["machine"]
        out += [
            f"### Casting ({data['voters']:,} voters, gunicorn {data['gunicorn']['workers']} "
            f"workers; run {m['when']}, load average {_load_avg(m)})",
            "",
            "| concurrent voters | casting | p50 | p99 | floor of the stack | raw SQL "
            "(database) | casting / floor | database's share of a cast | queries per cast |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for level, f in data["levels"].items():
            c, fl, db = f["cast"], f["floor"], f["database"]
            out.append(
                f"| {level} | {c['per_second']:.0f}/s | {_ms(c['p50_ms'])} | {_ms(c['p99_ms'])} "
                f"| {fl['per_second']:.0f}/s (p99 {_ms(fl['p99_ms'])}) | {db['per_second']:.0f}/s "
                f"(p99 {_ms(db['p99_ms'])}) | {c['of_floor']:.0%} | {c.get('db_share', 0):.0%} "
                f"({c.get('db_ms_mean')} of {c.get('server_ms_mean')} ms) | "
                f"{c.get('queries_mean')} |"
            )
        for level, f in data["levels"].items():
            if f["cast"].get("cpu_ms") and f["floor"].get("cpu_ms"):
                out += ["", f"CPU a request at {level}, in ms: " + _cpu_line(f)]
        if (o := data.get("open")) is not None:
            out += [
                "",
                f"Open loop: {o['count']:,} voters arriving at {o['offered_per_second']}/s, at "
                f"most {list(data['levels'])[-1]} in flight: p50 {_ms(o['p50_ms'])}, p90 "
                f"{_ms(o['p90_ms'])}, p99 {_ms(o['p99_ms'])}, {o['statuses']}.",
            ]
        out.append("")
    if (data := results.get("pages")) is not None:
        sizes = list(data["sizes"].values())
        heads = [f"queries at {s['contests']:,} contests" for s in sizes]
        heads += [f"rate, p99 at {s['contests']:,} contests" for s in sizes]
        out += [
            f"### Pages ({data['concurrency']} concurrent members, gunicorn 4 workers; run "
            f"{data['machine']['when']}, load average {_load_avg(data['machine'])})",
            "",
            "| page | " + " | ".join(heads) + " |",
            "| --- |" + " --- |" * len(heads),
        ]
        for page in ("floor", "home", "past", "ballot", "result"):
            queries = [str(s["queries"].get(page, "-")) for s in sizes]
            rates = [
                f"{s['http'][page]['per_second']:.0f}/s, {_ms(s['http'][page]['p99_ms'])}"
                for s in sizes
                if "http" in s
            ]
            out.append(f"| {page} | " + " | ".join(queries + rates) + " |")
        out.append("")
    if (data := results.get("counting")) is not None:
        out += [
            f"### Counting ({data['ballots']:,} ballots, {data['distinct_rankings']:,} distinct "
            f"rankings, {data['candidates']} candidates, STV for {data['seats']} seats; run "
            f"{data['machine']['when']}, load average {_load_avg(data['machine'])})",
            "",
            "| method | contender | seconds (CPU) | ours is faster by | elected |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key, label in (("stv", "STV"), ("av", "AV")):
            mine = data["ours"][key]
            per_paper = data["ours_per_paper"][key]
            out.append(
                f"| {label} | **Teller** | **{mine['seconds']:.3f}** "
                f"({mine.get('cpu_seconds', 0):.3f}) | | {', '.join(mine['elected'])} |"
            )
            out.append(
                f"| {label} | Teller, one Ballot per paper | {per_paper['seconds']:.3f} "
                f"({per_paper.get('cpu_seconds', 0):.3f}) | | |"
            )
            for name in ("pyrankvote", "votekit", "pref_voting"):
                ref = data["references"].get(f"{name}_{key}", {})
                if "seconds" in ref:
                    same = "same" if ref["same_elected"] else ", ".join(ref["elected"])
                    cpu = ref.get("cpu_seconds", 0)
                    out.append(
                        f"| {label} | {name} | {ref['seconds']:.3f} ({cpu:.3f}) "
                        f"| {ref['ratio']:.1f}x ({ref.get('cpu_ratio', 0):.1f}x CPU) | {same} |"
                    )
                elif "skipped" in ref:
                    out.append(f"| {label} | {name} | {ref['skipped']} | | |")
        out.append("")
    if (data := results.get("notifications")) is not None:
        ref = data["reference"]
        out += [
            f"### Notifications ({data['members']:,} 'ballot open' emails, Celery "
            f"concurrency {data['concurrency']}, {data.get('sinks', 1)} SMTP sink processes; run "
            f"{data['machine']['when']}, load average {_load_avg(data['machine'])})",
            "",
            "| outbox written | delivered | rate | smtplib to the same sinks | "
            "recipients | sent twice | rows |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {data['outbox_write_s']} s | {data['delivered']:,} of {data['members']:,} in "
            f"{data['delivery_s']} s | {data['per_second']}/s | "
            f"{ref['per_second']}/s ({data['of_reference']:.0%}) | {data['recipients']:,} | "
            f"{data['twice_or_more']} | {data['statuses']} |",
            "",
        ]
    if (data := results.get("roll_import")) is not None:
        first, again = data["first_import"], data["reimport"]
        out += [
            f"### Roll import ({data['rows']:,} rows)",
            "",
            "| import | seconds | COPY of the same CSV | ratio |",
            "| --- | --- | --- | --- |",
            f"| first | {first['total_s']:.2f} | {data['reference_copy_s']:.3f} s | "
            f"{data['ratio_first_to_copy']}x |",
            f"| re-import with changes | {again['total_s']:.2f} | "
            f"{data['reference_copy_second_s']:.3f} s | {data['ratio_reimport_to_copy']}x |",
            "",
        ]
    missed = [
        f"- {name}: {item}" for name, data in results.items() for item in data.get("missed", [])
    ]
    out += ["Targets missed in this run:", "", *(missed or ["- none"]), ""]
    return "\n".join(out)


def update_doc(doc: Path, text: str) -> None:
    start, end = "<!-- figures -->", "<!-- /figures -->"
    content = doc.read_text()
    if start not in content or end not in content:
        print(f"{doc} has no {start} ... {end} section; tables not written")
        return
    head, _, rest = content.partition(start)
    _, _, tail = rest.partition(end)
    doc.write_text(f"{head}{start}\n{text}{end}{tail}")
    print(f"Updated the figures in {doc}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.svg")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = p.parse_args(argv)
    makers = {
        "casting": casting_panel,
        "pages": pages_panel,
        "counting": counting_panel,
        "notifications": notifications_panel,
        "roll_import": roll_panel,
    }
    panels = []
    results: dict[str, dict[str, Any]] = {}
    for name, make in makers.items():
        data = _load(args.results, name)
        if data is None:
            print(f"no results for {name}; left out")
            continue
        results[name] = data
        panels.append(make(data))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(panels))
    print(f"Wrote {args.out}")
    if args.doc.exists():
        update_doc(args.doc, tables(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
