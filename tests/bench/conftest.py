"""Running a benchmark script small, as a subprocess, against this test run's PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# A Redis database of the smoke runs' own: each benchmark flushes the one it uses.
REDIS_URL = os.environ.get("TELLER_TEST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")


def _server_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"


def _drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def run_bench(tmp_path: Path) -> Iterator[Callable[..., tuple[dict[str, Any], str]]]:
    """Run bench/<script> --smoke in its own database; return its JSON and its output."""
    made: list[str] = []

    def run(script: str, *args: str, database: str | None = None) -> tuple[dict[str, Any], str]:
        out = tmp_path / f"{script}.json"
        command = [sys.executable, str(ROOT / "bench" / script), "--smoke", "--json-out", str(out)]
        env = {**os.environ, "TELLER_BENCH_DATABASE_URL": _server_url()}
        if database:
            # Its own database per run, so two runs on one machine never meet.
            name = f"{database}_{os.getpid()}"
            made.append(urlunsplit(urlsplit(_server_url())._replace(path=f"/{name}")))
            command += ["--database", name]
        proc = subprocess.run(
            [*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return json.loads(out.read_text()), proc.stdout

    yield run
    for url in made:
        _drop(url)
