"""Benchmark: the member's pages (home, past contests, ballot, result): queries, rate, latency.

    python bench/pages_bench.py [--sizes 10:50,1000:5000] [--requests 1000]
                                [--concurrency 20] [--smoke] [--json-out FILE]

Builds its own database (teller_bench_pages) with one body per size, each ``contests``
contests and ``members`` members (``--sizes contests:members,...``). In each body an STV
contest has an open poll (the ballot page) and another was voted, counted and declared
(the result page), both through the models' own transitions; the other contests are
written in bulk in every state, half of them with a poll: the member's home lists the
open ones and the latest of the others, and the past contests page the decided ones, 25 a
page.

Two measurements of each page, for a member of each body:

- queries: through Django's test client in this process, with CaptureQueriesContext, so
  a count that grows with the contests (an N+1) shows as the sizes grow;
- requests per second and latency: through gunicorn on 127.0.0.1 from the load generator,
  each request a different member, against the floor of the stack (bench/urls.py) at the
  same concurrency as the reference.

Figures go to bench/results/pages.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

PAGES = ("home", "past", "ballot", "result")


def _filler(body: Any, n: int) -> None:
    """``n`` contests in every state, half with a poll, written in bulk."""
    from django.utils import timezone

    from elections.models import Contest, ContestState, Poll, PollStatus, RuleSet

    states = [
        ContestState.DRAFT, ContestState.NOMINATIONS, ContestState.READY,
        ContestState.POLLING, ContestState.CLOSED, ContestState.DECLARED,
    ]  # fmt: skip
    now = timezone.now()
    rules = RuleSet.objects.bulk_create(
        [RuleSet(name=f"Filler {i}", frozen_at=now) for i in range(n)]
    )
    contests = Contest.objects.bulk_create(
        [
            Contest(
                body=body,
                title=f"Contest {i}",
                rules=rules[i],
                state=states[i % len(states)],
                declared_at=now if states[i % len(states)] == ContestState.DECLARED else None,
            )
            for i in range(n)
        ]
    )
    status = {
        ContestState.POLLING: PollStatus.OPEN,
        ContestState.CLOSED: PollStatus.CLOSED,
        ContestState.DECLARED: PollStatus.COUNTED,
        ContestState.READY: PollStatus.SCHEDULED,
    }
    Poll.objects.bulk_create(
        [
            Poll(
                contest=c,
                opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=1),
                status=status[c.state],
            )
            for i, c in enumerate(contests)
            if c.state in status and i % 2 == 0
        ]
    )


def _build(contests: int, members: int, slug: str) -> dict[str, Any]:
    """One body of the given size; returns its pages' paths and the members' sessions."""
    from bench import world
    from elections.services.casting import cast_ballot

    _, body = world.region_and_body(slug)
    ids = world.members(body, members, prefix=f"{slug}-")
    _, ballot_poll = world.open_contest(body, title=f"{slug} ballot", candidates=10)
    declared, poll = world.open_contest(body, title=f"{slug} result", candidates=10)
    rng = random.Random(contests)
    options = [o.id for o in poll.ballot_paper().options]
    for user_id in rng.sample(ids, min(len(ids), 60)):
        from accounts.models import User

        cast_ballot(poll.pk, User(pk=user_id), rng.sample(options, rng.randint(1, 10)))
    poll.close(by=None)
    poll.count(by=None, seed="bench")
    declared.refresh_from_db()
    declared.declare(by=None)
    _filler(body, max(0, contests - 2))
    # A sample of members to log in as: enough that no two requests in a row share one.
    voters = world.sessions(rng.sample(ids, min(len(ids), 400)))
    return {
        "paths": {
            "home": "/",
            "past": "/contests/past/",
            "ballot": f"/polls/{ballot_poll.pk}/ballot/",
            "result": f"/contests/{declared.pk}/results/",
        },
        "voters": voters,
    }


def _query_counts(site: dict[str, Any]) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts: dict[str, int] = {}
    voter = site["voters"][0]
    for page, path in site["paths"].items():
        client = Client()
        for name, value in voter.cookies.items():
            client.cookies[name] = value
        client.get(path)  # the first request may warm caches; count the second
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{page} answered {response.status_code}")
        counts[page] = len(queries.captured_queries)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10:50,1000:5000", help="contests:members,...")
    p.add_argument("--requests", type=int, default=1000, help="per page and size")
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--database", default="teller_bench_pages")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--time-limit", type=float, default=120, help="seconds per run, at most")
    p.add_argument("--redis-url", default=common.DEFAULT_REDIS, help="the cache, as in production")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    if args.smoke:
        args.sizes, args.requests, args.concurrency, args.workers = "10:50,60:200", 60, 5, 2
    sizes = [tuple(int(x) for x in s.split(":")) for s in args.sizes.split(",")]

    db_url = common.database_url(args.database)
    started = time.perf_counter()
    common.recreate_database(db_url)
    # Redis as production has it: the cache that holds the rate limits' counts. No worker
    # reads the queue; what setup queues there is flushed before the clock starts.
    common.setup_django(db_url, REDIS_URL=args.redis_url)
    sites = {f"{c}": _build(c, m, f"size{c}") for c, m in sizes}
    common.settle_database()
    setup_s = time.perf_counter() - started
    print(f"Pages: sizes {sizes} (contests:members); set up in {setup_s:.1f} s")

    report: dict[str, Any] = {"sizes": {}, "concurrency": args.concurrency}
    failures: list[str] = []
    print("\nQueries per page (test client, in process):")
    for (contests, members), (key, site) in zip(sizes, sites.items(), strict=True):
        counts = _query_counts(site)
        report["sizes"][key] = {"contests": contests, "members": members, "queries": counts}
        print(f"  {contests:>5} contests, {members:>6} members: {counts}")
    first, last = (report["sizes"][k]["queries"] for k in (next(iter(sites)), list(sites)[-1]))
    for page in PAGES:
        common.check(
            first[page] == last[page],
            f"{page}: {first[page]} queries at {sizes[0][0]} contests, "
            f"{last[page]} at {sizes[-1][0]}",
            failures,
        )
    from django.db import connection

    connection.close()

    workdir = Path(tempfile.mkdtemp(prefix="teller-bench-pages-"))
    common.flush_redis(args.redis_url)
    env = common.server_env(db_url, REDIS_URL=args.redis_url)
    print(f"\nThrough gunicorn ({args.workers} workers), {args.concurrency} concurrent members:")
    with common.gunicorn(env, workers=args.workers, log=workdir / "gunicorn.log") as port:
        base = f"http://127.0.0.1:{port}"
        for key, site in sites.items():
            voters = site["voters"]

            def items(n: int, voters: list[Any] = voters) -> list[dict[str, Any]]:
                return [{"cookies": voters[i % len(voters)].cookies} for i in range(n)]

            common.run_load(  # warm the workers
                {"kind": "http", "url": base + "/", "concurrency": 4, "items": items(40)},
                workdir / "warm",
            )
            runs: dict[str, Any] = {}
            for page, path in [("floor", "/bench/floor/"), *site["paths"].items()]:
                job = {
                    "kind": "http", "url": base + path, "concurrency": args.concurrency,
                    "time_limit": args.time_limit, "items": items(args.requests),
                }  # fmt: skip
                runs[page] = common.summarise(common.run_load(job, workdir / f"{key}-{page}"))
                fig = runs[page]
                ok = set(fig["statuses"]) <= {"200", "204"}
                common.check(ok, f"{page} at {key} contests: {fig['statuses']}", failures)
            for page in PAGES:
                runs[page]["of_floor"] = round(
                    runs[page]["per_second"] / runs["floor"]["per_second"], 3
                )
            report["sizes"][key]["http"] = runs
            print(f"  {key} contests:")
            for page, fig in runs.items():
                ratio = f"  {fig['of_floor']:.0%} of floor" if "of_floor" in fig else ""
                print(
                    f"    {page:<7} {fig['per_second']:8.1f}/s  p50 {fig['p50_ms']:7.1f} ms  "
                    f"p99 {fig['p99_ms']:7.1f} ms  server {fig.get('server_ms_mean')} ms, "
                    f"{fig.get('queries_mean')} queries{ratio}"
                )
    report["missed"] = failures
    report["setup_s"] = round(setup_s, 1)
    common.write_results("pages", report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
