"""The load generator writes each request whole and reads each answer to the close:
what it sends, what it makes of what comes back, and what it counts as an error."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from urllib.parse import parse_qs

import pytest

from bench import loadgen


def test_a_post_carries_its_cookies_and_form_and_asks_for_the_close() -> None:
    request = loadgen.http_request(
        "POST",
        "http://127.0.0.1:8000/polls/7/ballot/",
        {"cookies": {"sessionid": "abc", "csrftoken": "xyz"}, "data": {"rank_3": "1", "a": "b c"}},
    )

    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /polls/7/ballot/ HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Host"] == "127.0.0.1:8000"
    assert headers["Connection"] == "close"
    assert headers["Cookie"] == "sessionid=abc; csrftoken=xyz"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert int(headers["Content-Length"]) == len(body)
    assert parse_qs(body.decode()) == {"rank_3": ["1"], "a": ["b c"]}


def test_a_get_keeps_its_query_and_sends_no_body() -> None:
    request = loadgen.http_request(
        "GET", "http://localhost:9/x/", {"url": "http://localhost:9/y/?p=2"}
    )

    assert request.startswith(b"GET /y/?p=2 HTTP/1.1\r\n")
    assert b"Content-Length" not in request and b"Cookie" not in request
    assert request.endswith(b"\r\n\r\n")


def test_an_answer_gives_its_status_and_timing_header_whatever_its_case() -> None:
    raw = b"HTTP/1.1 204 No Content\r\nserver-timing: app;dur=1.5, db;dur=0.5\r\n\r\n"

    assert loadgen.parse_response(raw) == (204, "app;dur=1.5, db;dur=0.5")
    assert loadgen.parse_response(b"HTTP/1.0 200 OK\r\n\r\nbody") == (200, None)
    with pytest.raises(ValueError, match="not an HTTP response"):
        loadgen.parse_response(b"")
    with pytest.raises(ValueError, match="not an HTTP response"):
        loadgen.parse_response(b"SSH-2.0-OpenSSH\r\n")


async def _run(job: dict, answer: Callable[[int], bytes] | None) -> dict:
    """`loadgen.run_http` against a server that reads each request, writes `answer(n)`
    for the n-th and closes; with no `answer`, against a port nobody listens on."""
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await reader.readuntil(b"\r\n\r\n")
        served += 1
        writer.write(answer(served))  # type: ignore[misc]
        await writer.drain()
        writer.close()

    if answer is None:
        # A port nobody listens on: taken, then let go.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return await loadgen.run_http({**job, "url": f"http://127.0.0.1:{port}/"})
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        return await loadgen.run_http({**job, "url": f"http://127.0.0.1:{port}/"})


def test_a_closed_loop_sends_each_item_once_and_sums_the_timing_headers() -> None:
    def answer(n: int) -> bytes:
        status = b"204 No Content" if n % 2 else b"403 Forbidden"
        return (
            b"HTTP/1.1 " + status + b"\r\nServer-Timing: app;dur=2, db;dur=1, queries;dur=3\r\n\r\n"
        )

    out = asyncio.run(_run({"concurrency": 3, "items": [{}] * 10}, answer))

    assert out["statuses"] == {204: 5, 403: 5}
    assert len(out["latencies"]) == 10 and out["errors"] == {}
    assert (out["app_ms"], out["db_ms"], out["queries"]) == (20.0, 10.0, 30)


def test_an_open_loop_spaces_the_arrivals_at_its_rate() -> None:
    out = asyncio.run(
        _run(
            {"concurrency": 5, "rate": 50, "items": [{}] * 10}, lambda n: b"HTTP/1.1 200 OK\r\n\r\n"
        )
    )

    assert out["statuses"] == {200: 10}
    # Ten arrivals at 50 a second span at least nine intervals of 20 ms.
    assert out["elapsed"] >= 9 / 50


def test_garbage_and_refused_connections_are_errors_not_answers() -> None:
    garbled = asyncio.run(_run({"concurrency": 2, "items": [{}] * 4}, lambda n: b"nonsense"))
    refused = asyncio.run(_run({"concurrency": 2, "items": [{}] * 4}, None))

    assert garbled["statuses"] == {} and garbled["errors"] == {"ValueError": 4}
    assert garbled["latencies"] == []
    assert refused["statuses"] == {} and refused["errors"] == {"ConnectionRefusedError": 4}
