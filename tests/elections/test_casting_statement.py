"""Casting writes a vote in one statement on PostgreSQL and in a short
transaction elsewhere; both must take and refuse exactly the same votes.

Each case runs through both ways on the database at hand (the one-statement
way only on PostgreSQL), so the way SQLite and `make run` use stays tested
in CI too.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.http import QueryDict
from django.urls import reverse

from elections.exceptions import BallotRefused
from elections.models import (
    Channel,
    Contest,
    ContestState,
    InboxBallot,
    Method,
    Participation,
    Poll,
    PollStatus,
    RuleSet,
)
from elections.services import casting
from elections.services.receipts import receipt_digest
from tests.conftest import candidate_ids, poll_of


@pytest.fixture(params=["one statement", "transaction"])
def way(request, monkeypatch):  # type: ignore[no-untyped-def]
    if request.param == "one statement" and connection.vendor != "postgresql":
        pytest.skip("the one-statement way is PostgreSQL's")
    monkeypatch.setattr(casting, "_in_one_statement", lambda: request.param == "one statement")
    return request.param


def _page_and_abstention(contest: Contest) -> tuple[Poll, QueryDict]:
    """The poll as the voter's page read it, and an abstention marked on its paper."""
    page = Poll.objects.select_related("contest__rules").get(pk=poll_of(contest).pk)
    form = QueryDict(mutable=True)
    form.update({"paper": page.ballot_paper().fingerprint, "choice": "abstain"})
    return page, form


def _nothing_written(poll: Poll) -> bool:
    return not Participation.objects.filter(poll=poll).exists() and not (
        InboxBallot.objects.filter(poll=poll).exists()
    )


@pytest.mark.django_db
def test_a_vote_writes_both_rows_and_its_receipt(way, alice, make_contest):
    contest = make_contest(Method.STV)
    poll = poll_of(contest)
    ids = candidate_ids(contest)
    ranking = [ids["Cat Carter"], ids["Ann Archer"]]
    code = casting.cast_ballot(poll.pk, alice, ranking)
    voted = Participation.objects.get(poll=poll)
    assert (voted.voter, voted.cast_by, voted.channel) == (alice, alice, "online")
    ballot = InboxBallot.objects.get(poll=poll)
    assert ballot.choices == ranking
    assert ballot.receipt_digest == receipt_digest(code)


@pytest.mark.django_db
def test_a_second_vote_is_refused_and_writes_nothing(way, alice, make_contest):
    poll = poll_of(make_contest(Method.PLURALITY))
    ids = list(candidate_ids(poll.contest).values())
    casting.cast_ballot(poll.pk, alice, [ids[0]])
    with pytest.raises(BallotRefused) as refusal:
        casting.cast_ballot(poll.pk, alice, [ids[1]])
    assert refusal.value.code == "already_voted"
    assert InboxBallot.objects.filter(poll=poll).count() == 1


@pytest.mark.django_db
def test_someone_off_the_roll_is_refused(way, make_contest, make_members):
    poll = poll_of(make_contest(Method.PLURALITY))
    [latecomer] = make_members(1)  # joined after the roll was frozen
    with pytest.raises(BallotRefused) as refusal:
        casting.cast_ballot(poll.pk, latecomer, [])
    assert refusal.value.code == "not_on_roll"
    assert _nothing_written(poll)


@pytest.mark.django_db
def test_a_vote_after_the_close_is_refused(way, alice, make_contest):
    poll = poll_of(make_contest(Method.PLURALITY))
    with time_machine.travel(poll.closes_at), pytest.raises(BallotRefused) as refusal:
        casting.cast_ballot(poll.pk, alice, [])
    assert (refusal.value.code, str(refusal.value)) == ("not_open", "This poll has closed.")
    assert _nothing_written(poll)


@pytest.mark.django_db
def test_an_online_vote_in_a_contest_held_in_the_room_is_refused(way, alice, make_contest):
    poll = poll_of(make_contest(Method.PLURALITY, channel=Channel.IN_PERSON))
    with pytest.raises(BallotRefused) as refusal:
        casting.cast_ballot(poll.pk, alice, [])
    assert refusal.value.code == "wrong_channel"
    assert _nothing_written(poll)


@pytest.mark.django_db
def test_a_contest_quashed_after_the_page_was_read_takes_no_vote(way, alice, make_contest):
    # The page read the contest while it was polling; the ruling landed
    # before the cast. The state under the vote's statement is what counts.
    contest = make_contest(Method.PLURALITY)
    page, form = _page_and_abstention(contest)
    type(contest).objects.filter(pk=contest.pk).update(state=ContestState.QUASHED)
    with pytest.raises(BallotRefused) as refusal:
        casting.cast_marked_paper(page, alice, form)
    assert refusal.value.code == "not_open"
    assert _nothing_written(page)


@pytest.mark.django_db
def test_a_bad_paper_for_a_closed_poll_hears_that_the_poll_closed(way, alice, make_contest):
    # Re-marking would not help, so the voter is told what would.
    page = poll_of(make_contest(Method.PLURALITY))
    form = QueryDict(mutable=True)
    form.update({"paper": "not this paper", "choice": "abstain"})
    later = page.closes_at + timedelta(minutes=5)
    with time_machine.travel(later), pytest.raises(BallotRefused) as refusal:
        casting.cast_marked_paper(page, alice, form)
    assert refusal.value.code == "not_open"
    with pytest.raises(BallotRefused) as refusal:
        casting.cast_marked_paper(page, alice, form)
    assert refusal.value.code == "stale"
    assert _nothing_written(page)


@pytest.mark.django_db
def test_the_filter_and_the_method_agree_on_when_a_poll_takes_votes(make_contest):
    # The statement asks the database (`votes_accepted_at`); the refusal's
    # reason comes from `accepts_votes_at`. They must never disagree.
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    opens, closes = poll.opens_at, poll.closes_at
    moments = [
        opens - timedelta(seconds=1), opens, opens + timedelta(minutes=5),
        closes - timedelta(microseconds=1), closes, closes + timedelta(days=1),
    ]  # fmt: skip
    checked = 0
    for status, suspended, state in itertools.product(
        PollStatus.values, (False, True), (ContestState.POLLING, ContestState.QUASHED)
    ):
        Poll.objects.filter(pk=poll.pk).update(status=status, suspended=suspended)
        type(contest).objects.filter(pk=contest.pk).update(state=state)
        poll = Poll.objects.select_related("contest").get(pk=poll.pk)
        for now in moments:
            in_python = bool(poll.accepts_votes_at(now))
            in_sql = Poll.objects.filter(Poll.votes_accepted_at(now), pk=poll.pk).exists()
            assert in_python == in_sql, (status, suspended, state, now)
            checked += in_python
    assert checked == 3, "open, not suspended, not quashed, from the opening to the close"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("proxy_allowed", False), ("channel", Channel.IN_PERSON), ("abstention_allowed", False)],
)
def test_a_vote_under_rules_changed_since_its_page_is_refused(
    way, alice, make_contest, field, value
):
    # A ruling amended the rules between the voter's page and the cast: the
    # vote is not written under rules the voter did not see.
    contest = make_contest(Method.PLURALITY, proxy_allowed=True)
    page, form = _page_and_abstention(contest)
    RuleSet.objects.filter(pk=contest.rules_id).update(**{field: value})
    with pytest.raises(BallotRefused) as refusal:
        casting.cast_marked_paper(page, alice, form)
    assert refusal.value.code == "rules_changed"
    assert _nothing_written(page)


@pytest.mark.django_db
def test_the_voter_is_told_the_rules_changed_and_to_open_the_ballot_again(
    client, alice, make_contest, monkeypatch
):
    contest = make_contest(Method.PLURALITY)
    poll = poll_of(contest)
    client.force_login(alice)
    url = reverse("ballot", args=[poll.pk])
    form = {"paper": poll.ballot_paper().fingerprint, "choice": "abstain", "action": "cast"}
    # The ruling lands between the page's read and the vote's statement.
    read_page = casting.cast_marked_paper

    def ruling_lands_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        RuleSet.objects.filter(pk=contest.rules_id).update(abstention_allowed=False)
        return read_page(*args, **kwargs)

    monkeypatch.setattr("elections.views.voting.cast_marked_paper", ruling_lands_first)
    response = client.post(url, form)
    assert response.status_code == 409
    assert "changed this contest&#x27;s rules" in response.content.decode()
    assert _nothing_written(poll)
