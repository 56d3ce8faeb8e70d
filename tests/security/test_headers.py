"""Every page carries a strict Content-Security-Policy and the other security
headers, and no page template has an inline script, style or event handler
(which that policy would block)."""

from __future__ import annotations

import re
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
}

# What the policy forbids in a page: a <script> without src (inline code;
# JSON data blocks are allowed), a <style> element, a style= attribute, an
# on...= event handler, a javascript: URL.
INLINE = {
    "inline <script>": re.compile(
        r"<script\b(?![^>]*\bsrc=)(?![^>]*type=[\"']application/(?:ld\+)?json)[^>]*>", re.I
    ),
    "<style> element": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _is_email(path: Path) -> bool:
    """Emails are read in mail clients, where no CSP applies and inline styles
    are the only styles that survive; they are exempt."""
    relative = path.relative_to(TEMPLATES)
    return "email" in relative.name or "email" in relative.parts[:-1]


def _page_templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.html") if not _is_email(p))


def _policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


def test_it_sends_a_strict_content_security_policy(client, alice, make_contest):
    contest = make_contest()
    login = client.get(reverse("account_login"))
    assert _policy(login["Content-Security-Policy"]) == EXPECTED_CSP
    client.force_login(alice)
    pages = [
        reverse("home"),
        reverse("contest", args=[contest.pk]),
        reverse("ballot", args=[contest.current_poll().pk]),
        reverse("mfa_index"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        assert _policy(response["Content-Security-Policy"]) == EXPECTED_CSP, url


def test_it_sends_the_other_security_headers(client):
    response = client.get(reverse("account_login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_scan_finds_page_templates():
    pages = _page_templates()
    assert TEMPLATES / "base.html" in pages
    assert TEMPLATES / "elections" / "results.html" in pages
    assert TEMPLATES / "notifications" / "email.html" not in pages


@pytest.mark.parametrize("what", sorted(INLINE))
def test_no_page_template_has_inline_code_or_style(what):
    pattern = INLINE[what]
    offenders = []
    for path in _page_templates():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    assert not offenders, (
        f"{what} in page templates; the Content-Security-Policy blocks it, so move it "
        "to static/ (a .css or .js file) or use a CSS class:\n" + "\n".join(offenders)
    )
