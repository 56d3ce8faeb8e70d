"""The receipt page, the answer to a cast: rendered once per contest, its code put in per vote.

It is the busiest page of an election, and all of it but two strings is the same
for every voter in a contest: the site's header and footer, the contest's title
and link, the words around the code. Rendering that through the template engine
was a fifth of a cast's CPU in the web worker. So each process renders the
page once per contest and header state with stand-ins for the receipt code and
the log-out form's CSRF token, and each cast puts its own two strings in their
places.

The rendered page is keyed by everything the template reads that could differ
between voters (the header's unread count and regional-office link, the URLconf
and script prefix) and by the contest's title; a page with messages to show, or
a proxy's, is rendered in full. tests/elections/test_receipt_page.py renders the
page both ways for voters who differ in name, email and unread notices and
requires the same bytes: a template change that shows something of the voter's
own would fail it.

The shell holds no voter's data and no code: the code exists only in the
response, as before (see `elections.views.voting`).

The log-out form's token is the one the cast was posted with, when that is a
masked token as `{% csrf_token %}` gives: CsrfViewMiddleware has just checked it
against the person's CSRF cookie, so it is as good for the next post as a new
one. Masking a new one (`get_token`) also sends the CSRF cookie again with every
cast: the two cost 0.08 ms a cast in process, a twelfth of what a cast costs
beyond the floor, and the cookie costs the browser too.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_TOKEN_LENGTH, get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import escape

from config.security import is_regional_official
from elections.notifications import unread_count
from elections.templatetags.nav import urls_in_force

if TYPE_CHECKING:
    from accounts.models import User
    from elections.models import Contest

TEMPLATE = "elections/ballot_receipt.html"

# Stand-ins no page could contain by chance, new in each process.
_CODE = f"receipt-{secrets.token_hex(16)}"
_TOKEN = f"csrf-{secrets.token_hex(16)}"
_STAND_INS = re.compile(f"({_CODE}|{_TOKEN})")
# A masked CSRF token, as CsrfViewMiddleware accepts it from a form.
_MASKED_TOKEN = re.compile(f"[{re.escape(CSRF_ALLOWED_CHARS)}]{{{CSRF_TOKEN_LENGTH}}}")

# Per process: (contest id, title, unread count, office link, URLconf, prefix) to
# the page split around its stand-ins. A handful of contests are open at once.
_PAGES: dict[tuple[object, ...], list[str]] = {}
_PAGES_MAX = 256


def receipt_response(
    request: HttpRequest, contest: Contest, code: str, *, principal: User | None = None
) -> HttpResponse:
    """The receipt page for `code`, cast in `contest` (by proxy for `principal`)."""
    context = {"contest": contest, "receipt": code, "principal": principal}
    if principal is not None or get_messages(request):
        return render(request, TEMPLATE, context)
    user = request.user
    key = (
        contest.pk,
        contest.title,
        unread_count(user),  # type: ignore[arg-type]
        is_regional_official(user),
        *urls_in_force(),
    )
    parts = _PAGES.get(key)
    if parts is None:
        page = render_to_string(
            TEMPLATE, {**context, "receipt": _CODE, "csrf_token": _TOKEN}, request=request
        )
        parts = _STAND_INS.split(page)
        if len(_PAGES) >= _PAGES_MAX:
            _PAGES.clear()
        _PAGES[key] = parts
    # Escaped as the template escapes them.
    values = {_CODE: escape(code), _TOKEN: escape(_log_out_token(request))}
    return HttpResponse("".join(values.get(part, part) for part in parts))


def _log_out_token(request: HttpRequest) -> str:
    """The CSRF token for the page's log-out form: the cast's own if it came in the
    form, masked; otherwise (a script posting the bare secret or using the header)
    a new one from Django."""
    posted = request.POST.get("csrfmiddlewaretoken", "")
    if _MASKED_TOKEN.fullmatch(posted):
        return posted
    return get_token(request)
