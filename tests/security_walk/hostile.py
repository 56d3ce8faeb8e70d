"""Hostile strings and the helpers the hostile-input tests share.

The sites to aim at come from the security walk's table (test_url_walk.py):
every page a GET reaches and every form a POST reaches, each as someone
the table allows there.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.security_walk.helpers import Snapshot, World, snapshot
from tests.security_walk.test_url_walk import Outcome, Request, requests_for

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = "application/x-www-form-urlencoded"

# Strings a browser would never send, and some it would.
NASTY = [
    "", " ", "\t\n", "\x00", "a\x00b", "-1", "0", "00", "1.5", "1e3", "0x10", "1_0", " 1 ",
    "\u0661", "\u00b2", "\U0001d7d9", "NaN", "inf", "9" * 30, "9" * 5000, "\u202e1", "\ufeff1",
    "é" * 300, "<script>alert(1)</script>", "'; DROP TABLE elections_ballot; --", "%00",
    "../../etc/passwd", "{{ 7*7 }}", "${jndi:ldap://x}", "\r\nSet-Cookie: x=1",
]  # fmt: skip
# The ones that have broken views here before, tried on every page and form:
# not a number; a digit int() refuses ("²" passes str.isdigit()); more digits
# than int() reads; a NUL, which PostgreSQL refuses in text.
CRITICAL = ["abc", "\u00b2", "9" * 5000, "a\x00b"]
nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)

# The role each page or form is tried as: the first of these the table allows.
PREFERENCE = ("member", "secretary", "observer", "official", "candidate", "other_official")


def form_body(data: dict[str, list[str]]) -> str:
    return urlencode([(k, v) for k, values in data.items() for v in values])


def client_for(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    user = world.user(role)
    if user is not None:
        client.force_login(user)
    return client


def no_server_error(response: HttpResponse, what: str) -> None:
    assert response.status_code < 500, f"{what}: server error {response.status_code}"


def unchanged(before: Snapshot, what: str) -> None:
    changed = before.differences(snapshot())
    assert not changed, f"{what} changed the database: {changed}"


def _outside_admin(request: Request) -> bool:
    # The Django admin is for site admins; nobody in the cast gets past its gate.
    return not request.key.startswith(("admin:", "<unnamed> admin/"))


def pages(world: World) -> list[tuple[str, str]]:
    """(role, path): one page for each URL name a GET reaches."""
    out, seen = [], set()
    for request in requests_for(world):
        if request.method != "GET" or not _outside_admin(request) or request.key in seen:
            continue
        for role in PREFERENCE:
            if request.rule(role, request.case) is Outcome.OK:
                out.append((role, request.path))
                seen.add(request.key)
                break
    return out


def forms(world: World) -> list[tuple[str, str, list[str]]]:
    """(role, path, the names of its fields): each form a POST reaches."""
    answered = (Outcome.OK, Outcome.NOOP, Outcome.ANSWERED)
    out, seen = [], set()
    for request in requests_for(world):
        if request.method != "POST" or not _outside_admin(request):
            continue
        for role in (*PREFERENCE, "anonymous"):
            if request.rule(role, request.case) in answered:
                make = request.case.data or request.row.data
                names = sorted(make(world)) if make else []
                if (request.key, role, tuple(names)) not in seen:
                    seen.add((request.key, role, tuple(names)))
                    out.append((role, request.path, names))
                break
    return out
