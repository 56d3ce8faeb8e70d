"""Settings for the benchmarks only: Teller's own, plus a floor view and a timing header.

Nothing here is reachable in production: `config.settings` never names this module, and
the floor URL lives only in `bench.urls`.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE, STORAGES

ROOT_URLCONF = "bench.urls"

# The first thing every request meets: it times the whole stack beneath it and the
# database's part of that, and reports both in a Server-Timing header the load
# generator adds up, which is how the casting benchmark gives the database's share.
MIDDLEWARE = ["bench.timing.ServerTimingMiddleware", *MIDDLEWARE]

# The pages render {% static %}; the manifest storage would need collectstatic first.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Voters log in through sessions the benchmark writes itself; nobody checks a password,
# and the accounts it creates use this cheap hasher rather than seconds of PBKDF2.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
