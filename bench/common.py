"""What every benchmark needs: its own database, the servers it starts, timing and results.

Each benchmark runs against the real PostgreSQL and Redis on this machine, in a database
of its own (``teller_bench_<name>``) that it drops, creates and migrates itself, so a run
never touches the development or test databases and always starts from the same state.
Everything it starts (gunicorn, a Celery worker, an SMTP sink) listens on 127.0.0.1 only
and is stopped when the benchmark ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The PostgreSQL server the benchmarks use; only its database name is replaced.
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
# The machine's load when the benchmark started, before it added its own.
LOAD_AT_START = os.getloadavg()
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"


def server_url() -> str:
    return os.environ.get("TELLER_BENCH_DATABASE_URL", DEFAULT_SERVER)


def database_url(name: str, server: str | None = None) -> str:
    """The URL of database ``name`` on the benchmark server."""
    parts = urlsplit(server or server_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    """Drop and create the database named in ``url`` (it is the benchmark's own)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    if not name.startswith(("teller_bench", "test_")):
        # A guard against pointing a benchmark at a database that matters.
        raise SystemExit(f"refusing to drop {name!r}: benchmark databases start teller_bench")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment for Django in a benchmark process (this one or a child)."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        # Without a broker, tasks are queued in memory and never run: nothing but
        # what a benchmark measures runs in its processes.
        "REDIS_URL": "",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def flush_redis(url: str) -> None:
    """Empty the benchmark's Redis database (its own number, never the tests' or dev's)."""
    import redis

    redis.Redis.from_url(url).flushdb()


def setup_django(db_url: str, *, migrate: bool = True, **extra: str) -> None:
    """Point this process's Django at the benchmark database, and migrate it."""
    os.environ.update(server_env(db_url, **extra))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def settle_database() -> None:
    """After a benchmark's set-up: fresh planner statistics, and the set-up's writes
    checkpointed.

    Setting up writes hundreds of megabytes of WAL (members, sessions, rolls, then
    VACUUM's own). Left alone, the checkpoint that volume calls for starts during the
    measured runs, and every first write to a page after it logs the whole page: the
    runs that write (casts, not the floor) would pay for the set-up.

    The tables voting fills are left unanalysed, as a fresh install has them. Analysed
    while empty, on a server without autovacuum (this one), the planner would go on
    taking them for empty, and the casting statement's plan would read the whole
    participation table in every cast (elections/checks.py, teller.W003).
    """
    from django.db import connection

    from elections.models import InboxBallot, Participation

    filled_by_voting = {m._meta.db_table for m in (Participation, InboxBallot)}
    tables = [t for t in connection.introspection.table_names() if t not in filled_by_voting]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(quote(t) for t in tables)}")
        cursor.execute("CHECKPOINT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(
    port: int, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:g} s")


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stop a process we started: politely, then firmly."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    port: int | None = None,
    workers: int = 4,
    threads: int = 1,
    log: Path | None = None,
    wsgi: str = "config.wsgi",
) -> Iterator[int]:
    """gunicorn on 127.0.0.1, yielding its port; stopped on exit."""
    port = port or free_port()
    out = log.open("w") if log else subprocess.DEVNULL
    args = [
        PYTHON, "-m", "gunicorn", wsgi,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread" if threads > 1 else "sync",
        # A queue of 200 voters must not overflow the listen queue.
        "--backlog", "2048",
        "--timeout", "60",
        "--chdir", str(ROOT),
    ]  # fmt: skip
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process)
        yield port
    finally:
        stop(process)
        if log:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def celery_worker(
    env: dict[str, str],
    *,
    concurrency: int = 2,
    log: Path | None = None,
    name: str = "bench",
    beat_schedule: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """A real Celery worker subprocess on the Redis in ``env``; stopped on exit."""
    out = log.open("w") if log else subprocess.DEVNULL
    args = [
        PYTHON, "-m", "celery", "-A", "config", "worker",
        "--loglevel=WARNING", f"--concurrency={concurrency}", f"--hostname={name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if beat_schedule is not None:
        args += ["--beat", f"--schedule={beat_schedule}"]
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        stop(process, timeout=30)
        if log:
            out.close()  # type: ignore[union-attr]


class SmtpSink:
    """Local SMTP sinks (bench/smtp_sink.py, aiosmtpd) sharing one port, one process each.

    Each counts messages per recipient; ``total`` reads their running counts, and
    ``stop()`` collects the counts per recipient, so a message sent twice shows.
    """

    def __init__(self, processes: int = 1, workdir: Path | None = None) -> None:
        self.processes = processes
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="teller-sink-"))
        self.port = 0
        self.per_recipient: Counter[str] = Counter()
        self._procs: list[subprocess.Popen] = []

    def _files(self) -> list[Path]:
        return [self.workdir / f"sink-{i}.json" for i in range(self.processes)]

    def start(self) -> int:
        self.port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        for path in self._files():
            path.unlink(missing_ok=True)
            args = [PYTHON, "-m", "bench.smtp_sink", "--port", str(self.port), "--out", str(path)]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            self._procs.append(subprocess.Popen(args, cwd=ROOT, env=env))
        deadline = time.monotonic() + 20
        while not all(p.exists() for p in self._files()):
            if time.monotonic() > deadline:
                raise TimeoutError("the SMTP sink did not start")
            time.sleep(0.05)
        return self.port

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {"total": 0}

    @property
    def total(self) -> int:
        return sum(self._read(p)["total"] for p in self._files())

    def stop(self) -> None:
        for process in self._procs:
            stop(process)
        self._procs = []
        self.per_recipient = Counter()
        for path in self._files():
            self.per_recipient.update(self._read(path).get("per_recipient", {}))


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), nearest rank: the value p% of samples are at or below."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float], elapsed: float) -> dict[str, float]:
    """Requests per second and latency percentiles in milliseconds."""
    return {
        "count": len(seconds),
        "elapsed_s": round(elapsed, 3),
        "per_second": round(len(seconds) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p90_ms": round(percentile(seconds, 90) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1) if seconds else float("nan"),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure; the load says how much there was
        # (at the start, from others; at the end, with the benchmark's own).
        "load_average_at_start": [round(x, 2) for x in LOAD_AT_START],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def write_results(name: str, data: dict[str, Any], path: Path | None = None) -> Path:
    """Write a benchmark's figures as JSON (bench/results/<name>.json unless ``path``)."""
    path = path or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"Wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def check(condition: bool, message: str, failures: list[str]) -> None:
    """Record a missed check rather than stop: a benchmark reports every figure it has."""
    mark = "ok  " if condition else "MISS"
    print(f"  [{mark}] {message}")
    if not condition:
        failures.append(message)


# The machine's processes by part, from the start of their command line.
_PARTS = {"postgres": "postgres", "gunicorn": "gunicorn", "redis": "redis-server"}


def _stat(pid: int | str) -> list[str]:
    """/proc/<pid>/stat's fields after the command name (Linux)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_of(fields: list[str]) -> float:
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (int(fields[11]) + int(fields[12])) / tick  # user + system


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) process `pid` has used so far."""
    return _cpu_of(_stat(pid))


def cpu_by_process() -> dict[tuple[int, int], tuple[str, float]]:
    """CPU time (user and system) used so far by each process of the machine's parts.

    Keyed by process id and start time (ids are reused); read from /proc (Linux;
    empty elsewhere). `cpu_spent` compares two readings.
    """
    used: dict[tuple[int, int], tuple[str, float]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = _stat(entry.name)
        except OSError:
            continue
        part = next((name for name, mark in _PARTS.items() if mark in command), None)
        if part is not None:
            used[(int(entry.name), int(fields[19]))] = (part, _cpu_of(fields))
    return used


def cpu_spent(
    before: dict[tuple[int, int], tuple[str, float]],
    after: dict[tuple[int, int], tuple[str, float]],
) -> dict[str, float]:
    """CPU seconds by part between two readings of `cpu_by_process`.

    A process that ended in between takes its time with it, so this counts
    what outlives the interval: gunicorn's workers and the database
    connections they keep, not the raw-SQL reference's short-lived ones.
    """
    spent: dict[str, float] = {}
    for key, (part, seconds) in after.items():
        spent[part] = spent.get(part, 0.0) + seconds - before.get(key, (part, 0.0))[1]
    return spent


def run_load(
    job: dict[str, Any], workdir: Path, timeout: float = 900, *, cpu: bool = False
) -> dict[str, Any]:
    """Run one job through the load generator in a process of its own; return its output.

    With `cpu`, the output also has `cpu`: the CPU seconds each part of the
    machine spent during the run (`cpu_spent`), the load generator's own
    included.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    job_file = workdir / "job.json"
    out_file = workdir / "out.json"
    job_file.write_text(json.dumps(job))
    before = (cpu_by_process(), resource.getrusage(resource.RUSAGE_CHILDREN)) if cpu else None
    subprocess.run(
        [PYTHON, "-m", "bench.loadgen", str(job_file), str(out_file)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=timeout,
    )  # fmt: skip
    out = json.loads(out_file.read_text())
    if before is not None:
        parts, children = cpu_by_process(), resource.getrusage(resource.RUSAGE_CHILDREN)
        out["cpu"] = cpu_spent(before[0], parts)
        out["cpu"]["load generator"] = (
            children.ru_utime + children.ru_stime - before[1].ru_utime - before[1].ru_stime
        )
    return out


def merge_loads(outs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of the load generator as one: latencies joined, times and counts added."""
    merged: dict[str, Any] = {"elapsed": 0.0, "latencies": [], "statuses": {}, "errors": {}}
    for out in outs:
        merged["elapsed"] += out["elapsed"]
        merged["latencies"] += out["latencies"]
        for key in ("statuses", "errors"):
            for name, n in out.get(key, {}).items():
                merged[key][name] = merged[key].get(name, 0) + n
        for key in ("app_ms", "db_ms", "queries"):
            if key in out:
                merged[key] = merged.get(key, 0) + out[key]
        for part, seconds in out.get("cpu", {}).items():
            cpu = merged.setdefault("cpu", {})
            cpu[part] = cpu.get(part, 0.0) + seconds
    return merged


def summarise(out: dict[str, Any]) -> dict[str, Any]:
    """A load generator's output as figures: rate, percentiles, statuses, server timing."""
    figures: dict[str, Any] = latency_summary(out["latencies"], out["elapsed"])
    figures["statuses"] = out["statuses"]
    if out.get("errors"):
        figures["errors"] = out["errors"]
    if out.get("app_ms"):
        figures["db_share"] = round(out["db_ms"] / out["app_ms"], 3)
        n = max(1, len(out["latencies"]))
        figures["server_ms_mean"] = round(out["app_ms"] / n, 2)
        figures["db_ms_mean"] = round(out["db_ms"] / n, 2)
        figures["queries_mean"] = round(out["queries"] / n, 1)
    if out.get("cpu"):
        # Milliseconds of CPU a request, by part of the machine.
        n = max(1, len(out["latencies"]))
        figures["cpu_ms"] = {part: round(1000 * s / n, 2) for part, s in out["cpu"].items()}
    return figures
