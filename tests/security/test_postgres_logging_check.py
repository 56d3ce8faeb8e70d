"""`check --deploy --database default` warns when PostgreSQL would log a
cast's statement, which names the voter beside their marks, and when it runs
without autovacuum, which keeps the casting statement's plan fresh."""

from __future__ import annotations

import pytest
from django.db import connection

from elections.checks import autovacuum_keeps_casting_plans_fresh, autovacuum_warnings
from elections.checks import casting_statements_stay_out_of_postgres_logs as check

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _codes() -> list[str]:
    return [warning.id for warning in check(databases=["default"])]


def test_postgres_as_installed_logs_no_statements():
    assert _codes() == []


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("log_statement", "'all'", "teller.W001"),
        ("log_statement", "'mod'", "teller.W001"),
        ("log_min_duration_statement", "250", "teller.W002"),
    ],
)
def test_a_server_that_logs_statements_is_named(setting, value, code):
    with connection.cursor() as cursor:
        # SET, not SET LOCAL: the test's transaction, rolled back, undoes it.
        cursor.execute(f"SET {setting} = {value}")
    assert _codes() == [code]


def test_the_check_runs_only_when_asked_for_the_database():
    from django.core.checks import registry

    assert check in registry.registry.get_checks(include_deployment_checks=True)
    assert "database" in check.tags


@pytest.mark.parametrize(
    ("autovacuum", "track_counts", "codes"),
    [("on", "on", []), ("off", "on", ["teller.W003"]), ("on", "off", ["teller.W003"])],
)
def test_a_server_without_autovacuum_is_named(autovacuum, track_counts, codes):
    assert [w.id for w in autovacuum_warnings("default", autovacuum, track_counts)] == codes


def test_the_autovacuum_check_reads_the_servers_own_settings():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('autovacuum'), current_setting('track_counts')")
        running = cursor.fetchone() == ("on", "on")
    warnings = autovacuum_keeps_casting_plans_fresh(databases=["default"])
    assert [w.id for w in warnings] == ([] if running else ["teller.W003"])
