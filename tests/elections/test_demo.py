"""The demo that `make run` loads."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from elections.models import Ballot, Body, Contest, Membership, Participation
from elections.models.audit import verify_chain


@pytest.mark.django_db
def test_it_loads_an_invented_group_with_three_contests(capsys):
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "secretary@ashbyvale.example" in out
    assert "password for all" in out

    body = Body.objects.get(slug="ashby-vale")
    assert body.memberships.filter(role=Membership.Role.MEMBER).count() == 52
    for role in (Membership.Role.SECRETARY, Membership.Role.OBSERVER):
        assert body.memberships.filter(role=role).count() == 1
    assert body.region.officials.count() == 1
    states = dict(Contest.objects.values_list("title", "state"))
    assert states == {
        "Group whip 2025": "declared",
        "Group leader 2026": "polling",
        "Group executive 2026": "ready",
    }
    whip = Contest.objects.get(title="Group whip 2025")
    poll = whip.current_poll()
    assert poll.result["ballots_counted"] == 47
    assert (
        Ballot.objects.filter(poll=poll).count() == Participation.objects.filter(poll=poll).count()
    )
    assert verify_chain() is None

    call_command("load_demo")  # a second run changes nothing
    assert "already loaded" in capsys.readouterr().out
    assert Contest.objects.count() == 3
