"""Teller's URLs plus the floor of the stack, for the benchmarks only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as teller_urlpatterns


def floor(request: HttpRequest) -> HttpResponse:
    """What every page pays before it does anything: middleware, the session and the user.

    Reading `request.user` loads the session row and the user row, as the ballot view's
    login check does; then nothing else.
    """
    return HttpResponse(status=204 if request.user.is_authenticated else 403)


urlpatterns = [path("bench/floor/", floor, name="bench_floor"), *teller_urlpatterns]
