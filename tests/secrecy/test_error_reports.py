"""Error reports: a request that fails while a voter votes (or checks a
receipt) sends the admins a report naming the voter; it must not carry what
they voted, nor their receipt code (which finds their ballot in the box)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.log import AdminEmailHandler

from elections.models import Method
from elections.services.casting import cast_ballot
from tests.secrecy.helpers import hidden_fields, make_councillors, open_contest, ranked_fields

NAMES = ("Anwen Lloyd", "Berwyn Hale", "Caron Price", "Deiniol Rowe")
IDS = (7_320_071, 7_320_072, 7_320_073, 7_320_074)


class DatabaseWentAway(Exception):
    """Stands in for whatever breaks mid-request."""


@pytest.fixture
def error_reports(settings: Any, mailoutbox: list[Any]) -> Iterator[list[Any]]:
    """Production's error reporting: DEBUG off, ADMINS set. Besides the
    plain-text report Django's logging sends, an HTML one (with every
    frame's local variables) as a site that sets include_html would."""
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.org")]
    handler = AdminEmailHandler(include_html=True)
    handler.setLevel(logging.ERROR)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield mailoutbox
    logger.removeHandler(handler)


def _report_text(messages: list[Any]) -> str:
    reports = [m for m in messages if "ops@example.org" in m.to]
    assert len(reports) >= 2, "expected the plain and the HTML error report"
    parts = []
    for message in reports:
        parts += [message.subject, message.body, *(c for c, _ in message.alternatives)]
    return "\n".join(str(p) for p in parts)


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records, "the failure was logged"
    return "\n".join(logging.Formatter().format(r) for r in records)


def _break(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseWentAway("server closed the connection unexpectedly")

    monkeypatch.setattr(target, broken)


@pytest.mark.django_db
def test_a_failed_cast_reports_none_of_the_ranking(
    body: Any,
    sam: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error_reports: list[Any],
) -> None:
    (voter,) = make_councillors(body, 1)
    _, poll = open_contest(body, sam, Method.AV, NAMES, IDS)
    # Two of four ranked, so that even which candidates were ranked is a secret.
    ranking = [IDS[2], IDS[0]]
    client = Client(raise_request_exception=False)
    client.force_login(voter)
    url = reverse("ballot", args=[poll.pk])
    review = client.post(url, {**ranked_fields(poll, ranking), "action": "review"})
    cast = {**hidden_fields(review.content.decode()), "action": "cast"}
    assert set(cast) == {"paper", f"rank-{IDS[2]}", f"rank-{IDS[0]}", "action"}
    _break(monkeypatch, "elections.views.voting.cast_marked_paper")

    with caplog.at_level(logging.ERROR):
        response = client.post(url, cast)

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    report = _report_text(error_reports)
    assert "DatabaseWentAway" in report, "the report still says what went wrong"
    for text in (report, _logged(caplog)):
        for secret in (
            *(str(i) for i in IDS),
            *(n for n in NAMES),
            poll.ballot_paper().fingerprint,
        ):
            assert secret not in text, f"{secret!r} is in the error report"
        assert not re.search(r"rank-\d", text)


@pytest.mark.django_db
def test_a_failed_plurality_cast_reports_no_choice(
    body: Any,
    sam: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error_reports: list[Any],
) -> None:
    (voter,) = make_councillors(body, 1)
    _, poll = open_contest(body, sam, Method.PLURALITY, NAMES, IDS)
    client = Client(raise_request_exception=False)
    client.force_login(voter)
    _break(monkeypatch, "elections.services.casting.new_receipt_code")

    with caplog.at_level(logging.ERROR):
        response = client.post(
            reverse("ballot", args=[poll.pk]),
            {"paper": poll.ballot_paper().fingerprint, "choice": str(IDS[1]), "action": "cast"},
        )

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    report = _report_text(error_reports)
    assert "DatabaseWentAway" in report
    for text in (report, _logged(caplog)):
        assert str(IDS[1]) not in text and NAMES[1] not in text


@pytest.mark.django_db
def test_a_failed_receipt_check_reports_no_receipt_code(
    body: Any,
    sam: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error_reports: list[Any],
) -> None:
    """The report names the person checking; with their receipt code beside
    it, whoever reads error mail and the database could find their ballot."""
    (voter,) = make_councillors(body, 1)
    contest, poll = open_contest(body, sam, Method.PLURALITY, NAMES, IDS)
    code = cast_ballot(poll.pk, voter, [IDS[3]])
    poll.close(by=sam)
    mail.outbox.clear()
    client = Client(raise_request_exception=False)
    client.force_login(voter)
    _break(monkeypatch, "elections.views.member.receipt_digest")

    with caplog.at_level(logging.ERROR):
        response = client.post(reverse("receipt_check", args=[contest.pk]), {"code": code})

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    report = _report_text(error_reports)
    assert voter.email in report or voter.full_name in report, "the report names the user"
    for text in (report, _logged(caplog)):
        assert code not in text and code.replace("-", "") not in text
