"""The ballot's never-cache headers are Django's `never_cache` headers, set directly,
on every answer the ballot view gives."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.decorators.cache import never_cache

from elections.views.cache_headers import NEVER_CACHE, never_cached
from tests.conftest import candidate_ids, poll_of


def _both(headers: dict[str, str] | None = None) -> tuple[HttpResponse, HttpResponse]:
    """The same view's response through `never_cached` and through `never_cache`."""

    def view(request):  # type: ignore[no-untyped-def]
        response = HttpResponse("page")
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    request = RequestFactory().get("/")
    return never_cached(view)(request), never_cache(view)(request)


def _same_but_for_the_clock(ours: HttpResponse, djangos: HttpResponse) -> None:
    assert ours["Cache-Control"] == djangos["Cache-Control"]
    # Expires is "now" in both, formatted alike; the two may straddle a second.
    assert ours["Expires"][:-12] == djangos["Expires"][:-12]
    assert ours["Expires"].endswith(" GMT")


def test_a_response_without_cache_headers_gets_what_never_cache_gives() -> None:
    ours, djangos = _both()

    _same_but_for_the_clock(ours, djangos)
    assert ours["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


@pytest.mark.parametrize(
    "headers",
    [
        {"Cache-Control": "public, max-age=600"},
        {"Expires": "Thu, 01 Jan 2037 00:00:00 GMT"},
    ],
    ids=["cache-control", "expires"],
)
def test_a_response_with_cache_headers_of_its_own_is_merged_as_django_merges(headers) -> None:  # type: ignore[no-untyped-def]
    ours, djangos = _both(headers)

    assert ours["Cache-Control"] == djangos["Cache-Control"]
    assert ours["Expires"] == djangos["Expires"]
    assert "no-store" in ours["Cache-Control"]


@pytest.mark.django_db
def test_every_answer_of_the_ballot_is_never_cached_and_its_posts_hidden_from_reports(
    alice, make_contest
) -> None:  # type: ignore[no-untyped-def]
    contest = make_contest()
    poll = poll_of(contest)
    url = reverse("ballot", args=[poll.pk])
    choice = {
        "paper": poll.ballot_paper().fingerprint,
        "choice": candidate_ids(contest)["Ann Archer"],
    }
    client = Client()
    client.force_login(alice)

    answers = [
        client.get(url),
        client.post(url, {**choice, "action": "review"}),
        client.post(url, {**choice, "action": "cast"}),
        client.post(url, {**choice, "action": "cast"}),  # refused: already voted
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 409]
    for answer in answers:
        assert answer["Cache-Control"] == NEVER_CACHE
        assert answer["Expires"].endswith(" GMT")
    # A post's fields are marked for the error reporter to leave out.
    assert answers[2].wsgi_request.sensitive_post_parameters == "__ALL__"
    # Someone not logged in is sent to log in, before anything else runs.
    anonymous = Client().post(url, {**choice, "action": "cast"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert poll.participations.count() == 1
