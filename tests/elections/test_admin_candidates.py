"""The site admin obeys the rule the rest of Teller does: a contest's candidates
change only until its ballot paper is final."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib import admin
from django.urls import reverse

from elections.admin import CandidateInline
from elections.models import Contest, Method, RuleSet


@pytest.fixture
def superuser(make_user):  # type: ignore[no-untyped-def]
    return make_user("Sue Admin", is_superuser=True, is_staff=True)


@pytest.mark.django_db
def test_candidates_are_read_only_once_the_ballot_paper_is_final(rf, superuser, body, make_contest):
    inline = CandidateInline(Contest, admin.site)
    request = rf.get("/")
    request.user = superuser
    polling = make_contest(Method.PLURALITY)
    draft = Contest.objects.create(
        body=body, title="Draft", rules=RuleSet.objects.create(name="Draft rules")
    )
    for allowed in (inline.has_add_permission, inline.has_change_permission):
        assert allowed(request, draft)
        assert not allowed(request, polling)
    assert inline.has_delete_permission(request, draft)
    assert not inline.has_delete_permission(request, polling)


@pytest.mark.django_db
def test_the_change_page_shows_an_open_polls_candidates_without_inputs(
    client, superuser, make_contest
):
    contest = make_contest(Method.PLURALITY)
    client.force_login(superuser)
    page = client.get(reverse("admin:elections_contest_change", args=[contest.pk]))
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert "Ann Archer" in html
    assert 'name="candidates-0-name"' not in html
