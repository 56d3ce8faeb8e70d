"""Every form of the app, the office and allauth, with hostile values: never a 500.

Each form's own fields (from the security walk's table) are filled with
hostile values: always the ones that have broken views here before (ids
that are not numbers, "²", a number of 5,000 digits, a NUL character),
then some that Hypothesis picks. Some of these are valid after all (a
withdrawal's reason can be any text), so the database may change: each
example's writes are rolled back, and the property is only that the view
answers rather than crashes. tests/security_walk/test_hostile_input.py
holds the stricter properties (nothing written) for ballots, roll files,
rulings and query strings.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.security_walk.helpers import ROLES, World, rolled_back
from tests.security_walk.hostile import (
    CRITICAL,
    FORM,
    FUZZ,
    NASTY,
    client_for,
    form_body,
    forms,
    nasty_text,
    no_server_error,
)


def _fuzz_form(client: Client, cookies: Any, what: str, path: str, names: list[str]) -> None:
    fields = st.dictionaries(
        st.one_of(st.sampled_from(names), nasty_text) if names else nasty_text,
        st.lists(st.one_of(st.sampled_from(NASTY), nasty_text), min_size=1, max_size=2),
        min_size=1,
        max_size=len(names) + 1,
    )

    def check(data: dict[str, list[str]]) -> None:
        with rolled_back():
            response = client.post(path, form_body(data), content_type=FORM)
        # A logout (allauth's, the office's) must not log the next example out.
        client.cookies = copy.deepcopy(cookies)
        no_server_error(response, f"{what}: {data!r}"[:2000])

    run = given(data=fields)(check)
    for value in CRITICAL:
        run = example(data={name: [value] for name in names or ["x"]})(run)
    settings(FUZZ, max_examples=3)(run)()


@pytest.mark.django_db
@pytest.mark.usefixtures("lenient_ballot_rate")
def test_hostile_values_in_any_form_never_break_it(world: World) -> None:
    targets = forms(world)
    assert len(targets) > 40, "the walk's table should give most of the site's forms"
    clients = {role: client_for(world, role) for role in ROLES}
    saved = {role: copy.deepcopy(client.cookies) for role, client in clients.items()}
    failures = []
    for role, path, names in targets:
        # Every form is tried, and every form that breaks is listed.
        try:
            _fuzz_form(clients[role], saved[role], f"POST {path} as {role}", path, names)
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    assert not failures, "\n".join(failures)
