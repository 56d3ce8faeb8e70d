"""Benchmark: logged-in voters casting ballots against gunicorn on PostgreSQL.

    python bench/casting_bench.py [--voters 20000] [--levels 50,200] [--workers 4]
                                  [--smoke] [--json-out FILE]

Builds its own database (teller_bench_casting): one body of ``--voters`` members, an STV
contest with an open poll (opened by the model, so the roll is frozen as in production),
and a second open poll for the database reference. Every voter gets a session and a CSRF
secret written straight to the database. The voters are split between the concurrency
levels; each voter casts once, a ranked ballot, by posting the cast form to gunicorn from
the load generator (bench/loadgen.py, its own process).

At each level, in the same run, two references:

- the floor of the stack: the same gunicorn and voters, a view that only checks the
  session and returns 204 (bench/urls.py, never in production);
- the database's limit: the same rows (a Participation and an InboxBallot) written by raw
  psycopg in one transaction per ballot, with the same concurrency over a pool of
  connections no larger than gunicorn's.

The database's share of a cast comes from the Server-Timing header bench/settings.py adds.
Figures go to bench/results/casting.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common

# What the issue asks of casting at the highest level measured.
TARGET_FLOOR_SHARE = 0.6
TARGET_P99_MS = 250.0


def _build(args: argparse.Namespace) -> dict[str, Any]:
    from bench import world
    from elections.models import InboxBallot, Participation

    _, body = world.region_and_body()
    ids = world.members(body, args.voters)
    _, poll = world.open_contest(body, title="Casting bench", candidates=args.candidates)
    _, ref_poll = world.open_contest(body, title="Database reference", candidates=2)
    voters = world.sessions(ids)
    rng = random.Random(2026)
    candidate_ids = [o.id for o in poll.ballot_paper().options]

    def ranking() -> list[int]:
        order = rng.sample(candidate_ids, len(candidate_ids))
        return order[: rng.randint(1, len(order))]

    common.settle_database()
    part = Participation._meta.db_table
    inbox = InboxBallot._meta.db_table
    # Table names come from the models, never from input.
    return {
        "poll": poll.pk,
        "ref_poll": ref_poll.pk,
        "voters": voters,
        "forms": [world.ranked_form(poll, v, ranking()) for v in voters],
        # The rows casting writes, as casting writes them (see services/casting.py).
        "sql_participation": f"INSERT INTO {part} (poll_id, voter_id, channel, cast_by_id) "  # noqa: S608
        "VALUES (%s, %s, 'online', %s)",
        "sql_inbox": f"INSERT INTO {inbox} (id, poll_id, choices, receipt_digest) "  # noqa: S608
        "VALUES (gen_random_uuid(), %s, %s::jsonb, %s)",
    }


def _split(items: list[Any], parts: int) -> list[list[Any]]:
    """`items` in `parts` runs of nearly equal length, none left over."""
    bounds = [len(items) * i // parts for i in range(parts + 1)]
    return [items[bounds[i] : bounds[i + 1]] for i in range(parts)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voters", type=int, default=20_000, help="split between the levels")
    p.add_argument("--levels", default="50,200", help="concurrent voters, comma-separated")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    p.add_argument(
        "--threads", type=int, default=1,
        help="threads per gunicorn worker (each request still on a connection of its own)",
    )  # fmt: skip
    p.add_argument("--candidates", type=int, default=8)
    p.add_argument("--database", default="teller_bench_casting")
    p.add_argument("--smoke", action="store_true", help="a few hundred voters, quickly")
    p.add_argument("--time-limit", type=float, default=300, help="seconds per run, at most")
    p.add_argument("--slices", type=int, default=5, help="turns each run is taken in")
    p.add_argument("--open-share", type=float, default=0.2, help="voters kept for the open loop")
    p.add_argument(
        "--open-load", type=float, default=0.7, help="open loop's rate, of the top level's"
    )
    p.add_argument("--redis-url", default=common.DEFAULT_REDIS, help="the cache, as in production")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    if args.smoke:
        args.voters, args.levels, args.workers, args.slices = 375, "10,30", 2, 2
    levels = [int(x) for x in args.levels.split(",")]

    db_url = common.database_url(args.database)
    started = time.perf_counter()
    common.recreate_database(db_url)
    # Redis as production has it: the cache that holds the rate limits' counts. No worker
    # reads the queue; what setup queues there is flushed before the clock starts.
    common.setup_django(db_url, REDIS_URL=args.redis_url)
    world = _build(args)
    setup_s = time.perf_counter() - started
    print(
        f"Casting: {args.voters} voters, {args.candidates} candidates (STV), levels {levels}, "
        f"gunicorn {args.workers} workers x {args.threads} threads; set up in {setup_s:.1f} s"
    )

    from django.db import connection

    from elections.models import InboxBallot, Participation

    common.flush_redis(args.redis_url)
    env = common.server_env(db_url, REDIS_URL=args.redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="teller-bench-casting-"))
    report: dict[str, Any] = {
        "voters": args.voters,
        "candidates": args.candidates,
        "gunicorn": {"workers": args.workers, "threads": args.threads},
        "slices": args.slices,
        "levels": {},
    }
    failures: list[str] = []
    with common.gunicorn(
        env, workers=args.workers, threads=args.threads, log=workdir / "gunicorn.log"
    ) as port:
        base = f"http://127.0.0.1:{port}"
        cast_url = f"{base}/polls/{world['poll']}/ballot/"
        # Warm every worker (imports, templates, connections) on pages that cast nothing.
        warm = [{"cookies": v.cookies} for v in world["voters"][:200]]
        common.run_load(
            {"kind": "http", "url": cast_url, "concurrency": 8, "items": warm},
            workdir / "warm",
        )
        pairs = list(zip(world["voters"], world["forms"], strict=True))
        # Some voters are kept for the open loop at the end; the rest split between levels.
        reserved = int(len(pairs) * args.open_share)
        open_pairs, pairs = pairs[:reserved], pairs[reserved:]
        for level, share in zip(levels, _split(pairs, len(levels)), strict=True):
            http = {
                "kind": "http", "concurrency": level, "time_limit": args.time_limit / args.slices,
            }  # fmt: skip
            # The three runs go in turns, a slice of the voters each, so that other work
            # on the machine that comes and goes weighs on all three alike.
            outs: dict[str, list[dict[str, Any]]] = {"floor": [], "cast": [], "database": []}
            for n, part in enumerate(_split(share, args.slices)):
                outs["floor"].append(
                    common.run_load(
                        {
                            **http,
                            "url": f"{base}/bench/floor/",
                            "items": [{"cookies": v.cookies} for v, _ in part],
                        },
                        workdir / f"floor-{level}-{n}",
                        cpu=True,
                    )
                )
                outs["cast"].append(
                    common.run_load(
                        {
                            **http,
                            "url": cast_url,
                            "method": "POST",
                            "items": [{"cookies": v.cookies, "data": f} for v, f in part],
                        },
                        workdir / f"cast-{level}-{n}",
                        cpu=True,
                    )
                )
                statements = [
                    [
                        [world["sql_participation"], [world["ref_poll"], v.id, v.id]],
                        [
                            world["sql_inbox"],
                            [world["ref_poll"], json.dumps([1, 2]), f"{v.id:064x}"],
                        ],
                    ]
                    for v, _ in part
                ]
                outs["database"].append(
                    common.run_load(
                        {
                            "kind": "sql",
                            "dsn": db_url,
                            "concurrency": level,
                            # As many connections as gunicorn holds: one per worker thread.
                            "connections": args.workers * args.threads,
                            "time_limit": args.time_limit / args.slices,
                            "items": statements,
                        },
                        workdir / f"sql-{level}-{n}",
                    )
                )
            floor, cast, database = (
                common.summarise(common.merge_loads(outs[k])) for k in ("floor", "cast", "database")
            )
            cast["of_floor"] = round(cast["per_second"] / floor["per_second"], 3)
            cast["of_database"] = round(cast["per_second"] / database["per_second"], 3)
            report["levels"][str(level)] = {"cast": cast, "floor": floor, "database": database}
            print(f"\n{level} concurrent voters ({len(share)} each):")
            for name, fig in (("cast", cast), ("floor", floor), ("database", database)):
                extra = ""
                if "db_share" in fig:
                    extra = (
                        f"  server {fig['server_ms_mean']} ms, db {fig['db_ms_mean']} ms "
                        f"({fig['db_share']:.0%}), {fig['queries_mean']} queries"
                    )
                print(
                    f"  {name:<9} {fig['per_second']:8.1f}/s  p50 {fig['p50_ms']:7.1f} ms  "
                    f"p99 {fig['p99_ms']:7.1f} ms  {fig['statuses']}{extra}"
                )
            print(
                f"  cast is {cast['of_floor']:.0%} of the floor's rate, "
                f"{cast['of_database']:.0%} of the database's"
            )
            for name, fig in (("cast", cast), ("floor", floor)):
                if fig.get("cpu_ms"):
                    spent = ", ".join(f"{k} {v} ms" for k, v in sorted(fig["cpu_ms"].items()))
                    print(f"  CPU a {name}: {spent}")
            answered = cast["statuses"].get("200", 0)
            common.check(
                cast["statuses"] == {"200": len(share)},
                f"all {len(share)} voters at {level} cast within the time limit, each "
                f"answered 200 ({answered} were)",
                failures,
            )

        if open_pairs:
            # Voters arriving at a steady rate below what casting can take, at most the top
            # level in flight: the latency a voter sees when the machine is not saturated.
            top_rate = report["levels"][str(levels[-1])]["cast"]["per_second"]
            rate = max(1.0, args.open_load * top_rate)
            opened = common.summarise(
                common.run_load(
                    {
                        "kind": "http", "url": cast_url, "method": "POST",
                        "concurrency": levels[-1], "rate": rate,
                        "time_limit": args.time_limit,
                        "items": [{"cookies": v.cookies, "data": f} for v, f in open_pairs],
                    },
                    workdir / "open",
                )
            )  # fmt: skip
            opened["offered_per_second"] = round(rate, 1)
            report["open"] = opened
            print(
                f"\nOpen loop: {len(open_pairs)} voters arriving at {rate:.1f}/s "
                f"({args.open_load:.0%} of the rate at {levels[-1]}), at most {levels[-1]} "
                f"in flight:\n  cast {opened['per_second']:8.1f}/s  p50 {opened['p50_ms']:7.1f} ms"
                f"  p99 {opened['p99_ms']:7.1f} ms  {opened['statuses']}"
            )

    cast_ok = sum(lv["cast"]["statuses"].get("200", 0) for lv in report["levels"].values())
    cast_ok += report.get("open", {}).get("statuses", {}).get("200", 0)
    written = Participation.objects.filter(poll_id=world["poll"]).count()
    inboxed = InboxBallot.objects.filter(poll_id=world["poll"]).count()
    connection.close()
    print()
    common.check(
        written == cast_ok == inboxed,
        f"{cast_ok} receipts, {written} participations, {inboxed} ballots in the inbox",
        failures,
    )
    top = report["levels"][str(levels[-1])]
    common.check(
        top["cast"]["of_floor"] >= TARGET_FLOOR_SHARE,
        f"at {levels[-1]} voters casting runs at {top['cast']['of_floor']:.0%} of the floor "
        f"(target {TARGET_FLOOR_SHARE:.0%})",
        failures,
    )
    common.check(
        top["cast"]["p99_ms"] < TARGET_P99_MS,
        f"at {levels[-1]} voters p99 is {top['cast']['p99_ms']} ms (target {TARGET_P99_MS:g})",
        failures,
    )
    if "open" in report:
        common.check(
            report["open"]["p99_ms"] < TARGET_P99_MS,
            f"voters arriving at {report['open']['offered_per_second']}/s, at most "
            f"{levels[-1]} in flight: p99 is {report['open']['p99_ms']} ms "
            f"(target {TARGET_P99_MS:g})",
            failures,
        )
    report["db_share"] = top["cast"].get("db_share")
    report["missed"] = failures
    report["setup_s"] = round(setup_s, 1)
    common.write_results("casting", report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
