"""Where a cast's time goes: casts and floor requests through Django in this process.

    python bench/casting_profile.py [--voters 2000] [--batch 100] [--profile [--top 40]]
                                    [--smoke] [--json-out FILE]

The casting benchmark (bench/casting_bench.py) measures rates through gunicorn; this one
says what a single request costs, without HTTP, workers or a load generator in the way.
Every request goes through Django's WSGI handler, one at a time, with the bench settings'
middleware (the floor view included). Casts and floor requests are taken in turns, a
batch of each, so that other work on the machine weighs on both alike; for each, the
CPU of this process and of its PostgreSQL backend (from /proc) is divided by the
requests. `--profile` runs the casts again under cProfile and prints the top functions.

The first cast on the poll goes the full way and leaves the paper known; the rest are
what most of an election's casts are (services/casting.py, `cast_on_known_paper`).
Figures go to bench/results/casting_profile.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common


def _environ(
    method: str, path: str, cookies: dict[str, str], form: dict[str, Any] | None
) -> dict[str, Any]:
    body = urlencode(form).encode() if form else b""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
    }  # fmt: skip
    if form:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _ask(sql: str) -> Any:
    """The one value `sql` answers, from this process's database connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _backend_cpu() -> float:
    """CPU seconds this process's PostgreSQL backend has used so far."""
    return common.cpu_seconds(_ask("SELECT pg_backend_pid()"))


def _wal_position() -> int:
    """How far PostgreSQL's write-ahead log has been written, in bytes (the whole
    server's: nothing else writes while the profile runs)."""
    return int(_ask("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voters", type=int, default=2000, help="casts measured (as many floors)")
    p.add_argument("--batch", type=int, default=100, help="requests of each kind per turn")
    p.add_argument("--profile", action="store_true", help="then cProfile as many casts again")
    p.add_argument("--top", type=int, default=40, help="functions the profile prints")
    p.add_argument("--database", default="teller_bench_casting_profile")
    p.add_argument("--redis-url", default=common.DEFAULT_REDIS, help="the cache, as in production")
    p.add_argument("--smoke", action="store_true", help="a few hundred voters, quickly")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)
    if args.smoke:
        # CPU from /proc counts in 10 ms ticks: 400 floor requests give PostgreSQL's
        # part (about 0.1 ms each) several ticks, never none.
        args.voters, args.batch = 400, 100

    db_url = common.database_url(args.database)
    common.recreate_database(db_url)
    common.setup_django(db_url, REDIS_URL=args.redis_url)
    common.flush_redis(args.redis_url)

    from django.core.handlers.wsgi import WSGIHandler

    from bench import world

    _, body = world.region_and_body()
    # One voter to leave the paper known, then the measured casts, then the profiled ones.
    wanted = 1 + args.voters * (2 if args.profile else 1)
    ids = world.members(body, wanted)
    _, poll = world.open_contest(body, title="Casting profile", candidates=8)
    voters = world.sessions(ids)
    rng = random.Random(2026)
    options = [o.id for o in poll.ballot_paper().options]
    forms = [world.ranked_form(poll, v, rng.sample(options, 5)) for v in voters]
    common.settle_database()
    cast_path = f"/polls/{poll.pk}/ballot/"
    handler = WSGIHandler()
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def run(method: str, path: str, requests: Iterable[tuple[Any, dict | None]]) -> None:
        for voter, form in requests:
            response = handler(_environ(method, path, voter.cookies, form), start_response)
            b"".join(response)
            response.close()

    def floors(part: list[Any]) -> None:
        run("GET", "/bench/floor/", ((v, None) for v in part))

    def casts(part: list[Any], part_forms: list[dict]) -> None:
        run("POST", cast_path, zip(part, part_forms, strict=True))

    # Warm up: imports, templates, the connection; the first cast leaves the paper known.
    floors(voters[:50])
    casts(voters[:1], forms[:1])
    statuses.clear()

    spent = {"floor": [0.0, 0.0, 0], "cast": [0.0, 0.0, 0]}

    def timed(name: str, go: Callable[[], None]) -> None:
        process, backend, wal = time.process_time(), _backend_cpu(), _wal_position()
        go()
        spent[name][0] += time.process_time() - process
        spent[name][1] += _backend_cpu() - backend
        spent[name][2] += _wal_position() - wal

    measured = range(1, 1 + args.voters)
    for at in range(measured.start, measured.stop, args.batch):
        part = slice(at, min(at + args.batch, measured.stop))
        timed("floor", partial(floors, voters[part]))
        timed("cast", partial(casts, voters[part], forms[part]))

    def ms(seconds: float) -> float:
        return round(seconds / args.voters * 1000, 3)

    per = {
        name: {
            "django_ms": ms(d),
            "postgres_ms": ms(pg),
            "total_ms": ms(d + pg),
            "wal_bytes": round(wal / args.voters),
        }
        for name, (d, pg, wal) in spent.items()
    }
    report: dict[str, Any] = {
        "voters": args.voters,
        "batch": args.batch,
        "statuses": dict(statuses),
        **per,
        "cast_over_floor": round(per["cast"]["total_ms"] / per["floor"]["total_ms"], 2),
    }
    print(f"Casting profile: {args.voters} casts and {args.voters} floor requests in process")
    for name in ("floor", "cast"):
        fig = per[name]
        print(
            f"  {name:<5} {fig['total_ms']:6.2f} ms of CPU a request: "
            f"Django {fig['django_ms']:.2f}, PostgreSQL {fig['postgres_ms']:.2f}; "
            f"{fig['wal_bytes']:,} bytes of WAL"
        )
    print(f"  a cast costs {report['cast_over_floor']}x the floor")
    report["missed"] = []
    common.check(
        statuses == {"200 OK": args.voters, "204 No Content": args.voters},
        f"every cast answered 200 and every floor request 204 ({dict(statuses)})",
        report["missed"],
    )

    if args.profile:
        again = slice(measured.stop, measured.stop + args.voters)
        profiler = cProfile.Profile()
        profiler.enable()
        casts(voters[again], forms[again])
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())

    common.write_results("casting_profile", report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
