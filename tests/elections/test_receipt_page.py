"""The receipt page is rendered once per contest and header state, and each cast's
page is byte for byte the page the template would have rendered for that voter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from unittest import mock

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.middleware.csrf import CSRF_TOKEN_LENGTH
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from elections.models import Membership, Notification, NotificationKind
from elections.views import receipt_page
from tests.conftest import RECEIPT_ON_PAGE, candidate_ids, poll_of, receipt_shown

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _cast_form(contest) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The form that casts a vote for Ann Archer, without a CSRF token."""
    return {
        "paper": poll_of(contest).ballot_paper().fingerprint,
        "choice": candidate_ids(contest)["Ann Archer"],
        "action": "cast",
    }


def _cast(client: Client, contest) -> HttpResponse:  # type: ignore[no-untyped-def]
    url = reverse("ballot", args=[poll_of(contest).pk])
    cast = client.post(url, _cast_form(contest))
    assert cast.status_code == HTTPStatus.OK, cast.content.decode()[:2000]
    return cast


def _as_the_template_renders_it(cast, contest) -> str:  # type: ignore[no-untyped-def]
    """The page the template gives for this request, with the cast's own code."""
    html = cast.content.decode()
    code = receipt_shown(html)
    full = render_to_string(
        receipt_page.TEMPLATE,
        {"contest": contest, "receipt": code, "principal": None},
        request=cast.wsgi_request,
    )
    # Each rendering masks the CSRF token afresh: compare all but the mask.
    return TOKEN.sub("TOKEN", full)


def _signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_each_voter_gets_the_page_the_template_renders(alice, bob, make_user, body, make_contest):
    # Voters who differ in all a header could show: name, email, unread notices.
    carol = make_user("Carol Quinn-Ortega", "carol@example.org")
    Membership.objects.create(body=body, user=carol, role=Membership.Role.MEMBER)
    contest = make_contest()
    Notification.objects.create(
        user=carol, kind=NotificationKind.BALLOT_OPEN, contest=contest, dedupe_key="carol-open"
    )
    pages = {}
    for voter in (alice, bob, carol):
        cast = _cast(_signed_in(voter), contest)
        assert TOKEN.sub("TOKEN", cast.content.decode()) == _as_the_template_renders_it(
            cast, contest
        )
        pages[voter.email] = cast.content.decode()
    unread = {
        v.email: Notification.objects.filter(user=v, read_at__isnull=True).count()
        for v in (alice, carol)
    }
    assert unread[carol.email] == unread[alice.email] + 1
    for email, n in unread.items():
        assert f"Inbox ({n} unread)" in pages[email]
    codes = {receipt_shown(page) for page in pages.values()}
    assert len(codes) == 3, "each cast shows its own code"


def test_the_page_is_rendered_once_for_voters_alike(alice, bob, make_members, make_contest):
    voters = [alice, bob, *make_members(3)]
    contest = make_contest()
    with mock.patch.object(
        receipt_page, "render_to_string", wraps=receipt_page.render_to_string
    ) as rendering:
        codes = [
            receipt_shown(_cast(_signed_in(voter), contest).content.decode()) for voter in voters
        ]
    assert rendering.call_count == 1
    # What the process keeps holds no voter's code.
    kept = "".join("".join(parts) for parts in receipt_page._PAGES.values())
    assert "Ann Archer" not in kept  # nor, of course, the choice
    assert not RECEIPT_ON_PAGE.search(kept)
    assert not [code for code in codes if code in kept or code.replace("-", "") in kept]


def test_a_renamed_contest_gets_a_new_page(alice, bob, make_contest):
    contest = make_contest()
    _cast(_signed_in(alice), contest)
    contest.title = "Leader of the Harbourside group (re-run)"
    contest.save(update_fields=["title"])
    assert "(re-run)" in _cast(_signed_in(bob), contest).content.decode()


@dataclass
class _BallotPage:
    """A browser with CSRF checks on, on a voter's ballot page."""

    client: Client
    url: str
    token: str  # the page's own, masked
    form: dict[str, object]  # a cast for Ann Archer, with no token

    def cast(self, **kwargs: object) -> HttpResponse:
        return self.client.post(self.url, self.form | kwargs.pop("data", {}), **kwargs)

    def log_out(self, token: str) -> HttpResponse:
        return self.client.post(reverse("account_logout"), {"csrfmiddlewaretoken": token})


def _on_the_ballot_page(voter, contest) -> _BallotPage:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(voter)
    url = reverse("ballot", args=[poll_of(contest).pk])
    token = TOKEN.search(client.get(url).content.decode())[1]
    return _BallotPage(client, url, token, _cast_form(contest))


def test_the_log_out_form_on_the_page_works(alice, make_contest):
    page = _on_the_ballot_page(alice, make_contest())
    cast = page.cast(data={"csrfmiddlewaretoken": page.token})
    assert cast.status_code == HTTPStatus.OK
    logout = page.log_out(TOKEN.search(cast.content.decode())[1])
    assert logout.status_code == HTTPStatus.FOUND
    assert "_auth_user_id" not in page.client.session


def test_the_log_out_form_keeps_the_token_the_cast_was_posted_with(alice, make_contest):
    page = _on_the_ballot_page(alice, make_contest())
    cast = page.cast(data={"csrfmiddlewaretoken": page.token})
    assert cast.status_code == HTTPStatus.OK
    assert TOKEN.search(cast.content.decode())[1] == page.token
    # Nothing was masked afresh, so the CSRF cookie is not sent again.
    assert settings.CSRF_COOKIE_NAME not in cast.cookies


def test_a_cast_whose_token_came_in_the_header_gets_a_new_one_that_logs_out(alice, make_contest):
    page = _on_the_ballot_page(alice, make_contest())
    cast = page.cast(headers={"X-CSRFToken": page.token})
    assert cast.status_code == HTTPStatus.OK
    on_page = TOKEN.search(cast.content.decode())[1]
    assert len(on_page) == CSRF_TOKEN_LENGTH
    assert on_page != page.token
    assert page.log_out(on_page).status_code == HTTPStatus.FOUND
    assert "_auth_user_id" not in page.client.session


def test_a_page_with_messages_is_rendered_in_full(alice, make_contest, rf):
    contest = make_contest()
    request = rf.post("/")
    request.user = alice
    request.session = Client().session
    request._messages = FallbackStorage(request)
    messages.info(request, "Your proxy appointment was approved.")
    with mock.patch.object(receipt_page, "render_to_string") as shell:
        page = receipt_page.receipt_response(request, contest, "ABCD-EFGH-JKMN-PQRS")
    shell.assert_not_called()
    html = page.content.decode()
    assert "Your proxy appointment was approved." in html
    assert "ABCD-EFGH-JKMN-PQRS" in html
