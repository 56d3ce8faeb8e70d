"""The case Teller is built around, start to finish (DESIGN.md), with invented names.

52 councillors of the Calder Vale group elect a leader. The first ballot,
in the room with proxy votes, gives Aileen Marsh a narrow win. A
councillor complains that proxies were used. The regional office rules
proxies out, quashes the result and orders an online re-run without
proxies, which Bryn Tolley wins 27 to 25. Everyone is told at each step,
the quashed result stays on record, and the audit chain verifies.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from elections.delivery import deliver_pending
from elections.models import (
    Ballot,
    Body,
    Candidate,
    Channel,
    Contest,
    ContestState,
    Membership,
    Method,
    Notification,
    NotificationKind,
    Participation,
    ProxyAppointment,
    Region,
    RegionalOfficial,
    RuleSet,
)
from elections.services.casting import cast_ballot
from elections.services.register import (
    countersign_paper_counts,
    enter_paper_counts,
    mark_in_person,
)
from elections.services.rulings import issue_ruling, lodge_complaint, review_complaint
from elections.services.schedule import sweep
from elections.tasks.polls import count_poll_task

FIRST = ["Aileen", "Bryn", "Carys", "Dafydd", "Elin", "Ffion", "Gareth", "Hywel", "Iola",
         "Jac", "Kerys", "Llew", "Mair"]  # fmt: skip
LAST = ["Marsh", "Tolley", "Penhallow", "Quarrie"]


def _person(n: int) -> User:
    first, last = FIRST[n % len(FIRST)], LAST[n // len(FIRST)]
    return User.objects.create_user(f"{first}.{last}{n}@caldervale.example", None,
                                    full_name=f"{first} {last}")  # fmt: skip


@pytest.mark.django_db
def test_the_contested_leadership_ballot(client, mailoutbox):
    # --- The group, its officers and its rules ------------------------------
    defaults = RuleSet.objects.create(name="Pennine defaults")
    region = Region.objects.create(name="Pennine Region", slug="pennine", default_rules=defaults)
    body = Body.objects.create(region=region, name="Calder Vale group", slug="calder-vale")
    councillors = [_person(n) for n in range(52)]
    for person in councillors:
        Membership.objects.create(body=body, user=person)
    secretary = User.objects.create_user(
        "secretary@caldervale.example", None, full_name="Sian Rowe"
    )
    Membership.objects.create(body=body, user=secretary, role=Membership.Role.SECRETARY)
    observer = User.objects.create_user("observer@caldervale.example", None, full_name="Tom Eddy")
    Membership.objects.create(body=body, user=observer, role=Membership.Role.OBSERVER)
    official = User.objects.create_user("official@pennine.example", None, full_name="Nia Bowen")
    RegionalOfficial.objects.create(region=region, user=official)
    aileen, bryn = councillors[0], councillors[1]

    rules = defaults.copy(name="Leader 2026 rules")
    rules.method, rules.channel, rules.proxy_allowed = Method.PLURALITY, Channel.IN_PERSON, True
    rules.abstention_allowed = False
    rules.save()
    first = Contest.objects.create(body=body, title="Group leader 2026", rules=rules)
    first.open_nominations(by=secretary)
    a = Candidate.add(first, by=secretary, name="Aileen Marsh", user=aileen)
    b = Candidate.add(first, by=secretary, name="Bryn Tolley", user=bryn)
    first.finalise_ballot(by=secretary)

    # --- Six proxies, approved before polling ------------------------------
    absent, holders = councillors[40:46], councillors[2:8]
    for principal, holder in zip(absent, holders, strict=True):
        ProxyAppointment.appoint(first, principal=principal, proxy=holder).decide(
            by=secretary, approve=True
        )

    # --- The first ballot, in the room -------------------------------------
    now = timezone.now()
    poll = first.schedule_poll(by=secretary, opens_at=now, closes_at=now + timedelta(hours=2))
    poll.open(by=secretary)
    present = [c for c in councillors if c not in absent][:44]
    for person in present:
        mark_in_person(poll.pk, person, by=secretary)
    for principal, holder in zip(absent, holders, strict=True):
        mark_in_person(poll.pk, principal, by=secretary, proxy=holder)
    poll.close(by=secretary)
    enter_paper_counts(poll, {str(a.pk): 26, str(b.pk): 24}, by=secretary)
    countersign_paper_counts(poll, by=observer)
    count_poll_task(poll.pk)
    first.declare(by=secretary)
    first.refresh_from_db()
    poll.refresh_from_db()
    assert [poll.result["names"][c] for c in poll.result["elected"]] == ["Aileen Marsh"]
    assert poll.result["ballots_counted"] == 50

    # --- A complaint, and the regional office's ruling ----------------------
    complainant = councillors[9]
    complaint = lodge_complaint(first, by=complainant, text="Proxy votes were used.")
    review_complaint(complaint, by=official)
    opens_at = timezone.now() + timedelta(days=3)
    ruling = issue_ruling(
        first,
        by=official,
        kind="quash_and_rerun",
        reason="Proxy voting is not allowed for a leadership ballot; re-run online.",
        complaint=complaint,
        amendments={"channel": Channel.ONLINE, "proxy_allowed": False},
        timetable=(opens_at, opens_at + timedelta(hours=8)),
    )
    first.refresh_from_db()
    assert first.state == ContestState.QUASHED
    rerun = ruling.rerun
    assert rerun.rerun_of == first
    assert rerun.rules.proxy_allowed is False and rerun.rules.channel == Channel.ONLINE
    assert rerun.rules.is_frozen
    assert sorted(rerun.standing_candidates().values_list("name", flat=True)) == [
        "Aileen Marsh", "Bryn Tolley",
    ]  # fmt: skip
    assert not ProxyAppointment.objects.filter(contest=rerun).exists()

    # --- The re-run, online, on time, without proxies -----------------------
    rerun_poll = rerun.current_poll()
    with time_machine.travel(rerun_poll.opens_at, tick=False):
        assert sweep().opened == [rerun_poll.pk]
    rerun_poll.refresh_from_db()
    assert rerun_poll.roll_size == 52
    ids = {c.name: c.pk for c in rerun.candidates.all()}
    with time_machine.travel(rerun_poll.opens_at + timedelta(hours=1), tick=False):
        # Every councillor votes; 27 for Bryn, 25 for Aileen.
        for n, person in enumerate(councillors):
            choice = "Bryn Tolley" if n % 2 or n >= 50 else "Aileen Marsh"
            cast_ballot(rerun_poll.pk, person, [ids[choice]])
        # A proxy holder from the first ballot cannot vote for the absent member now.
        from elections.exceptions import BallotRefused

        with pytest.raises(BallotRefused):
            cast_ballot(rerun_poll.pk, absent[0], [ids["Aileen Marsh"]], cast_by=holders[0])
    with time_machine.travel(rerun_poll.closes_at, tick=False):
        assert sweep(on_closed=count_poll_task).closed == [rerun_poll.pk]
    rerun.refresh_from_db()
    rerun.declare(by=secretary)
    rerun_poll.refresh_from_db()
    sheet = rerun_poll.result
    totals = {sheet["names"][c]: v for c, v in sheet["stages"][0]["totals"].items()}
    assert totals == {"Bryn Tolley": "27", "Aileen Marsh": "25"}
    assert [sheet["names"][c] for c in sheet["elected"]] == ["Bryn Tolley"]
    assert Ballot.objects.filter(poll=rerun_poll).count() == 52
    assert Participation.objects.filter(poll=rerun_poll).count() == 52

    # --- Everyone was told at each step -------------------------------------
    for person in councillors:
        kinds = Counter(Notification.objects.filter(user=person).values_list("kind", flat=True))
        assert kinds[NotificationKind.RESULT_DECLARED] == 2, person
        assert kinds[NotificationKind.RESULT_QUASHED] == 1
        assert kinds[NotificationKind.RERUN_ORDERED] == 1
        assert kinds[NotificationKind.BALLOT_OPEN] == 2
    assert Notification.objects.filter(
        user=complainant, kind=NotificationKind.RULING_ISSUED
    ).exists()
    assert Notification.objects.filter(
        user=official, kind=NotificationKind.COMPLAINT_RECEIVED
    ).exists()
    # Some were written with the clock moved days ahead: deliver as of then.
    deliver_pending(now=timezone.now() + timedelta(days=30))
    to_aileen = [m for m in mailoutbox if m.to == [aileen.email]]
    assert len(to_aileen) == Notification.objects.filter(user=aileen).count()
    assert any("quashed" in m.subject.lower() for m in to_aileen)

    # --- The record: the quashed result is still readable, marked quashed ----
    client.force_login(councillors[20])
    page = client.get(reverse("results", args=[first.pk])).content.decode()
    assert "quashed" in page.lower()
    assert "Aileen Marsh" in page
    contest_page = client.get(reverse("contest", args=[first.pk])).content.decode()
    assert reverse("contest", args=[rerun.pk]) in contest_page
    assert ruling.reason in client.get(reverse("contest_rulings", args=[first.pk])).content.decode()
    call_command("verify_audit")
