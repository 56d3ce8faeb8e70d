"""issue_ruling: who may rule, what each ruling does, and that rulings and
frozen rules change only as the rules say."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from elections.exceptions import InvalidTransition, NotAllowed
from elections.models import (
    AuditEvent,
    Candidate,
    Channel,
    Contest,
    ContestState,
    Method,
    PollStatus,
    ProxyAppointment,
    ProxyStatus,
    RuleSet,
    RulingKind,
)
from elections.models.audit import verify_chain
from elections.models.rulings import Complaint, ImmutableRuling, InvalidRuling, Ruling
from elections.services.casting import cast_ballot
from elections.services.rulings import issue_ruling
from tests.conftest import candidate_ids, poll_of
from tests.rulings.conftest import rule_post_for

RERUN_RULES = {"channel": Channel.ONLINE, "proxy_allowed": False}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "sam", "olive", "otto", "superuser"])
def test_only_an_official_of_the_region_can_rule(
    who: str,
    declared: Contest,
    request: pytest.FixtureRequest,
    make_user: Callable[..., User],
) -> None:
    if who == "superuser":
        user = make_user("Site Admin", is_staff=True, is_superuser=True)
    else:
        user = request.getfixturevalue(who)
    for kind in RulingKind:
        with pytest.raises(NotAllowed):
            issue_ruling(declared, by=user, kind=kind, reason="I would like to.")
    declared.refresh_from_db()
    assert declared.state == ContestState.DECLARED
    assert not Ruling.objects.exists()


@pytest.mark.django_db
def test_a_ruling_needs_a_reason(declared: Contest, rita: User) -> None:
    for reason in ("", "  \n\t"):
        with pytest.raises(InvalidRuling, match="reason"):
            issue_ruling(declared, by=rita, kind=RulingKind.QUASH, reason=reason)
    declared.refresh_from_db()
    assert declared.state == ContestState.DECLARED
    with pytest.raises(InvalidRuling):
        Ruling.objects.create(contest=declared, kind=RulingKind.UPHOLD, reason=" ", issued_by=rita)


@pytest.mark.django_db
def test_quash_is_allowed_only_from_polling_onwards(
    make_contest: Callable[..., Contest], rita: User
) -> None:
    ready = make_contest(open_poll=False)
    with pytest.raises(InvalidTransition, match="quashed"):
        issue_ruling(ready, by=rita, kind=RulingKind.QUASH, reason="Too early.")
    ready.refresh_from_db()
    assert ready.state == ContestState.READY


@pytest.mark.django_db
def test_quash_keeps_the_result_readable_and_marked_quashed(
    declared: Contest, rita: User, alice: User, client_for: Callable[[User | None], Client]
) -> None:
    sheet = poll_of(declared).result
    assert sheet["elected"]
    ruling = issue_ruling(declared, by=rita, kind=RulingKind.QUASH, reason="Proxies were used.")
    declared.refresh_from_db()
    assert declared.state == ContestState.QUASHED and declared.quashed_at is not None
    assert declared.declared_at is not None
    assert poll_of(declared).result == sheet
    assert ruling.rules_before == ruling.rules_after == declared.rules.as_dict()

    page = client_for(alice).get(reverse("results", args=[declared.pk]))
    html = page.content.decode()
    assert page.status_code == HTTPStatus.OK
    assert "quashed" in html.lower() and "Ann Archer" in html and "Ben Baker" in html
    detail = client_for(alice).get(reverse("contest", args=[declared.pk])).content.decode()
    assert "Quashed" in detail and reverse("contest_rulings", args=[declared.pk]) in detail


@pytest.fixture
def declared_with_withdrawal(body, sam, alice, bob, make_user) -> Contest:  # type: ignore[no-untyped-def]
    """Ann, Ben and Cat stood, Cat withdrew; Ann won 1-0 ... on proxies, they say."""
    rules = RuleSet.objects.create(
        name="Leader rules", method=Method.PLURALITY, proxy_allowed=True, channel=Channel.HYBRID
    )
    contest = Contest.objects.create(body=body, title="Group leader 2026", rules=rules)
    contest.open_nominations(by=sam)
    Candidate.add(contest, by=sam, name="Ann Archer", gender="woman", affiliation="North")
    Candidate.add(contest, by=sam, name="Ben Baker", user=bob, affiliation="South")
    cat = Candidate.add(contest, by=sam, name="Cat Carter")
    cat.withdraw(by=sam, reason="Stood down.")
    contest.finalise_ballot(by=sam)
    now = timezone.now()
    poll = contest.schedule_poll(
        by=sam, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=1)
    )
    poll.open(by=sam)
    cast_ballot(poll.pk, alice, [candidate_ids(contest)["Ann Archer"]])
    poll.close(by=sam)
    poll.count(by=sam, seed="s")
    contest.refresh_from_db()
    contest.declare(by=sam)
    contest.refresh_from_db()
    return contest


@pytest.mark.django_db
def test_a_rerun_copies_standing_candidates_and_amended_frozen_rules(
    declared_with_withdrawal: Contest, rita: User, bob: User
) -> None:
    original = declared_with_withdrawal
    ruling = issue_ruling(
        original,
        by=rita,
        kind=RulingKind.QUASH_AND_RERUN,
        reason="Proxy votes are not allowed for a leadership election.",
        amendments=RERUN_RULES,
    )
    original.refresh_from_db()
    rerun = ruling.rerun
    assert rerun is not None
    # Linked both ways.
    assert rerun.rerun_of == original and original.rerun == rerun
    assert rerun.ordered_by_ruling == ruling
    assert rerun.title == "Group leader 2026 (re-run)" and rerun.body == original.body
    assert rerun.state == ContestState.READY
    # Candidates: the standing ones, as they were.
    copied = list(rerun.candidates.values_list("name", "gender", "affiliation", "user", "position"))
    assert copied == [
        ("Ann Archer", "woman", "North", None, 1),
        ("Ben Baker", "", "South", bob.pk, 2),
    ]
    # Rules: a frozen copy, amended, with the original's left as it was run.
    assert rerun.rules_id != original.rules_id
    assert rerun.rules.is_frozen
    assert rerun.rules.as_dict() == {**original.rules.as_dict(), **RERUN_RULES}
    assert original.rules.proxy_allowed is True and original.rules.channel == Channel.HYBRID
    assert ruling.rules_before == original.rules.as_dict()
    assert ruling.rules_after == rerun.rules.as_dict()
    assert {f for f, _, _ in ruling.rule_changes()} == {"channel", "proxy_allowed"}
    # Nobody can change the re-run's rules except by another ruling.
    rules = RuleSet.objects.get(pk=rerun.rules_id)
    rules.proxy_allowed = True
    with pytest.raises(NotAllowed):
        rules.save()
    # And only one re-run per contest.
    with pytest.raises(InvalidTransition, match="already"):
        issue_ruling(original, by=rita, kind=RulingKind.ORDER_RERUN, reason="Again.")


@pytest.mark.django_db
def test_order_rerun_needs_a_quashed_contest(declared: Contest, rita: User) -> None:
    with pytest.raises(InvalidTransition, match="quash it first"):
        issue_ruling(declared, by=rita, kind=RulingKind.ORDER_RERUN, reason="Again.")
    issue_ruling(declared, by=rita, kind=RulingKind.QUASH, reason="Proxies.")
    opens = timezone.now() + timedelta(days=3)
    ruling = issue_ruling(
        declared,
        by=rita,
        kind=RulingKind.ORDER_RERUN,
        reason="Online, no proxies.",
        amendments=RERUN_RULES,
        timetable=(opens, opens + timedelta(days=1)),
    )
    poll = poll_of(ruling.rerun)
    assert poll.status == PollStatus.SCHEDULED and poll.opens_at == opens
    assert set(poll.candidates.values_list("name", flat=True)) == {
        "Ann Archer",
        "Ben Baker",
        "Cat Carter",
    }


@pytest.mark.django_db
def test_bad_amendments_are_refused_and_nothing_changes(polling: Contest, rita: User) -> None:
    before = RuleSet.objects.get(pk=polling.rules_id).as_dict()
    with pytest.raises(InvalidRuling, match="not rules"):
        issue_ruling(
            polling, by=rita, kind=RulingKind.AMEND_RULES, reason="r", amendments={"name": "x"}
        )
    with pytest.raises(InvalidRuling, match="not valid"):
        issue_ruling(
            polling, by=rita, kind=RulingKind.AMEND_RULES, reason="r", amendments={"seats": 0}
        )
    with pytest.raises(InvalidRuling, match="not valid"):
        issue_ruling(
            polling, by=rita, kind=RulingKind.AMEND_RULES, reason="r", amendments={"min_women": 5}
        )
    with pytest.raises(InvalidRuling):
        issue_ruling(polling, by=rita, kind=RulingKind.UPHOLD, reason="r", amendments={"seats": 1})
    assert RuleSet.objects.get(pk=polling.rules_id).as_dict() == before
    assert not Ruling.objects.exists()


@pytest.mark.django_db
def test_disallowing_proxies_voids_the_appointments(
    make_contest: Callable[..., Contest], rita: User, alice: User, bob: User, sam: User
) -> None:
    contest = make_contest(open_poll=False, proxy_allowed=True)
    appointment = ProxyAppointment.appoint(contest, principal=alice, proxy=bob)
    appointment.decide(by=sam, approve=True)
    issue_ruling(
        contest,
        by=rita,
        kind=RulingKind.AMEND_RULES,
        reason="Proxies are not allowed for this office.",
        amendments={"proxy_allowed": False},
    )
    appointment.refresh_from_db()
    assert appointment.status == ProxyStatus.VOIDED
    assert RuleSet.objects.get(pk=contest.rules_id).proxy_allowed is False
    assert AuditEvent.objects.filter(action="proxy.voided", contest_id=contest.pk).exists()


@pytest.mark.django_db
def test_a_ruling_cannot_be_edited_or_deleted(declared: Contest, rita: User) -> None:
    ruling = issue_ruling(declared, by=rita, kind=RulingKind.UPHOLD, reason="It stands.")
    ruling.reason = "Something else."
    with pytest.raises(ImmutableRuling):
        ruling.save()
    with pytest.raises(ImmutableRuling):
        ruling.delete()
    with pytest.raises(ImmutableRuling):
        Ruling.objects.filter(pk=ruling.pk).update(reason="Rewritten.")
    with pytest.raises(ImmutableRuling):
        Ruling.objects.filter(pk=ruling.pk).delete()
    assert Ruling.objects.get(pk=ruling.pk).reason == "It stands."


@pytest.mark.django_db
@pytest.mark.postgres
def test_the_database_refuses_to_change_a_ruling(declared: Contest, rita: User) -> None:
    ruling = issue_ruling(declared, by=rita, kind=RulingKind.UPHOLD, reason="It stands.")
    for sql in ("UPDATE elections_ruling SET reason = 'x' WHERE id = %s",
                "DELETE FROM elections_ruling WHERE id = %s"):  # fmt: skip
        with (
            pytest.raises(DatabaseError, match="cannot be changed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [ruling.pk])
    assert Ruling.objects.get(pk=ruling.pk).reason == "It stands."


@pytest.mark.django_db
def test_a_later_ruling_supersedes_an_earlier_one(
    declared: Contest, polling_elsewhere: Contest, rita: User
) -> None:
    first = issue_ruling(declared, by=rita, kind=RulingKind.UPHOLD, reason="It stands.")
    second = issue_ruling(
        declared,
        by=rita,
        kind=RulingKind.QUASH,
        reason="New evidence: proxies were used.",
        supersedes=first,
    )
    assert second.supersedes == first and first.superseded_by == second
    assert first.is_superseded and not second.is_superseded
    assert list(Ruling.objects.filter(contest=declared).in_force()) == [second]
    # Both stay on record, unchanged.
    assert Ruling.objects.get(pk=first.pk).reason == "It stands."
    with pytest.raises(InvalidTransition, match="already been superseded"):
        issue_ruling(declared, by=rita, kind=RulingKind.ORDER_RERUN, reason="r", supersedes=first)
    with pytest.raises(InvalidRuling, match="same contest"):
        issue_ruling(
            polling_elsewhere, by=rita, kind=RulingKind.QUASH, reason="r", supersedes=second
        )


@pytest.fixture
def polling_elsewhere(make_contest: Callable[..., Contest], other_body, make_user) -> Contest:  # type: ignore[no-untyped-def]
    return make_contest(in_body=other_body)


@pytest.mark.django_db
def test_frozen_rules_change_only_by_a_ruling(
    polling: Contest,
    rita: User,
    region,  # type: ignore[no-untyped-def]
    client_for: Callable[[User | None], Client],
) -> None:
    office = client_for(rita)
    rules = RuleSet.objects.get(pk=polling.rules_id)
    assert rules.is_frozen
    # The office's change view shows a contest's rules read-only and refuses a POST.
    url = reverse("office:elections_ruleset_change", args=[rules.pk])
    page = office.get(url)
    assert page.status_code == HTTPStatus.OK
    assert 'name="proxy_allowed"' not in page.content.decode()
    data = {k.removeprefix("rule_"): v for k, v in rule_post_for(rules).items()}
    response = office.post(url, {**data, "name": "Hijacked", "proxy_allowed": "on"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    # Nor does the model let anyone save it.
    rules.proxy_allowed = True
    with pytest.raises(NotAllowed):
        rules.save()
    assert RuleSet.objects.get(pk=rules.pk).proxy_allowed is False

    # The region's defaults are the official's to set, and the change is audited.
    defaults = region.default_rules
    url = reverse("office:elections_ruleset_change", args=[defaults.pk])
    fields = {k.removeprefix("rule_"): v for k, v in rule_post_for(defaults).items()}
    response = office.post(url, {"name": defaults.name, **fields, "quorum_percent": 50})
    assert response.status_code == HTTPStatus.FOUND, response.content[:2000]
    defaults.refresh_from_db()
    assert defaults.quorum_percent == 50
    event = AuditEvent.objects.filter(action="region.rules_changed").get()
    assert event.data["changes"] == {"quorum_percent": [0, 50]}


@pytest.mark.django_db
def test_the_audit_chain_verifies_after_rulings(
    declared: Contest, complaint: Complaint, rita: User, capsys: pytest.CaptureFixture[str]
) -> None:
    issue_ruling(
        declared,
        by=rita,
        kind=RulingKind.QUASH_AND_RERUN,
        reason="Proxies were used.",
        complaint=complaint,
        amendments=RERUN_RULES,
    )
    assert verify_chain() is None
    call_command("verify_audit")
    assert "Audit chain verified" in capsys.readouterr().out
    event = AuditEvent.objects.get(action="ruling.issued")
    assert event.reason == "Proxies were used."
    assert event.actor_id == rita.pk and event.contest_id == declared.pk
    assert event.data["kind"] == "quash_and_rerun"
    assert event.data["rules_before"]["proxy_allowed"] is False
    assert event.data["rules_after"]["channel"] == "online"
    assert event.data["complaint"] == complaint.pk
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"complaint.lodged", "contest.quashed", "contest.rerun_ordered"} <= actions


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_amendment_waits_for_a_vote_being_written(polling, rita, bob):
    """The amendment takes the open poll's lock, which every vote holds while
    it is written: a vote in flight finishes under the old rules first."""
    import threading

    from django.db import OperationalError, connections

    from elections.models.polls import lock_poll_for_casting

    poll = poll_of(polling)
    locked, release = threading.Event(), threading.Event()

    def a_vote_in_flight() -> None:
        try:
            with transaction.atomic():
                lock_poll_for_casting(poll.pk, voter=bob)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    voter = threading.Thread(target=a_vote_in_flight)
    voter.start()
    assert locked.wait(10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            issue_ruling(
                polling, by=rita, kind=RulingKind.AMEND_RULES, reason="No proxies.",
                amendments={"proxy_allowed": not polling.rules.proxy_allowed},
            )  # fmt: skip
    finally:
        release.set()
        voter.join()
    ruling = issue_ruling(
        polling, by=rita, kind=RulingKind.AMEND_RULES, reason="No proxies.",
        amendments={"proxy_allowed": not polling.rules.proxy_allowed},
    )  # fmt: skip
    assert ruling.rule_changes()
