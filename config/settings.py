"""Teller's settings, read from the environment (see .env.example).

With nothing set, Teller runs for development on an SQLite file with tasks
run eagerly and email printed to the console. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=0.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("TELLER_PRODUCTION"):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # Development and tests only: a fixed key is harmless where nothing is real.
    SECRET_KEY = "teller-insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "accounts",
    "elections",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# PostgreSQL in production and CI (DATABASE_URL); an SQLite file otherwise.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Casting, mixing and the audit chain all write; make SQLite take its
    # write lock at BEGIN so concurrent requests queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The statements every request and every ballot run (config/prepared.py) are
    # prepared once per connection, so PostgreSQL plans them once; Django's own
    # queries never are. Django turns psycopg's preparing off unless this is set.
    # Behind PgBouncer in transaction mode, use 1.21 or later with
    # max_prepared_statements, or set DB_PREPARED_STATEMENTS=0 (docs/scaling.md).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if env_bool("DB_PREPARED_STATEMENTS", default=True) else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker --------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Falls back to an in-process cache while Redis is out (config/cache.py).
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            # A hung Redis must not hang the requests that touch the cache
            # (the ballot page's rate limit, which then fails open): give up
            # on it after a second rather than wait for ever.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
# Without a broker (make run on a fresh machine) tasks run in-process.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# A task acknowledged late is redelivered if its worker dies; this is how long
# Redis waits before redelivering one that was never acknowledged.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# How often the sweep looks for polls to open, remind and close, and how often
# pending notifications are picked up if no event has queued their delivery.
TELLER_SWEEP_SECONDS = env_int("TELLER_SWEEP_SECONDS", 30)
CELERY_BEAT_SCHEDULE = {
    "sweep-polls": {"task": "elections.sweep_polls", "schedule": TELLER_SWEEP_SECONDS},
    "deliver-notifications": {
        "task": "elections.deliver_notifications",
        "schedule": env_int("TELLER_DELIVERY_SECONDS", 60),
    },
}

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, each loading the request's user together with
# their roles and unread count in one query (config/security.py).
AUTHENTICATION_BACKENDS = [
    "config.security.ModelBackend",
    "config.security.AllauthBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Teller] "

# --- Email ----------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Teller <teller@localhost>")

# --- I18N, time -----------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str(
            "STATICFILES_BACKEND",
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Teller ---------------------------------------------------------------
# The mixer moves inbox ballots into the ballot box in batches of at least
# this many while a large poll is open; smaller rolls mix only at the close.
TELLER_MIX_BATCH_MIN = env_int("TELLER_MIX_BATCH_MIN", 300)

# --- Logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Notifications --------------------------------------------------------
# Every event writes its notices to an outbox (elections.notifications); the
# task elections.deliver_notifications sends them by email, queued on commit
# and run by beat (CELERY_BEAT_SCHEDULE above) for anything whose queueing
# was lost. In tests, tests/conftest.py runs the Celery app eagerly.
# Tries per notice before it is marked failed, with the reason kept.
TELLER_NOTIFY_MAX_ATTEMPTS = env_int("TELLER_NOTIFY_MAX_ATTEMPTS", 5)
# After the n-th failure the next try waits BACKOFF * 2**n seconds, capped.
TELLER_NOTIFY_BACKOFF_SECONDS = env_int("TELLER_NOTIFY_BACKOFF_SECONDS", 60)
TELLER_NOTIFY_BACKOFF_MAX_SECONDS = env_int("TELLER_NOTIFY_BACKOFF_MAX_SECONDS", 3600)
# A notice still "sending" this long after its batch was claimed lost its
# worker; the next run hands it back. Longer than any batch takes to send.
TELLER_NOTIFY_SENDING_TIMEOUT = env_int("TELLER_NOTIFY_SENDING_TIMEOUT", 900)
# Batches per delivery run; the task re-queues itself if more are due, so
# a roll of 130,000 does not hold one worker for the whole send.
TELLER_NOTIFY_MAX_BATCHES = env_int("TELLER_NOTIFY_MAX_BATCHES", 20)
# Delivery runs queued at once for a big event (a roll of 130,000), each on
# its own worker process; see elections.notifications._delivery_runs.
TELLER_NOTIFY_PARALLEL = env_int("TELLER_NOTIFY_PARALLEL", 4)
TELLER_NOTIFY_SUBJECT_PREFIX = env_str("TELLER_NOTIFY_SUBJECT_PREFIX", "[Teller] ")
if (
    min(
        TELLER_NOTIFY_MAX_ATTEMPTS,
        TELLER_NOTIFY_BACKOFF_SECONDS,
        TELLER_NOTIFY_SENDING_TIMEOUT,
        TELLER_NOTIFY_MAX_BATCHES,
        TELLER_NOTIFY_PARALLEL,
    )
    < 1
):
    raise ImproperlyConfigured("The TELLER_NOTIFY_ numbers must each be at least 1")
# The inbox's unread count in every page's nav.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("elections.context_processors.notifications")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("elections.context_processors.roles")

# --- Security -------------------------------------------------------------
# Owned by the security work; docs/security.md explains each choice and names
# the tests in tests/security/ that hold it. Production (TELLER_PRODUCTION=1)
# turns on everything that needs HTTPS; `manage.py check --deploy` is clean then.
from csp.constants import NONE, SELF  # noqa: E402

TELLER_PRODUCTION = env_bool("TELLER_PRODUCTION", default=False)
if TELLER_PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production (TELLER_PRODUCTION=1)")
    # Django's own bar (check --deploy, security.W009): a short or guessable
    # key lets anyone forge session cookies and password-reset links.
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters")

INSTALLED_APPS += ["allauth.mfa", "csp"]
# The Content-Security-Policy header goes on every response, so it sits right
# after SecurityMiddleware; the officials' checks need the user and messages,
# so they come last.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.append("config.security.OfficialSecurityMiddleware")

# Argon2id first: new and changed passwords get it, and older PBKDF2 hashes
# are upgraded at the next successful login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Multi-factor authentication (django-allauth's MFA), offered to everyone at
# /accounts/2fa/ and required of officials before they act in their role
# (config.security.OfficialSecurityMiddleware). Only a development or demo
# machine may turn the requirement off.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Teller"
TELLER_REQUIRE_MFA_FOR_ROLES = env_bool("TELLER_REQUIRE_MFA_FOR_ROLES", default=True)
if TELLER_PRODUCTION and not TELLER_REQUIRE_MFA_FOR_ROLES:
    raise ImproperlyConfigured("TELLER_REQUIRE_MFA_FOR_ROLES cannot be off in production")
# An official's session ends after this long without a request; members keep
# Django's SESSION_COOKIE_AGE (two weeks), which a vote from home needs.
TELLER_OFFICIAL_IDLE_SECONDS = env_int("TELLER_OFFICIAL_IDLE_SECONDS", 30 * 60)
if TELLER_OFFICIAL_IDLE_SECONDS < 60:
    raise ImproperlyConfigured("TELLER_OFFICIAL_IDLE_SECONDS must be at least 60")

# Rate limits, kept in the cache (Redis in production, shared by all workers).
# How many proxies in front of Teller append to X-Forwarded-For: 0 means the
# connection's own address is the client's; with N, the N-th entry from the
# right is (entries further left are whatever the client sent, and are ignored).
TELLER_TRUSTED_PROXY_COUNT = env_int("TELLER_TRUSTED_PROXY_COUNT", 0)
if TELLER_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TELLER_TRUSTED_PROXY_COUNT cannot be negative")
ALLAUTH_TRUSTED_PROXY_COUNT = TELLER_TRUSTED_PROXY_COUNT
# allauth's limits for logins and password resets. Per address they are
# generous, because a whole council group may log in at once from one venue's
# network; per account they are tight, which is what stops password guessing.
# A failed login (or a wrong MFA code) counts against both "login_failed"
# limits; a successful one is taken back.
ACCOUNT_RATE_LIMITS = {
    "login": "300/m/ip",
    "login_failed": "60/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/h/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
# Posts to the ballot form (mark, review, change, cast) per person: voting
# takes a handful; a script hammering the casting transaction gets a 429.
TELLER_BALLOT_RATE = env_str("TELLER_BALLOT_RATE", "30/m")

# HTTPS. Behind a proxy that terminates TLS (TELLER_TRUSTED_PROXY_COUNT > 0),
# Django learns the scheme from X-Forwarded-Proto, which that proxy must set
# (overwriting any the client sent).
if TELLER_TRUSTED_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=TELLER_PRODUCTION)
SESSION_COOKIE_SECURE = TELLER_PRODUCTION
CSRF_COOKIE_SECURE = TELLER_PRODUCTION
# A year, with subdomains and preload, as the preload list asks. A first
# deployment may start lower with TELLER_HSTS_SECONDS while checking HTTPS works.
SECURE_HSTS_SECONDS = env_int("TELLER_HSTS_SECONDS", 365 * 24 * 3600 if TELLER_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = TELLER_PRODUCTION
SECURE_HSTS_PRELOAD = TELLER_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp), in every environment so that an inline
# script or style shows up in development, not first in production. Teller's
# pages use no JavaScript of their own; the charts are server-drawn SVG.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # data: for allauth's TOTP QR code
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
    },
}

# Error reports: emailed to ADMINS (comma-separated addresses), never with a
# ballot's form or local variables in them (config.security).
ADMINS = [(address, address) for address in env_list("ADMINS")]
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.security.BallotSafeExceptionReporterFilter"
