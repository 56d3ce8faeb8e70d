"""Downloads: the CSV result sheet, the printable page and the BLT ballots."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from http import HTTPStatus

import pytest
from django.urls import reverse

from elections import counting
from elections.counting.cli import adapt
from elections.models import Contest, ContestState, Method
from elections.results import CSV_COLUMNS
from tests.results.conftest import SCENARIOS
from tests.results.helpers import sheet_elected, sheet_totals

DOWNLOADS = ("results_csv", "ballots_blt", "results_print")

# How each scenario is recounted from its BLT file, as the results page tells people to.
RECOUNT = {
    "plurality": counting.Method.PLURALITY,
    "block": counting.Method.BLOCK,
    "av": counting.Method.AV,
    "stv": counting.Method.STV,
    "exhaustive": counting.Method.EXHAUSTIVE,
    "yes_no": counting.Method.YES_NO,
}


def _get(client, user, name: str, contest: Contest, query: str = ""):  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client.get(reverse(name, args=[contest.pk]) + query)


def _csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_it_writes_the_count_sheet_as_csv(client, alice, run, scenario):
    contest = run(scenario)
    response = _get(client, alice, "results_csv", contest)
    assert response.status_code == HTTPStatus.OK
    rows = _csv(response)
    assert list(rows[0]) == CSV_COLUMNS
    got: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(dict)
    elected_at: dict[tuple[int, int], set[str]] = defaultdict(set)
    for row in rows:
        key = (int(row["round"]), int(row["stage"]))
        got[key][row["candidate"]] = Decimal(row["votes"])
        if row["elected_at_this_stage"] == "yes":
            elected_at[key].add(row["candidate"])
    expected = {}
    for poll in contest.polls.order_by("number"):
        names = poll.result["names"]
        for stage, totals in sheet_totals(poll).items():
            expected[(poll.number, stage)] = totals
            stage_dict = poll.result["stages"][stage - 1]
            assert elected_at[(poll.number, stage)] == {names[c] for c in stage_dict["elected"]}
            for row in rows:
                if (int(row["round"]), int(row["stage"])) == (poll.number, stage):
                    assert row["action"] == stage_dict["action"]
                    assert row["non_transferable"] == stage_dict["non_transferable"]
    assert dict(got) == expected
    final = contest.current_poll()
    assert set().union(*elected_at.values()) == sheet_elected(final)


def _recount(text: str, scenario: str) -> tuple[counting.BltData, counting.Result]:
    data = counting.read_blt(io.StringIO(text))
    method = RECOUNT[scenario]
    seats = 1 if method in (counting.Method.AV, counting.Method.YES_NO) else data.seats
    candidates, ballots = adapt(data, method, seats)
    return data, counting.count(method, candidates, ballots, seats=seats, seed=1)


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_ballots_recount_to_the_same_result(client, alice, run, scenario):
    contest = run(scenario)
    for poll in contest.polls.order_by("number"):
        response = _get(client, alice, "ballots_blt", contest, f"?round={poll.number}")
        assert response.status_code == HTTPStatus.OK
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["Content-Disposition"].startswith("attachment;")
        text = response.content.decode()
        data, result = _recount(text, scenario)
        assert data.title == contest.title
        names = {**data.names, counting.AGAINST: "Against"}
        # Candidates in the poll's ballot order.
        ballot_order = [c.name for c in poll.candidates.order_by("position", "name")]
        assert [c.name for c in data.candidates][: len(ballot_order)] == ballot_order
        assert {names[c] for c in result.elected} == sheet_elected(poll)
        recounted = {
            s.number: {names[c]: Decimal(str(Fraction(v))) for c, v in s.totals.items()}
            for s in result.stages
        }
        assert recounted == sheet_totals(poll)
        assert result.blank == Fraction(poll.result["blank"])


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", ["stv", "exhaustive"])
def test_the_ballots_are_grouped_and_sorted_not_in_casting_order(client, alice, run, scenario):
    contest = run(scenario)
    text = _get(client, alice, "ballots_blt", contest).content.decode()
    lines = text.splitlines()
    end = lines.index("0")
    ballot_lines = [line.split() for line in lines[1:end]]
    rankings = [tuple(int(x) for x in parts[1:-1]) for parts in ballot_lines]
    assert len(set(rankings)) == len(rankings), "identical papers are grouped"
    assert rankings == sorted(rankings), "lines follow the preferences, not the casting"
    poll = contest.current_poll()
    assert sum(int(parts[0]) for parts in ballot_lines) == poll.result["ballots_counted"]


@pytest.mark.django_db
def test_the_default_round_is_the_last(client, alice, run):
    contest = run("exhaustive")
    last = _get(client, alice, "ballots_blt", contest).content.decode()
    assert last == _get(client, alice, "ballots_blt", contest, "?round=2").content.decode()
    assert last != _get(client, alice, "ballots_blt", contest, "?round=1").content.decode()
    assert "-round-2.blt" in _get(client, alice, "ballots_blt", contest)["Content-Disposition"]
    for bad in ("?round=3", "?round=0", "?round=x"):
        assert _get(client, alice, "ballots_blt", contest, bad).status_code == 404


@pytest.mark.django_db
def test_a_blank_paper_is_a_line_without_preferences(client, alice, run):
    contest = run("plurality")
    text = _get(client, alice, "ballots_blt", contest).content.decode()
    assert "1 0" in text.splitlines()  # the one abstention
    assert text.splitlines()[0] == "3 1"


@pytest.mark.django_db
def test_yes_no_ballots_name_against_as_a_second_candidate(client, alice, run):
    contest = run("yes_no")
    lines = _get(client, alice, "ballots_blt", contest).content.decode().splitlines()
    assert lines[0] == "2 1"
    assert lines[-3:] == ['"Ann Archer"', '"Against"', f'"{contest.title}"']
    assert "3 1 0" in lines and "1 2 0" in lines and "1 0" in lines


@pytest.mark.django_db
def test_downloads_wait_for_the_declaration_for_members(client, alice, sam, olive, charlie, run):
    contest = run("stv", declare=False)
    for name in DOWNLOADS:
        assert _get(client, alice, name, contest).status_code == HTTPStatus.FORBIDDEN
        assert _get(client, olive, name, contest).status_code == HTTPStatus.FORBIDDEN
        assert _get(client, charlie, name, contest).status_code == HTTPStatus.NOT_FOUND
        # The secretary checks the count before declaring it.
        assert _get(client, sam, name, contest).status_code == HTTPStatus.OK
    contest.declare(by=sam)
    for name in DOWNLOADS:
        assert _get(client, alice, name, contest).status_code == HTTPStatus.OK
        assert _get(client, olive, name, contest).status_code == HTTPStatus.OK
        assert _get(client, charlie, name, contest).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_downloads_are_refused_to_everyone_before_the_count(
    client, alice, sam, charlie, make_members, make_contest
):
    make_members(3)
    contest = make_contest(Method.STV, seats=2)
    poll = contest.current_poll()
    for stage in ("polling", "closed"):
        if stage == "closed":
            poll.close(by=sam)
            contest.refresh_from_db()
            assert contest.state == ContestState.CLOSED
        for name in DOWNLOADS:
            for user in (alice, sam):
                assert _get(client, user, name, contest).status_code == HTTPStatus.FORBIDDEN
            assert _get(client, charlie, name, contest).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_downloads_need_a_login(client, run):
    contest = run("plurality")
    for name in DOWNLOADS:
        response = client.get(reverse(name, args=[contest.pk]))
        assert response.status_code == HTTPStatus.FOUND
        assert "login" in response["Location"]


@pytest.mark.django_db
def test_only_the_elected_are_downloaded_where_the_rules_say_so(client, alice, run):
    contest = run("stv", publish="elected")
    rows = _csv(_get(client, alice, "results_csv", contest))
    assert rows == [
        {"candidate": "Ann Archer", "elected": "yes"},
        {"candidate": "Ben Baker", "elected": "no"},
        {"candidate": "Cat Carter", "elected": "yes"},
        {"candidate": "Dev Dhillon", "elected": "no"},
    ]
    assert _get(client, alice, "ballots_blt", contest).status_code == HTTPStatus.FORBIDDEN
    page = _get(client, alice, "results", contest).content.decode()
    assert reverse("ballots_blt", args=[contest.pk]) not in page


@pytest.mark.django_db
def test_only_first_count_totals_are_downloaded_under_totals(client, alice, run):
    contest = run("stv", publish="totals")
    rows = _csv(_get(client, alice, "results_csv", contest))
    assert {row["stage"] for row in rows} == {"1"}
    assert {r["candidate"]: Decimal(r["votes"]) for r in rows} == sheet_totals(
        contest.current_poll()
    )[1]
    assert _get(client, alice, "ballots_blt", contest).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_the_csv_defuses_formulas_in_names(client, alice, sam, make_members, make_contest):
    from tests.results.helpers import run_contest

    contest = run_contest(
        make_contest, make_members, sam, "plurality", ("=1+1", "Ben Baker"), [[["=1+1"]]]
    )
    rows = _csv(_get(client, alice, "results_csv", contest))
    assert {row["candidate"] for row in rows} == {"'=1+1", "Ben Baker"}


@pytest.mark.django_db
def test_the_results_page_links_the_downloads(client, alice, run):
    contest = run("exhaustive")
    page = _get(client, alice, "results", contest).content.decode()
    assert reverse("results_csv", args=[contest.pk]) in page
    assert reverse("results_print", args=[contest.pk]) in page
    for n in (1, 2):
        assert f"{reverse('ballots_blt', args=[contest.pk])}?round={n}" in page
    assert "python -m elections.counting" in page and "--method exhaustive" in page
