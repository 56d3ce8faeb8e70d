"""With the production environment, `manage.py check --deploy` reports nothing,
and the settings refuse an unsafe production configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "TELLER_PRODUCTION": "1",
    "DEBUG": "0",
    # Not a real key, but as long and as varied as one.
    "SECRET_KEY": "k3J9-tq_Vw8#zR2m!pL6xY0^bN4&cF7hD1sG5uE*aQ9oI3rT8yW2eZ6vB0nM4",
    "ALLOWED_HOSTS": "teller.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://teller.example.org",
    "TELLER_TRUSTED_PROXY_COUNT": "1",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_production():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_would_complain_without_the_production_settings():
    """The clean report above is earned by the settings, not by a quiet check."""
    development = {**PRODUCTION, "TELLER_PRODUCTION": "0"}
    result = _manage("check", "--deploy", **development)
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stdout + result.stderr, warning


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY must be at least 50"),
        ({"DEBUG": "1"}, "DEBUG must be off in production"),
        ({"TELLER_REQUIRE_MFA_FOR_ROLES": "0"}, "cannot be off in production"),
    ],
)
def test_production_refuses_unsafe_settings(change, complaint):
    result = _manage("check", **{**PRODUCTION, **change})
    assert result.returncode != 0
    assert complaint in result.stderr
