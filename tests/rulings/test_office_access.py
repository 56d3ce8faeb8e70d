"""Nobody but a regional official of the region reaches the regional office.

Walks every URL of the office site, with real object ids substituted, for
each role: anonymous, member, secretary, observer, a site admin who is not
an official, an official of another region, and the region's official.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from accounts.models import User
from elections.models import Contest, Region, RulingKind
from elections.models.rulings import Complaint, Ruling
from elections.office import office_site
from elections.services.rulings import issue_ruling


@dataclass(frozen=True)
class OfficeUrl:
    path: str
    name: str  # the URL name, or "" for the admin's unnamed object redirect
    has_object: bool  # carries the id of one of the region's objects

    @property
    def is_login(self) -> bool:
        return self.name == "login"


_CONVERTER = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def _fill(route: str, values: dict[str, str]) -> str:
    return _CONVERTER.sub(lambda m: values[m.group("name")], route)


def office_urls(ids: dict[str, int]) -> Iterator[OfficeUrl]:
    """Every URL of the office, from the site's own URL patterns."""
    root = reverse("office:index")
    for entry in office_site.get_urls():
        if isinstance(entry, URLResolver):
            prefix = str(entry.pattern)  # "elections/<model>/"
            model = prefix.rstrip("/").split("/")[-1]
            for pattern in entry.url_patterns:
                assert isinstance(pattern, URLPattern)
                route = str(pattern.pattern)
                kinds = [k.value for k in RulingKind] if "<slug:kind>" in route else [""]
                for kind in kinds:
                    path = _fill(route, {"object_id": str(ids[model]), "kind": kind})
                    yield OfficeUrl(root + prefix + path, pattern.name or "", "object_id" in route)
        elif entry.name == "app_list":
            yield OfficeUrl(root + "elections/", "app_list", False)
        elif entry.name is None:
            continue  # the catch-all: a 404 or a slash redirect, not a page
        else:
            yield OfficeUrl(root + _fill(str(entry.pattern), {}), entry.name, False)


@pytest.fixture
def world(declared: Contest, complaint: Complaint, rita: User, region: Region) -> dict[str, Any]:
    ruling = issue_ruling(declared, by=rita, kind=RulingKind.UPHOLD, reason="The count was fair.")
    ids = {
        "contest": declared.pk,
        "complaint": complaint.pk,
        "ruling": ruling.pk,
        "ruleset": region.default_rules_id,
    }
    urls = list(office_urls(ids))
    # The walk must cover the office's own views, not only the stock admin's.
    names = {u.name for u in urls}
    assert {"elections_contest_ruling", "elections_complaint_review"} <= names
    assert {"elections_ruleset_change", "elections_contest_changelist", "index"} <= names
    assert sum(u.name == "elections_contest_ruling" for u in urls) == len(RulingKind)
    return {"urls": urls, "contest": declared, "ruling": ruling}


def _follow_to_end(client: Client, path: str) -> tuple[int, str]:
    response = client.get(path, follow=True)
    final = response.redirect_chain[-1][0] if response.redirect_chain else path
    return response.status_code, final


def _is_login(url: str) -> bool:
    return url.startswith(reverse(settings.LOGIN_URL)) or url.startswith(reverse("office:login"))


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_log_in(world: dict[str, Any]) -> None:
    client = Client()
    for url in world["urls"]:
        response = client.get(url.path)
        assert response.status_code in (HTTPStatus.FOUND, HTTPStatus.FORBIDDEN), url
        if response.status_code == HTTPStatus.FOUND and url.name != "logout":
            assert _is_login(response["Location"]), (url, response["Location"])
        status, final = _follow_to_end(client, url.path)
        assert status != HTTPStatus.OK or _is_login(final), (url, final)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "sam", "olive", "charlie", "superuser"])
def test_it_refuses_everyone_who_is_not_an_official(
    who: str,
    world: dict[str, Any],
    request: pytest.FixtureRequest,
    client_for: Callable[[User | None], Client],
    make_user: Callable[..., User],
) -> None:
    if who == "superuser":
        # A site admin keeps /admin/ but is not an official: the office refuses them.
        user = make_user("Site Admin", is_staff=True, is_superuser=True)
    else:
        user = request.getfixturevalue(who)
    client = client_for(user)
    for url in world["urls"]:
        response = client.get(url.path)
        assert response.status_code == HTTPStatus.FORBIDDEN, (who, url, response.status_code)
    # POSTs too: the ruling views, the review and the region's rules.
    contest = world["contest"]
    response = client.post(
        reverse("office:elections_contest_ruling", args=[contest.pk, "quash"]),
        {"reason": "Because I say so."},
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    contest.refresh_from_db()
    assert contest.state == Contest.State.DECLARED


@pytest.mark.django_db
def test_the_site_admin_still_has_the_ordinary_admin(
    make_user: Callable[..., User], client_for: Callable[[User | None], Client]
) -> None:
    admin = make_user("Site Admin", is_staff=True, is_superuser=True)
    assert client_for(admin).get(reverse("admin:index")).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_an_official_of_another_region_sees_nothing_of_this_one(
    world: dict[str, Any], otto: User, client_for: Callable[[User | None], Client]
) -> None:
    client = client_for(otto)
    contest = world["contest"]
    for url in world["urls"]:
        status, final = _follow_to_end(client, url.path)
        if url.has_object:
            # Every page about one of this region's objects is refused.
            assert status == HTTPStatus.FORBIDDEN or _is_login(final), (url, status)
        else:
            # The office's own pages (index, lists) are Otto's too, but hold
            # nothing from this region.
            assert status != HTTPStatus.INTERNAL_SERVER_ERROR
            response = client.get(final)
            if response.status_code == HTTPStatus.OK and "text/html" in response["Content-Type"]:
                assert contest.title not in response.content.decode(), url
                assert "Testshire" not in response.content.decode(), url
    response = client.post(
        reverse("office:elections_contest_ruling", args=[contest.pk, "quash"]),
        {"reason": "Not my region."},
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    contest.refresh_from_db()
    assert contest.state == Contest.State.DECLARED
    assert Ruling.objects.count() == 1


# Names where a GET is not a page: logging in and out, the password pages
# (allauth's), the admin's add and delete (nothing may be added or deleted)
# and the bare object URL (a redirect to its change page).
_NOT_PAGES = {"login", "logout", "password_change", "password_change_done", ""}


@pytest.mark.django_db
def test_the_regions_official_reaches_every_page(
    world: dict[str, Any], rita: User, client_for: Callable[[User | None], Client]
) -> None:
    client = client_for(rita)
    for url in world["urls"]:
        response = client.get(url.path)
        if url.name.endswith(("_add", "_delete")):
            assert response.status_code == HTTPStatus.FORBIDDEN, url
        elif url.name in _NOT_PAGES:
            assert response.status_code in (
                HTTPStatus.FOUND,
                HTTPStatus.METHOD_NOT_ALLOWED,
            ), url
        else:
            assert response.status_code == HTTPStatus.OK, (url, response.status_code)


@pytest.mark.django_db
def test_the_office_login_hands_over_to_the_one_login_page(rita: User) -> None:
    client = Client()
    response = client.get(reverse("office:index"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("office:login"))
    response = client.get(response["Location"])
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=/office/" in response["Location"]


@pytest.mark.django_db
def test_an_officials_login_is_audited(rita: User, alice: User) -> None:
    from elections.models import AuditEvent

    Client().force_login(alice)
    assert not AuditEvent.objects.filter(action="official.login").exists()
    Client().force_login(rita)
    event = AuditEvent.objects.get(action="official.login")
    assert event.actor_id == rita.pk and event.data == {
        "regions": [rita.official_roles.get().region_id]
    }
