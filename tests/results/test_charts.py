"""The chart function on its own: safe, readable SVG."""

from __future__ import annotations

from decimal import Decimal

from django.utils.safestring import SafeString

from elections.charts import SeriesStage, bar_chart, number_text, stage_series
from tests.results.helpers import parse


def _chart(**kw):  # type: ignore[no-untyped-def]
    args = {
        "rows": [("Ann Archer", Decimal(5)), ("Ben Baker", Decimal("2.5"))],
        "title": "Votes",
        "highlight": {"Ann Archer"},
        "quota": None,
    }
    return bar_chart(**{**args, **kw})


def test_it_returns_safe_svg_that_fits_a_phone():
    svg = _chart()
    assert isinstance(svg, SafeString)
    node = parse(svg).find("svg")
    assert node.attrs["viewbox"].startswith("0 0 360 ")
    assert node.attrs["role"] == "img"
    title_id, desc_id = (node.attrs["aria-labelledby"] or "").split()
    assert node.find("title").attrs["id"] == title_id
    assert node.find("desc").attrs["id"] == desc_id
    assert "style" not in svg and "<script" not in svg
    widths = [Decimal(r.attrs["width"] or "") for r in node.find_all("rect")]
    assert max(widths) <= 360


def test_it_marks_the_elected_in_words_and_colour():
    node = parse(_chart()).find("svg")
    ann, ben = node.find_all("g", "chart-row")
    assert "(elected)" in ann.find("text", "chart-name").text()
    assert "(elected)" not in ben.find("text", "chart-name").text()
    assert ann.find("rect").attrs["fill"] != ben.find("rect").attrs["fill"]
    assert "Ann Archer: 5 (elected)" in node.find("desc").text()


def test_it_draws_bars_in_proportion_and_a_quota_line():
    node = parse(_chart(quota=Decimal(4))).find("svg")
    ann, ben = (Decimal(r.attrs["width"] or "") for r in node.find_all("rect"))
    assert ann == 2 * ben
    quota = node.find("g", "chart-quota")
    assert quota.attrs["data-quota"] == "4"
    assert "Quota 4" in quota.text()
    x = Decimal(quota.find("line").attrs["x1"] or "")
    assert 8 < x < 8 + ann  # four fifths of the way along Ann's bar


def test_it_escapes_names_and_titles():
    evil = '<script>alert("x")</script>'
    svg = bar_chart([(evil, Decimal(1))], title=evil, highlight={evil}, quota=None)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    row = parse(svg).find("g", "chart-row")
    assert row.attrs["data-name"] == evil
    assert row.find("text", "chart-name").text().startswith(evil)


def test_it_shortens_a_long_name_in_the_picture_only():
    name = "Anne-Marie Bartholomew-Featherstonehaugh of Little Snoring"
    row = parse(_chart(rows=[(name, Decimal(1))])).find("g", "chart-row")
    assert row.attrs["data-name"] == name
    assert row.find("text", "chart-name").text().endswith("\u2026")


def test_a_series_shares_one_scale():
    first, second = stage_series(
        [
            SeriesStage("Stage 1", [("A", Decimal(2)), ("B", Decimal(1))]),
            SeriesStage("Stage 2", [("A", Decimal(4)), ("B", Decimal(0))], {"A"}),
        ],
        quota=None,
        id_prefix="t",
    )
    a1 = Decimal(parse(first).find("rect").attrs["width"] or "")
    a2 = Decimal(parse(second).find("rect").attrs["width"] or "")
    assert a2 == 2 * a1
    assert (
        parse(first).find("svg").attrs["aria-labelledby"]
        != parse(second).find("svg").attrs["aria-labelledby"]
    )


def test_numbers_read_as_people_write_them():
    assert number_text(Decimal("12.00000")) == "12"
    assert number_text(Decimal("12.50000")) == "12.5"
    assert number_text(Decimal("100")) == "100"
    assert number_text(Decimal("0E-5")) == "0"
