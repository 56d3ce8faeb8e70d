"""`{% nav_url %}`: the site header's links, worked out once rather than on every page.

The header (templates/base.html) is on every page, the casting receipt included,
and Django's `{% url %}` matches the name against the URLconf each time it is
rendered: seven times a page, a third of the receipt's render. Its links take no
arguments, so each depends only on the URLconf and the script prefix.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


def urls_in_force() -> tuple[str, str]:
    """What a reversed URL depends on in this request: the URLconf and the script prefix."""
    return get_urlconf(settings.ROOT_URLCONF), get_script_prefix()


@register.simple_tag
def nav_url(name: str) -> str:
    """`{% url name %}` for a URL that takes no arguments."""
    return _reversed(name, *urls_in_force())


@lru_cache(maxsize=64)
def _reversed(name: str, urlconf: str, prefix: str) -> str:
    # reverse() itself reads the URLconf and prefix in force; they are in the key.
    return reverse(name, urlconf=urlconf)
