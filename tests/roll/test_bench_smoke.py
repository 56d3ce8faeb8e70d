"""The roll import benchmark still runs (a few hundred rows, a database of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def bench_url() -> str:
    """The test's PostgreSQL server, with a database for the bench alone
    (named after the test database, so parallel runs do not share it)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}_bench_smoke"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "roll_bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "roll_import_bench.py"),
            "--smoke",
            "--recreate",
            "--json-out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": bench_url()},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["rows"] == 300
    assert report["first_import"]["counts"]["joining"] == 300
    assert report["first_import"]["invited"] == 300
    reimport = report["reimport"]
    assert reimport["counts"]["leaving"] == reimport["file_changes"]["dropped"] > 0
    assert reimport["counts"]["updated"] > 0 and reimport["counts"]["joining"] > 0
    assert report["reference_copy_s"] > 0 and report["ratio_first_to_copy"] > 0
    assert "reference: COPY into a temp table" in proc.stdout
