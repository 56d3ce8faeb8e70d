"""A failure while casting emails the admins a report that holds nothing of the ballot."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from config.security import BallotSafeExceptionReporterFilter
from elections.views import voting
from tests.conftest import candidate_ids, poll_of

pytestmark = pytest.mark.django_db


class CastingBroke(Exception):
    pass


@pytest.fixture
def broken_casting(monkeypatch: pytest.MonkeyPatch) -> None:
    def cast_ballot(*args: Any, **kwargs: Any) -> str:
        raise CastingBroke("the database went away")

    monkeypatch.setattr(voting, "cast_marked_paper", cast_ballot)


@pytest.fixture
def admins(settings: Any) -> None:
    settings.ADMINS = [("Ops", "ops@example.org")]
    settings.DEBUG = False


def _marks(body: str, name: str, value: str) -> bool:
    """Whether the report shows `value` for the form field `name`."""
    return re.search(rf"{re.escape(name)}\W+{re.escape(value)}\b", body) is not None


@pytest.mark.parametrize("method", ["plurality", "stv"])
def test_a_500_on_the_ballot_post_reports_without_the_choice(
    alice, make_contest, broken_casting, admins, mailoutbox, method
):
    contest = make_contest(method, names=("Ann Archer", "Ben Baker", "Cat Carter", "Dan Dale"))
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    paper = poll.ballot_paper()
    if method == "plurality":
        marks = {"choice": str(ids["Dan Dale"])}
    else:
        marks = {f"rank-{ids['Dan Dale']}": "1", f"rank-{ids['Ben Baker']}": "2"}
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.post(
        reverse("ballot", args=[poll.pk]), {"paper": paper.fingerprint, **marks, "action": "cast"}
    )
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR

    assert len(mailoutbox) == 1
    report = mailoutbox[0]
    assert report.to == ["ops@example.org"]
    # The fields are listed, so the report still says what was posted, but hidden.
    assert "paper = '********************'" in report.body
    assert "CastingBroke" in report.subject + report.body
    bodies = [report.body] + [content for content, _ in getattr(report, "alternatives", [])]
    for body in bodies:
        assert "POST:" in body
        for name, value in marks.items():
            assert not _marks(body, name, value), f"{name}={value} leaked into the report"
        assert "Dan Dale" not in body


def test_the_filter_hides_every_post_value_and_local_of_a_ballot_request(rf, alice):
    """Also before the view has marked its parameters sensitive, and in the
    HTML report's local variables (which the email leaves out by default)."""
    secret = "cand-" + "4711"  # built, so the value is not in the source the report quotes
    request = rf.post(reverse("ballot", args=[7]), {"choice": secret, "paper": "abc"})
    request.user = alice
    choices = [secret]

    try:
        raise CastingBroke(f"{len(choices)} choice")
    except CastingBroke as error:
        reporter = ExceptionReporter(request, type(error), error, error.__traceback__)
        reporter.filter = BallotSafeExceptionReporterFilter()
        html = reporter.get_traceback_html()
        text = reporter.get_traceback_text()
    assert "choices" in html, "the locals are listed, with their values hidden"
    for report in (html, text):
        assert "cand-4711" not in report
    # Another page's report is Django's usual one: locals shown.
    other = rf.post(reverse("inbox"), {"note": secret})
    other.user = alice
    try:
        raise CastingBroke("elsewhere")
    except CastingBroke as error:
        reporter = ExceptionReporter(other, type(error), error, error.__traceback__)
        reporter.filter = BallotSafeExceptionReporterFilter()
        assert "cand-4711" in reporter.get_traceback_html()


def test_the_project_uses_the_filter(settings):
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == (
        "config.security.BallotSafeExceptionReporterFilter"
    )
