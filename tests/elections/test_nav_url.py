"""The site header's links are reversed once, and stay right for each URLconf and prefix."""

from __future__ import annotations

from unittest import mock

from django.template import engines
from django.urls import clear_script_prefix, reverse, set_script_prefix

from elections.templatetags import nav

HEADER = engines["django"].from_string(
    "{% load nav %}{% nav_url 'inbox' %}|{% nav_url 'office:index' %}"
)


def test_the_links_are_those_url_gives() -> None:
    assert HEADER.render({}) == f"{reverse('inbox')}|{reverse('office:index')}"


def test_each_link_is_reversed_once() -> None:
    nav._reversed.cache_clear()
    with mock.patch.object(nav, "reverse", wraps=reverse) as reversing:
        for _ in range(3):
            HEADER.render({})
    assert reversing.call_count == 2


def test_a_script_prefix_is_kept_apart() -> None:
    bare = HEADER.render({})
    set_script_prefix("/teller/")
    try:
        prefixed = HEADER.render({})
    finally:
        clear_script_prefix()
    assert prefixed == "|".join(f"/teller{link}" for link in bare.split("|"))
    assert HEADER.render({}) == bare
