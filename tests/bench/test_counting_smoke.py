"""The counting benchmark times every contender from the same raw rankings."""

from __future__ import annotations


def test_it_reports_ours_grouped_and_per_paper(run_bench) -> None:  # type: ignore[no-untyped-def]
    report, stdout = run_bench("counting_bench.py", "--no-references", "--repeat", "1")

    assert report["ballots"] == 300
    for key in ("stv", "av"):
        assert report["ours"][key]["elected"] == report["ours_per_paper"][key]["elected"]
        assert report["ours"][key]["seconds"] > 0
    assert "raw rankings" in stdout
