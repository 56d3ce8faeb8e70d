"""`check --deploy --database default` warns when PostgreSQL would log a
cast's statement, which names the voter beside their marks."""

from __future__ import annotations

import pytest
from django.db import connection

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
