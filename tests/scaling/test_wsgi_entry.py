"""The WSGI entry point gunicorn loads leaves what it loaded out of the collector's way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_application_freezes_what_it_loaded() -> None:
    script = (
        "import gc; before = gc.get_freeze_count(); import config.wsgi; "
        "print(before, gc.get_freeze_count(), callable(config.wsgi.application))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip

    before, after, loaded = out.stdout.split()
    assert int(before) == 0
    # Django and the apps, tens of thousands of objects, no longer gone over by each
    # full collection.
    assert int(after) > 10_000
    assert loaded == "True"
