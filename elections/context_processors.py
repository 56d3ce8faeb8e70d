"""Template context for every page."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.http import HttpRequest

from elections.notifications import unread_count


def notifications(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """The member's unread count for the nav (read with the request's user), if a page uses it.

    Templates call a callable when they read it; caching it means the nav
    reading it twice (the test and the number) still costs one query.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": lambda: 0}

    @cache
    def count() -> int:
        return unread_count(user)

    return {"unread_notifications": count}


def roles(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """Whether to show the regional office in the nav (read with the request's user)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_regional_official": lambda: False}

    @cache
    def is_official() -> bool:
        from config.security import is_regional_official

        return is_regional_official(user)

    return {"is_regional_official": is_official}
