"""Servers of our own to break: a throwaway PostgreSQL cluster and a throwaway
Redis, each on a free port in a temporary directory.

Other test runs share the PostgreSQL on 5432 and the Redis on 6379, so the
fault tests never restart or stop those: whatever they kill is started here,
and stopped here, by its own process id.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- PostgreSQL ----------------------------------------------------------------
def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class ThrowawayPostgres:
    """A cluster in a temporary directory, run as the `postgres` user when
    we are root (initdb refuses root), that the test may restart at will."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.data = root / "data"
        self.log = root / "server.log"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self._as, *args], check=True, timeout=timeout, capture_output=True)

    def init(self) -> None:
        initdb = _pg_bin("initdb")
        assert initdb
        # --no-sync only skips flushing initdb's own files; the server still
        # fsyncs every commit, which is what the restart test relies on.
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip

    def pg_ctl(self, *args: str) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "30", *args)  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def restart(self, mode: str = "immediate") -> None:
        """`immediate` is a crash: no checkpoint, recovery from the WAL on start."""
        self.pg_ctl("restart", "-m", mode)

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "immediate")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    if _pg_bin("initdb") is None or _pg_bin("pg_ctl") is None:
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl)")
    # Not pytest's tmp_path: the postgres user must be able to enter it.
    root = Path(tempfile.mkdtemp(prefix="teller-faults-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = ThrowawayPostgres(root, free_port())
    server.init()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- Redis ---------------------------------------------------------------------
class ThrowawayRedis:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--logfile", str(self.root / "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(up, 10, "the throwaway Redis to start")
        client.close()

    def hang(self) -> None:
        """Freeze the server (SIGSTOP): connections are still accepted by the
        kernel, but nothing ever answers, as with a wedged or partitioned Redis."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    server = ThrowawayRedis(tmp_path, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
