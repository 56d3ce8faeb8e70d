"""`never_cached`: Django's `never_cache`, for the ballot, without its merging.

The ballot view answers the busiest request of an election, and every answer it
gives (the form, the confirmation, the receipt) must not be kept by a browser or
a proxy. Django's `never_cache` merges its headers into whatever Cache-Control the
response already has: it parses and rebuilds the header twice and formats Expires
through `email.utils`. In a cast that came to 0.03 ms, a twentieth of what a cast
costs beyond the floor of the stack (docs/benchmarks.md). The ballot's responses
never carry cache headers of their own, so this sets the headers `never_cache`
would end with, and leaves any response that does carry some to Django's merge.
tests/elections/test_cache_headers.py holds the two to the same headers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date

# What `add_never_cache_headers` gives a response with no Cache-Control of its own.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def never_cached(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a (synchronous) view so that none of its responses is cached."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if "Cache-Control" in response.headers or "Expires" in response.headers:
            add_never_cache_headers(response)
        else:
            response.headers["Expires"] = http_date()  # now
            response.headers["Cache-Control"] = NEVER_CACHE
        return response

    return wrapper
