"""System checks about the deployment that Django cannot see for itself.

A cast reaches PostgreSQL as one statement that names the voter and carries
their marks (services/casting.py). Whatever PostgreSQL writes to its own log
outlives the mixer, so a server that logs statements would keep, in its log,
what the database itself forgets. Run with
`manage.py check --deploy --database default`.

Casting also needs PostgreSQL's autovacuum. Its statement is prepared once a
connection (config/prepared.py), and PostgreSQL plans it afresh only when the
tables' statistics change, which autovacuum's ANALYZE does as the ballots come
in. Without it, a plan made while the participation table was nearly empty
(a sequential scan, then cheapest) stays for the connection's life, and every
cast then reads the whole table (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.core.checks import Tags, Warning, register
from django.db import connections

# Settings under which PostgreSQL writes a successful statement's text to its log.
_LOGGING_SETTINGS = ("log_statement", "log_min_duration_statement", "auto_explain.log_min_duration")


@register(Tags.database, deploy=True)
def casting_statements_stay_out_of_postgres_logs(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Warning]:
    found: list[Warning] = []
    for alias, (statement, duration, explain) in _postgres_settings(databases, _LOGGING_SETTINGS):
        if statement in ("mod", "all"):
            found.append(_warning(alias, f"log_statement = {statement}", "teller.W001"))
        for name, value in (("log_min_duration_statement", duration), ("auto_explain", explain)):
            if value is not None and value not in ("-1", ""):
                found.append(_warning(alias, f"{name} = {value}", "teller.W002"))
    return found


def _postgres_settings(
    databases: Iterable[str] | None, names: tuple[str, ...]
) -> Iterator[tuple[str, tuple[str | None, ...]]]:
    """For each PostgreSQL database the check was asked about, the values of
    these server settings (None for one the server does not know)."""
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join("current_setting(%s, true)" for _ in names), names)
            yield alias, cursor.fetchone()


def _warning(alias: str, setting: str, code: str) -> Warning:
    return Warning(
        f"PostgreSQL ({alias}) logs statements ({setting}): a cast's statement names the "
        "voter beside their marks, and the log would keep that after the mix.",
        hint="For Teller's database role: ALTER ROLE <role> SET log_statement = 'none'; "
        "ALTER ROLE <role> SET log_min_duration_statement = -1 (and no auto_explain). "
        "See docs/security.md.",
        id=code,
    )


@register(Tags.database, deploy=True)
def autovacuum_keeps_casting_plans_fresh(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Warning]:
    found: list[Warning] = []
    for alias, (autovacuum, track_counts) in _postgres_settings(
        databases, ("autovacuum", "track_counts")
    ):
        found.extend(autovacuum_warnings(alias, str(autovacuum), str(track_counts)))
    return found


def autovacuum_warnings(alias: str, autovacuum: str, track_counts: str) -> list[Warning]:
    """teller.W003 unless autovacuum runs (it needs track_counts too)."""
    if autovacuum == "on" and track_counts == "on":
        return []
    return [
        Warning(
            f"PostgreSQL ({alias}) runs without autovacuum (autovacuum = {autovacuum}, "
            f"track_counts = {track_counts}): the casting statement keeps the plan it was "
            "given while few had voted, and each cast would then read every earlier one.",
            hint="Turn autovacuum and track_counts on (the defaults), or ANALYZE "
            "elections_participation as a poll fills. See docs/scaling.md.",
            id="teller.W003",
        )
    ]
