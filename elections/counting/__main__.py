"""``python -m elections.counting FILE.blt --method stv [--json]``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
