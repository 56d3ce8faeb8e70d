"""The benchmark script still runs (a few hundred ballots; reference libraries optional)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "counting_bench.py"),
            "--smoke",
            "--json-out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["ballots"] == 300 and report["candidates"] == 12
    for key in ("stv", "av"):
        ours = report["ours"][key]
        assert ours["seconds"] >= 0
        assert len(ours["elected"]) == (report["seats"] if key == "stv" else 1)
    assert "ours  STV (Scottish rules)" in proc.stdout
