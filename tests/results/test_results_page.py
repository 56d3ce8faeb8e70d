"""The results page: charts, the tables beside them and the count sheet agree with the sheet."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse

from elections.charts import number_text
from elections.models import Contest, ContestState
from tests.results.conftest import SCENARIOS
from tests.results.helpers import (
    parse,
    read_charts,
    read_count_sheets,
    run_contest,
    sheet_elected,
    sheet_totals,
)


def _page(client, user, contest: Contest) -> str:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(reverse("results", args=[contest.pk]))
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def _main(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_it_draws_what_the_count_sheet_says(client, alice, run, scenario):
    contest = run(scenario)
    polls = list(contest.polls.order_by("number"))
    page = _page(client, alice, contest)
    charts = {(c.round, c.stage): c for c in read_charts(page)}
    sheets = read_count_sheets(page)
    expected_charts = set()
    for poll in polls:
        for stage, totals in sheet_totals(poll).items():
            expected_charts.add((poll.number, stage))
            chart = charts[(poll.number, stage)]
            assert chart.bars == totals, (poll.number, stage)
            assert chart.labels == totals
            assert chart.table == totals
            assert chart.elected == chart.table_elected
            sheet_row = dict(sheets[poll.number][stage])
            nt = sheet_row.pop("Non-transferable")
            assert sheet_row == totals
            stage_dict = poll.result["stages"][stage - 1]
            assert nt == Decimal(stage_dict["non_transferable"])
    assert set(charts) == expected_charts
    final = polls[-1]
    last_stage = max(sheet_totals(final))
    assert charts[(final.number, last_stage)].elected == sheet_elected(final)
    facts = parse(page).find("dl", "facts").text()
    for name in sheet_elected(final):
        assert name in facts
    if scenario == "exhaustive":
        assert len(polls) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_it_draws_accessible_svg_without_inline_style_or_script(client, alice, run, scenario):
    contest = run(scenario)
    main = _main(_page(client, alice, contest))
    assert "style=" not in main
    assert "<script" not in main
    tree = parse(main)
    svgs = tree.find_all("svg")
    assert svgs
    ids = {n.attrs.get("id") for n in tree.walk() if n.attrs.get("id")}
    for svg in svgs:
        assert svg.attrs["role"] == "img"
        assert svg.attrs["viewbox"].startswith("0 0 360 ")
        labelled = (svg.attrs["aria-labelledby"] or "").split()
        assert len(labelled) == 2 and set(labelled) <= ids
        assert svg.find("title").text()
        assert svg.find("desc").text()


@pytest.mark.django_db
def test_it_marks_the_quota_on_an_stv_chart(client, alice, run):
    contest = run("stv")
    quota = Decimal(contest.current_poll().result["quota"])
    page = _page(client, alice, contest)
    for chart in read_charts(page):
        line = chart.svg.find("g", "chart-quota")
        assert Decimal(line.attrs["data-quota"] or "") == quota
    assert f"Quota: {number_text(quota)}</p>" in page


@pytest.mark.django_db
def test_it_shows_ties_and_the_seed_of_a_lot(client, alice, sam, make_members, make_contest):
    # Two papers each for Ann and Ben: the seat goes by lot, and the sheet says how.
    contest = run_contest(
        make_contest,
        make_members,
        sam,
        "plurality",
        ("Ann Archer", "Ben Baker"),
        [[["Ann Archer"], ["Ann Archer"], ["Ben Baker"], ["Ben Baker"]]],
    )
    (tie,) = contest.current_poll().result["ties"]
    page = _page(client, alice, contest)
    (line,) = parse(page).find("ul", "ties").find_all("li")
    text = " ".join(line.text().split())
    assert "Ann Archer, Ben Baker tied (last seat)" in text
    assert f"by lot (seed {tie['draw']['seed']}, draw {tie['draw']['draw']}" in text


@pytest.mark.django_db
def test_it_shows_only_the_elected_where_the_rules_say_so(client, alice, run):
    contest = run("stv", publish="elected")
    page = _page(client, alice, contest)
    main = _main(page)
    assert "<svg" not in main
    assert not read_charts(page)
    assert not read_count_sheets(page)
    assert "Ann Archer" in main and "Cat Carter" in main  # the elected
    assert "Dev Dhillon" not in main
    assert "Valid votes" not in main and "Margin" not in main
    assert "Turnout" in main


@pytest.mark.django_db
def test_it_shows_first_count_totals_only_under_totals(client, alice, run):
    contest = run("stv", publish="totals")
    poll = contest.current_poll()
    page = _page(client, alice, contest)
    charts = read_charts(page)
    assert [(c.round, c.stage) for c in charts] == [(1, 1)]
    assert charts[0].bars == sheet_totals(poll)[1]
    assert not read_count_sheets(page)
    assert "Margin" not in _main(page)


@pytest.mark.django_db
def test_it_shows_the_quash_banner(client, alice, run):
    contest = run("plurality")
    Contest.objects.filter(pk=contest.pk).update(state=ContestState.QUASHED)
    page = _page(client, alice, contest)
    banner = parse(page).find("div", "result-quashed")
    assert "This result was quashed by a ruling" in banner.text()
    link = banner.find("a")
    assert link.attrs["href"] == reverse("contest_rulings", args=[contest.pk])
    # The quashed result stays on record, marked.
    assert read_charts(page)


@pytest.mark.django_db
def test_it_escapes_names_in_the_charts(client, alice, sam, make_members, make_contest):
    evil = '<script>alert("x")</script>'
    contest = run_contest(
        make_contest, make_members, sam, "plurality", (evil, "Ben Baker"), [[[evil], [evil]]]
    )
    page = _page(client, alice, contest)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    (chart,) = read_charts(page)
    assert chart.bars == {evil: Decimal(2), "Ben Baker": Decimal(0)}
    assert evil in chart.svg.find("title").text() or evil in chart.svg.find("desc").text()


@pytest.mark.django_db
def test_it_tells_a_member_to_wait_until_the_declaration(client, alice, sam, run):
    contest = run("plurality", declare=False)
    page = _page(client, alice, contest)
    assert "has not been declared" in page
    assert not read_charts(page)
    # The secretary sees the count before declaring it.
    assert read_charts(_page(client, sam, contest))


@pytest.mark.django_db
def test_it_hides_the_result_from_charlie(client, charlie, run):
    contest = run("plurality")
    client.force_login(charlie)
    response = client.get(reverse("results", args=[contest.pk]))
    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_it_prints_cleanly(client, alice, run):
    contest = run("av")
    client.force_login(alice)
    response = client.get(reverse("results_print", args=[contest.pk]))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert 'class="site-header"' not in page
    assert "style=" not in page and "<script" not in page
    assert read_charts(page) and read_count_sheets(page)


@pytest.mark.django_db
def test_it_says_so_when_a_contest_was_quashed_before_its_declaration(client, alice, run):
    contest = run("plurality", declare=False)
    Contest.objects.filter(pk=contest.pk).update(state=ContestState.QUASHED)
    page = _page(client, alice, contest)
    banner = parse(page).find("div", "result-quashed")
    assert "quashed by a ruling" in banner.text()
    assert banner.find("a").attrs["href"] == reverse("contest_rulings", args=[contest.pk])
    assert not read_charts(page)
    client.force_login(alice)
    csv_url = reverse("results_csv", args=[contest.pk])
    assert client.get(csv_url).status_code == HTTPStatus.FORBIDDEN
