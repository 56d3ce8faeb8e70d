"""Receipts: shown once, checkable after the close by anyone on the roll."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from elections.models import Ballot, Method
from elections.services.casting import cast_ballot
from elections.services.receipts import (
    _ALPHABET,
    looks_like_receipt,
    new_receipt_code,
    normalise,
    receipt_digest,
)
from tests.conftest import candidate_ids, poll_of


@pytest.mark.django_db
def test_it_stores_only_the_digest_of_a_receipt(alice, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    code = cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    assert looks_like_receipt(code)
    poll.close(by=sam)
    ballot = Ballot.objects.get(poll=poll)
    assert ballot.receipt_digest == receipt_digest(code)
    assert code not in str(Ballot.objects.values_list())


@pytest.mark.django_db
def test_it_tells_a_member_their_ballot_was_counted(client, alice, bob, sam, make_contest):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    code = cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    url = reverse("receipt_check", args=[contest.pk])
    client.force_login(bob)

    before = client.post(url, {"code": code})
    assert "once the poll has closed" in before.content.decode()

    poll.close(by=sam)
    poll.count(by=sam)
    # Typed in lower case and without dashes, it still matches.
    found = client.post(url, {"code": code.lower().replace("-", "")})
    assert "and was counted" in found.content.decode()

    missing = client.post(url, {"code": "0000-0000-0000-0000"})
    assert "No ballot with this receipt" in missing.content.decode()

    bad = client.post(url, {"code": "not a code"})
    assert bad.status_code == HTTPStatus.OK
    assert "does not look like a receipt code" in bad.content.decode()


def test_codes_use_the_whole_alphabet_in_every_place() -> None:
    codes = [new_receipt_code() for _ in range(4000)]
    assert len(set(codes)) == len(codes)
    assert all(looks_like_receipt(code) and code == normalise(code) for code in codes)
    places = zip(*(code.replace("-", "") for code in codes), strict=True)
    # 4,000 draws of 32 characters miss one in a place with a chance under 1e-50.
    assert all(set(place) == set(_ALPHABET) for place in places)
