"""Bar charts of a count, drawn on the server as inline SVG.

The charts must read without JavaScript and survive a strict
Content-Security-Policy, so they carry no ``style`` attributes and no
scripts: colours and sizes are SVG presentation attributes (which CSP does
not govern), with CSS classes for the stylesheet to hook on to. Every piece
of text that came from a person (candidate names, titles) is escaped before
the markup is marked safe.

Each chart sits beside a table of the same numbers; the chart is a picture of
the table, never the only place a number is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Drawn for a 360-pixel-wide phone screen; the viewBox lets it scale down further.
WIDTH = 360
PAD = 8
VALUE_SPACE = 64  # room to the right of the longest bar for its number
ROW_HEIGHT = 44
BAR_HEIGHT = 16
TOP = 8
QUOTA_BAND = 20  # room above the first row for the quota's label
NAME_LIMIT = 38  # characters of a name shown in the picture; the table shows it whole

# Contrast on white: ink 16:1, brand blue 8.6:1, green 6.4:1, red 6.9:1, so the
# text passes WCAG AA and the bars pass the 3:1 asked of graphics.
INK = "#1b1f24"
BAR = "#0b4f8a"
ELECTED = "#1d6b36"
QUOTA = "#a4161a"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
ELECTED_MARK = "(elected)"

_ID_UNSAFE = re.compile(r"[^a-z0-9-]+")


def number_text(value: Decimal) -> str:
    """A count as people write it: 12, 12.5, never 12.50000 or 1.2E+1."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def _id(raw: str) -> str:
    # Ids go into attributes and aria references: keep them to a safe alphabet.
    return _ID_UNSAFE.sub("-", raw.lower()).strip("-") or "chart"


def _fmt(x: Decimal | float) -> str:
    # Two decimals of a pixel is plenty and keeps the markup short and stable.
    return format(Decimal(x).quantize(Decimal("0.01")).normalize(), "f")


def _short(name: str) -> str:
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1].rstrip() + "\u2026"


def describe(
    rows: Sequence[tuple[str, Decimal]], highlight: set[str], quota: Decimal | None
) -> str:
    """The chart in words, for its <desc>: every bar's number and mark."""
    parts = [
        f"{name}: {number_text(votes)}{' ' + ELECTED_MARK if name in highlight else ''}"
        for name, votes in rows
    ]
    text = "; ".join(parts) + "." if parts else "No candidates."
    if quota is not None:
        text += f" Quota: {number_text(quota)}."
    return text


def bar_chart(
    rows: list[tuple[str, Decimal]],
    *,
    title: str,
    highlight: set[str],
    quota: Decimal | None,
    chart_id: str | None = None,
    scale_max: Decimal | None = None,
) -> SafeString:
    """Horizontal bars, one per (name, votes) row, as safe SVG markup.

    `highlight` names the elected: their bars take a different colour AND
    their label says "(elected)", so colour is never the only sign. A dashed
    line marks the `quota`, if there is one. `scale_max` sets the value at
    full width, so a series of charts can share one scale.
    """
    cid = _id(chart_id or f"chart-{title}")
    scale = max([Decimal(1), *(v for _, v in rows), quota or 0, scale_max or 0])
    bar_space = Decimal(WIDTH - 2 * PAD - VALUE_SPACE)
    top = TOP + (QUOTA_BAND if quota is not None else 0)
    height = top + ROW_HEIGHT * max(len(rows), 1) + PAD

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" font-family="{escape(FONT)}" font-size="14" '
        f'aria-labelledby="{cid}-title {cid}-desc" data-chart="{cid}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(describe(rows, highlight, quota))}</desc>',
    ]
    for i, (name, votes) in enumerate(rows):
        elected = name in highlight
        y = top + i * ROW_HEIGHT
        width = bar_space * votes / scale if votes > 0 else Decimal(0)
        label = escape(_short(name))
        mark = (
            f' <tspan class="chart-mark" font-weight="700">{ELECTED_MARK}</tspan>'
            if elected
            else ""
        )
        out.append(
            f'<g class="chart-row{" chart-row-elected" if elected else ""}" '
            f'data-name="{escape(name)}" data-votes="{escape(number_text(votes))}"'
            f"{' data-elected' if elected else ''}>"
            f'<text class="chart-name" x="{PAD}" y="{y + 14}" fill="{INK}">{label}{mark}</text>'
            f'<rect class="chart-bar" x="{PAD}" y="{y + 20}" width="{_fmt(width)}" '
            f'height="{BAR_HEIGHT}" fill="{ELECTED if elected else BAR}"/>'
            f'<text class="chart-value" x="{_fmt(PAD + width + 4)}" y="{y + 33}" '
            f'fill="{INK}">{escape(number_text(votes))}</text>'
            "</g>"
        )
    if quota is not None:
        x = PAD + bar_space * quota / scale
        anchor = "end" if x > WIDTH / 2 else "start"
        nudge = -3 if anchor == "end" else 3
        out.append(
            f'<g class="chart-quota" data-quota="{escape(number_text(quota))}">'
            f'<line x1="{_fmt(x)}" y1="{TOP + 4}" x2="{_fmt(x)}" y2="{height - PAD}" '
            f'stroke="{QUOTA}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text class="chart-quota-label" x="{_fmt(x + nudge)}" y="{TOP + 12}" '
            f'text-anchor="{anchor}" fill="{QUOTA}">Quota {escape(number_text(quota))}</text>'
            "</g>"
        )
    out.append("</svg>")
    # Every name, title and number above went through escape(); only our own markup is left.
    return mark_safe("".join(out))  # noqa: S308


@dataclass(frozen=True)
class SeriesStage:
    """One stage (or round) of a count, ready to chart."""

    title: str
    rows: list[tuple[str, Decimal]]
    highlight: set[str] = field(default_factory=set)


def series_scale(stages: Iterable[SeriesStage], quota: Decimal | None = None) -> Decimal:
    """The largest value in a series: one scale, so bars compare across stages."""
    return max([Decimal(1), quota or 0, *(v for s in stages for _, v in s.rows)])


def stage_series(
    stages: Sequence[SeriesStage], *, quota: Decimal | None, id_prefix: str
) -> list[SafeString]:
    """One small chart per stage, all drawn to the same scale.

    Small charts stacked one under another read better on a phone than one
    grouped chart whose bars for many stages would be too thin to label.
    """
    scale = series_scale(stages, quota)
    return [
        bar_chart(
            stage.rows,
            title=stage.title,
            highlight=stage.highlight,
            quota=quota,
            chart_id=f"{id_prefix}-{n}",
            scale_max=scale,
        )
        for n, stage in enumerate(stages, start=1)
    ]
