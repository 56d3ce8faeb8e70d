"""A local SMTP sink (aiosmtpd) in a process of its own, counting messages per recipient.

    python -m bench.smtp_sink --port PORT --out FILE

Listens on 127.0.0.1:PORT with SO_REUSEPORT, so several of these can share one port and
the kernel spreads the connections between them (one process alone, in the same process
as the benchmark, tops out below the rate the notifications benchmark needs). Every
quarter of a second it writes how many messages it has taken to FILE; on SIGTERM it
writes the count per recipient and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any


class Counting:
    def __init__(self) -> None:
        self.per_recipient: Counter[str] = Counter()
        self.total = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.per_recipient[rcpt.lower()] += 1
            self.total += 1
        return "250 OK"


def _write(path: Path, data: dict[str, Any]) -> None:
    # Written aside and renamed, so a reader never sees half a file.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


async def serve(port: int, out: Path) -> None:
    from aiosmtpd.smtp import SMTP

    handler = Counting()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.localhost"), "127.0.0.1", port, reuse_port=True
    )
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    _write(out, {"total": 0, "ready": True})
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), 0.25)
        except TimeoutError:
            _write(out, {"total": handler.total, "ready": True})
    server.close()
    _write(out, {"total": handler.total, "per_recipient": handler.per_recipient, "done": True})


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    asyncio.run(serve(args.port, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
