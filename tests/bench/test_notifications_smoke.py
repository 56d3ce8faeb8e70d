"""The notifications benchmark still runs: 300 "ballot open" emails through the outbox,
a real Celery worker on Redis and the SMTP sinks, each delivered exactly once."""

from __future__ import annotations

import pytest

from tests.bench.conftest import REDIS_URL

pytestmark = pytest.mark.postgres


def test_it_delivers_every_notice_once(run_bench) -> None:  # type: ignore[no-untyped-def]
    report, _ = run_bench(
        "notifications_bench.py", "--redis-url", REDIS_URL, database="teller_bench_smoke_notify"
    )

    assert report["delivered"] == report["recipients"] == 300
    assert report["twice_or_more"] == 0
    assert report["statuses"] == {"sent": 300}
    assert report["reference"]["messages"] > 0
    assert report["missed"] == []
