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

The client shares the machine's two cores with gunicorn and PostgreSQL, so what it
spends is taken from what it measures. An HTTP library (aiohttp, before) spent 0.3-0.4
ms of CPU a request, a sixth of a cast's whole cost. So each request is written whole,
built before the clock starts, on a connection of its own (as gunicorn's sync workers
want: they close every connection after its answer), and read to the close, on uvloop's
event loop: 0.15-0.2 ms.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import uvloop

# Every answer must come within this, or it counts as an error.
ANSWER_TIMEOUT_S = 60


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


def http_request(method: str, url: str, item: dict[str, Any]) -> bytes:
    """The whole HTTP/1.1 request for `item`, asking the server to close after it."""
    target = urlsplit(item.get("url", url))
    path = target.path or "/"
    if target.query:
        path = f"{path}?{target.query}"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {target.netloc}", "Connection: close"]
    cookies = "; ".join(f"{k}={v}" for k, v in item.get("cookies", {}).items())
    if cookies:
        lines.append(f"Cookie: {cookies}")
    body = b""
    if item.get("data") is not None:
        body = urlencode(item["data"]).encode()
        lines.append("Content-Type: application/x-www-form-urlencoded")
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join([*lines, "", ""]).encode("latin-1") + body


def parse_response(raw: bytes) -> tuple[int, str | None]:
    """(status, Server-Timing header or None) of a whole HTTP/1.1 response."""
    head = raw.partition(b"\r\n\r\n")[0]
    status_line, *headers = head.split(b"\r\n")
    if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
        raise ValueError(f"not an HTTP response: {status_line[:40]!r}")
    timing = None
    for line in headers:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"server-timing":
            timing = value.strip().decode("latin-1")
    return int(status_line[9:12]), timing


class _Exchange(asyncio.Protocol):
    """One request on a connection of its own; the answer is all that arrives before
    the server closes it."""

    def __init__(self, request: bytes, answer: asyncio.Future[bytes]) -> None:
        self.request = request
        self.answer = answer
        self.chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer.done():
            return
        if exc is None:
            self.answer.set_result(b"".join(self.chunks))
        else:
            self.answer.set_exception(exc)


async def run_http(job: dict[str, Any]) -> dict[str, Any]:
    url = job["url"]
    method = job.get("method", "GET")
    target = urlsplit(url)
    host, port = target.hostname, target.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the load generator only targets this machine, not {host}")
    requests = [http_request(method, url, item) for item in job["items"]]
    deadline = time.monotonic() + job.get("time_limit", 600)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    sums = {"app_ms": 0.0, "db_ms": 0.0, "queries": 0}
    errors: Counter[str] = Counter()
    loop = asyncio.get_running_loop()

    async def send(request: bytes, since: float) -> None:
        """One request; its latency counts from ``since`` (when it was due)."""
        answer: asyncio.Future[bytes] = loop.create_future()
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                await loop.create_connection(lambda: _Exchange(request, answer), host, port)
                raw = await answer
            elapsed = time.perf_counter() - since
            status, timing = parse_response(raw)
        except (OSError, TimeoutError, ValueError) as exc:
            errors[type(exc).__name__] += 1
            return
        latencies.append(elapsed)
        statuses[status] += 1
        app, db, queries = _timing(timing)
        sums["app_ms"] += app
        sums["db_ms"] += db
        sums["queries"] += queries

    next_request = iter(requests)

    async def voter() -> None:
        for request in next_request:
            if time.monotonic() > deadline:
                return
            await send(request, time.perf_counter())

    async def arrivals(rate: float) -> None:
        # An open loop: voters arrive at a steady rate whether or not earlier ones
        # have been answered, at most `concurrency` in flight. Each latency counts
        # from when the voter arrived, so time spent waiting for a slot is in it.
        slots = asyncio.Semaphore(job["concurrency"])
        tasks = []

        async def arrive(request: bytes, due: float) -> None:
            async with slots:
                await send(request, due)

        first = time.perf_counter()
        for i, request in enumerate(requests):
            due = first + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            if time.monotonic() > deadline:
                break
            tasks.append(asyncio.create_task(arrive(request, due)))
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
    # A pause of the client's is counted as latency of every request in flight. Its
    # cyclic garbage collector, going over the job's tens of thousands of objects,
    # made such pauses; a run lasts seconds and makes little cyclic garbage, so the
    # collector stays off for it.
    gc.disable()
    result = uvloop.run(runner(job))
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
