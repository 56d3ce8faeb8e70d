"""Voters in a process of their own, for the PostgreSQL restart test.

`cast_ballot` works on Django's default database, so the voters run here,
with DATABASE_URL pointing at the throwaway cluster the test restarts:

    python -m tests.faults.voters setup N            -> {"poll": id, "voters": [ids], "choice": id}
    python -m tests.faults.voters vote IN OUT THREADS PACE
    python -m tests.faults.voters retry IN OUT

`vote` casts one ballot for each voter listed in IN ({"world": ...,
"voters": [ids], "later": [ids], "gate": path}), THREADS at a time, each
thread with its own database connection, the "later" ones only once the
gate file exists; it writes each voter's outcome to OUT: the receipt they
were shown, or the error they were shown instead. Each attempt is bracketed the way Django
brackets a request (`close_old_connections`), so a connection broken by the
restart is replaced, as a web worker's would be.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import timedelta
from typing import Any


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def setup(n: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User
    from elections import notifications
    from elections.models import Body, Candidate, Contest, Membership, Region, RuleSet

    call_command("migrate", verbosity=0)
    # The notices of opening the poll are written but not sent: nobody reads
    # them here, and building hundreds of emails would only slow the test.
    notifications._enqueue_delivery = lambda: None
    defaults = RuleSet.objects.create(name="Defaults")
    region = Region.objects.create(name="Faults", slug="faults", default_rules=defaults)
    body = Body.objects.create(region=region, name="Restart group", slug="restart")
    secretary = User.objects.create_user("secretary@faults.example", None)
    Membership.objects.create(body=body, user=secretary, role=Membership.Role.SECRETARY)
    voters = User.objects.bulk_create(
        User(email=f"voter{i}@faults.example", full_name=f"Voter {i}") for i in range(n)
    )
    Membership.objects.bulk_create(Membership(body=body, user=v) for v in voters)
    rules = defaults.copy(name="Leader")
    rules.save()
    contest = Contest.objects.create(body=body, title="Leader", rules=rules)
    contest.open_nominations(by=secretary)
    first = Candidate.add(contest, by=secretary, name="Ann Archer")
    Candidate.add(contest, by=secretary, name="Ben Baker")
    contest.finalise_ballot(by=secretary)
    now = timezone.now()
    poll = contest.schedule_poll(
        by=secretary, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=2)
    )
    poll.open(by=secretary)
    return {"poll": poll.pk, "voters": [v.pk for v in voters], "choice": first.pk}


def _cast(poll_id: int, voter_id: int, choice: int) -> dict[str, Any]:
    from django.db import close_old_connections

    from accounts.models import User
    from elections.exceptions import BallotRefused
    from elections.services.casting import cast_ballot

    close_old_connections()  # as at the start of a request
    started = time.time()
    try:
        voter = User.objects.get(pk=voter_id)
        receipt = cast_ballot(poll_id, voter, [choice])
        outcome: dict[str, Any] = {"receipt": receipt}
    except BallotRefused as refusal:
        outcome = {"refused": refusal.code}
    except Exception as error:  # what the voter sees as "that failed, try again"
        outcome = {"failed": f"{type(error).__name__}: {error}"[:300]}
    finally:
        close_old_connections()  # as at the end of a request
    return {"voter": voter_id, "started": started, "ended": time.time(), **outcome}


def vote(
    world: dict[str, Any],
    voter_ids: list[int],
    threads: int,
    pace: float,
    *,
    later: list[int] | None = None,
    gate: str | None = None,
) -> list[Any]:
    """Cast for `voter_ids` now, then (if given) for `later` once the file
    `gate` exists: the test opens the gate when the database is back, so
    that some votes are certain to be cast after the restart."""
    from django.db import connection

    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()

    def work(mine: list[int], wait: bool) -> None:
        while wait and gate and not os.path.exists(gate):
            time.sleep(0.05)
        for voter_id in mine:
            outcome = _cast(world["poll"], voter_id, world["choice"])
            with lock:
                outcomes.append(outcome)
            time.sleep(pace)
        connection.close()

    workers = [
        threading.Thread(target=work, args=(ids[i::threads], wait))
        for ids, wait in ((voter_ids, False), (later or [], True))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(outcomes, key=lambda o: o["started"])


def main(argv: list[str]) -> None:
    _django()
    command = argv[0]
    if command == "setup":
        print(json.dumps(setup(int(argv[1]))))
        return
    with open(argv[1]) as given:
        job = json.load(given)
    if command == "vote":
        result = vote(
            job["world"], job["voters"], int(argv[3]), float(argv[4]),
            later=job.get("later"), gate=job.get("gate"),
        )  # fmt: skip
    elif command == "retry":
        result = vote(job["world"], job["voters"], 4, 0.0)
    else:
        raise SystemExit(f"unknown command {command!r}")
    with open(argv[2], "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1:])
