"""The casting benchmark still runs: 375 voters, gunicorn, the floor, the raw-SQL reference
and the open loop."""

from __future__ import annotations

import pytest

from tests.bench.conftest import REDIS_URL

pytestmark = pytest.mark.postgres


def test_it_casts_every_ballot_once_and_reports_each_figure(run_bench) -> None:  # type: ignore[no-untyped-def]
    report, stdout = run_bench(
        "casting_bench.py", "--redis-url", REDIS_URL, database="teller_bench_smoke_casting"
    )

    assert report["voters"] == 375
    assert "receipts" in stdout
    for level in ("10", "30"):
        figures = report["levels"][level]
        assert figures["cast"]["statuses"] == {"200": 150}, "each voter cast once, and was answered"
        assert figures["floor"]["statuses"] == {"204": 150}
        assert figures["database"]["statuses"] == {"committed": 150}
        cast = figures["cast"]
        assert cast["per_second"] > 0 and cast["p99_ms"] >= cast["p50_ms"] > 0
        assert 0 < cast["db_share"] < 1
        assert cast["of_floor"] > 0 and cast["of_database"] > 0
        # Where a request's CPU went: the web workers and their database
        # connections did the casting's work, and the load generator its own.
        for run in (cast, figures["floor"]):
            assert run["cpu_ms"]["gunicorn"] > 0 and run["cpu_ms"]["load generator"] > 0
        assert cast["cpu_ms"]["postgres"] > 0
    opened = report["open"]
    assert opened["statuses"] == {"200": 75}, "the open loop's voters cast once each"
    assert opened["offered_per_second"] > 0 and opened["p99_ms"] >= opened["p50_ms"] > 0
    # Only the targets may be missed in a smoke run; the receipts must all match.
    assert not [m for m in report["missed"] if "receipts" in m or "answered" in m]


def test_the_in_process_profile_measures_casts_against_the_floor(run_bench) -> None:  # type: ignore[no-untyped-def]
    report, stdout = run_bench(
        "casting_profile.py", "--redis-url", REDIS_URL, "--profile", "--top", "80",
        database="teller_bench_smoke_casting_profile",
    )  # fmt: skip

    assert report["statuses"] == {"200 OK": 400, "204 No Content": 400}
    assert report["missed"] == []
    for name in ("floor", "cast"):
        figures = report[name]
        assert figures["django_ms"] > 0 and figures["postgres_ms"] > 0
        both = figures["django_ms"] + figures["postgres_ms"]
        assert figures["total_ms"] == pytest.approx(both, abs=0.01)
    # A cast does more than a request that only reads the session and the user.
    assert report["cast_over_floor"] > 1
    assert "cumulative" in stdout and "cast_on_known_paper" in stdout
