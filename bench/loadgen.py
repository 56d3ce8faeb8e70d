"""The load generator: a small asyncio client, run in a process of its own.

    python -m bench.loadgen JOB.json OUT.json

A job is a list of items and a concurrency: that many coroutines each take the next item
and send it, until the items run out (a closed loop: each simulated voter waits for its
answer before the next voter behind it starts). With ``rate``, an open loop instead: the
items arrive at that many a second, at most ``concurrency`` in flight, and each latency
counts from the item's arrival. Two kinds of job:

- ``http``: one request per item to gunicorn on 127.0.0.1, the item's cookies in a Cookie
  header and its form, if any, posted urlencoded. The Server-Timing header the benchmark
  settings add (time in Django, time in the database) is summed over the responses.
- ``sql``: one transaction per item through raw psycopg, the item's statements in order,
  over a pool of at most ``connections`` connections shared by the coroutines.

Each item is sent once; the run also stops at ``time_limit`` seconds whatever is left.
The output has every latency, the status counts and the sums, for the caller to summarise.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _timing(header: str | None) -> tuple[float, float, int]:
    """(app ms, db ms, queries) from a Server-Timing header, zeros if absent."""
    app = db = 0.0
    queries = 0
    for part in (header or "").split(","):
        name, _, dur = part.strip().partition(";dur=")
        if name == "app":
            app = float(dur)
        elif name == "db":
            db = float(dur)
        elif name == "queries":
            queries = int(float(dur))
    return app, db, queries


async def run_http(job: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    items: list[dict[str, Any]] = job["items"]
    url = job["url"]
    method = job.get("method", "GET")
    deadline = time.monotonic() + job.get("time_limit", 600)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    sums = {"app_ms": 0.0, "db_ms": 0.0, "queries": 0}
    errors: Counter[str] = Counter()
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the load generator only targets this machine, not {host}")
    # One connection per simulated voter; gunicorn's sync workers close each one.
    connector = aiohttp.TCPConnector(limit=job["concurrency"], force_close=job.get("close", True))
    timeout = aiohttp.ClientTimeout(total=60)
    next_item = iter(items)

    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:

        async def send(item: dict[str, Any], since: float) -> None:
            """One request; its latency counts from ``since`` (when it was due)."""
            cookies = "; ".join(f"{k}={v}" for k, v in item.get("cookies", {}).items())
            headers = {"Cookie": cookies} if cookies else {}
            try:
                async with session.request(
                    method, item.get("url", url), data=item.get("data"), headers=headers,
                    allow_redirects=False,
                ) as response:  # fmt: skip
                    await response.read()
                    elapsed = time.perf_counter() - since
                    statuses[response.status] += 1
                    app, db, queries = _timing(response.headers.get("Server-Timing"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] += 1
                return
            latencies.append(elapsed)
            sums["app_ms"] += app
            sums["db_ms"] += db
            sums["queries"] += queries

        async def voter() -> None:
            for item in next_item:
                if time.monotonic() > deadline:
                    return
                await send(item, time.perf_counter())

        async def arrivals(rate: float) -> None:
            # An open loop: voters arrive at a steady rate whether or not earlier ones
            # have been answered, at most `concurrency` in flight. Each latency counts
            # from when the voter arrived, so time spent waiting for a slot is in it.
            slots = asyncio.Semaphore(job["concurrency"])
            tasks = []

            async def arrive(item: dict[str, Any], due: float) -> None:
                async with slots:
                    await send(item, due)

            first = time.perf_counter()
            for i, item in enumerate(items):
                due = first + i / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
                if time.monotonic() > deadline:
                    break
                tasks.append(asyncio.create_task(arrive(item, due)))
            await asyncio.gather(*tasks)

        started = time.perf_counter()
        if job.get("rate"):
            await arrivals(job["rate"])
        else:
            await asyncio.gather(*(voter() for _ in range(job["concurrency"])))
        elapsed = time.perf_counter() - started
    return {
        "elapsed": elapsed,
        "latencies": latencies,
        "statuses": dict(statuses),
        "errors": dict(errors),
        **sums,
    }


async def run_sql(job: dict[str, Any]) -> dict[str, Any]:
    import psycopg

    items: list[list[list[Any]]] = job["items"]  # per item: [[sql, params], ...]
    deadline = time.monotonic() + job.get("time_limit", 600)
    pool: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()
    for _ in range(min(job["connections"], job["concurrency"])):
        pool.put_nowait(await psycopg.AsyncConnection.connect(job["dsn"]))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    next_item = iter(items)

    async def voter() -> None:
        for statements in next_item:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            conn = await pool.get()
            try:
                async with conn.transaction():
                    for sql, params in statements:
                        await conn.execute(sql, params)
            except psycopg.Error as exc:
                errors[type(exc).__name__] += 1
                continue
            finally:
                pool.put_nowait(conn)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(voter() for _ in range(job["concurrency"])))
    elapsed = time.perf_counter() - started
    while not pool.empty():
        await pool.get_nowait().close()
    return {
        "elapsed": elapsed,
        "latencies": latencies,
        "statuses": {"committed": len(latencies)},
        "errors": dict(errors),
    }


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    runner = run_http if job["kind"] == "http" else run_sql
    result = asyncio.run(runner(job))
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
