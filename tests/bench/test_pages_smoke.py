"""The pages benchmark still runs, and the member's pages make as many queries at 60
contests as at 10 (an N+1 would show here first)."""

from __future__ import annotations

import pytest

from tests.bench.conftest import REDIS_URL

pytestmark = pytest.mark.postgres


def test_it_counts_queries_and_serves_every_page(run_bench) -> None:  # type: ignore[no-untyped-def]
    report, _ = run_bench(
        "pages_bench.py", "--redis-url", REDIS_URL, database="teller_bench_smoke_pages"
    )

    small, large = report["sizes"]["10"], report["sizes"]["60"]
    assert small["queries"] == large["queries"], "query counts grow with the contests"
    for size in (small, large):
        for page in ("floor", "home", "past", "ballot", "result"):
            statuses = size["http"][page]["statuses"]
            assert set(statuses) <= {"200", "204"} and sum(statuses.values()) == 60, page
    assert report["missed"] == []
