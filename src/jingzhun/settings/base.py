"""Settings shared by every deployment. The database comes from DATABASE_URL (SQLite or PostgreSQL)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from jingzhun.core.fieldkeys import load_field_keys, load_index_key

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# var/ holds the embedded database, the generated secret key and uploads. It defaults to the
# current working directory's var/ so `jingzhun demo` run from a checkout keeps data in the checkout.
VAR_DIR = Path(os.environ.get("JINGZHUN_VAR_DIR", Path.cwd() / "var")).resolve()
# Everything the application creates (the SQLite database and its journal, var/: keys, uploads,
# evidence, snapshots, exports, DuckDB work files) is readable by its own account only: files
# 0600, directories 0700 (issue 20 item 5). Set here because every entry point (the `jingzhun`
# commands, the worker, gunicorn, tests) loads the settings before it writes anything.
os.umask(0o077)

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'jingzhun.sqlite3'}"


def database_from_url(url: str) -> dict[str, Any]:
    """Turn a DATABASE_URL into Django's DATABASES entry, with SQLite tuned for WAL and concurrency."""
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = str(config["NAME"])
        if name and name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            # WAL lets readers work while the generator or an import writes; IMMEDIATE makes a
            # writing transaction take the lock at BEGIN so two writers queue instead of failing.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA busy_timeout=20000;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
        config["TEST"] = {"NAME": None}
    return config


def load_secret_key() -> str:
    """Read JINGZHUN_SECRET_KEY, or keep a random key in var/ for embedded installs."""
    key = os.environ.get("JINGZHUN_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_audit_keys() -> list[str]:
    """The audit chain's HMAC keys, oldest first; the last one signs new events (ADR 0050).

    Kept outside the database: JINGZHUN_AUDIT_KEY (the current key) and/or a file, one key per
    line, oldest first (JINGZHUN_AUDIT_KEY_FILE, default var/audit_key, created 0600 with one
    random key when neither exists). Earlier keys stay in the file to verify older events.
    """
    path = Path(os.environ.get("JINGZHUN_AUDIT_KEY_FILE", VAR_DIR / "audit_key"))
    keys = [line.strip() for line in path.read_text().splitlines()] if path.exists() else []
    keys = [k for k in keys if k]
    current = os.environ.get("JINGZHUN_AUDIT_KEY", "").strip()
    if current:
        return [k for k in keys if k != current] + [current]
    if not keys:
        # Several server processes may start at once: the first to link its file wins, and all
        # of them read that one (a key held only in memory would sign unverifiable events).
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(secrets.token_hex(32) + "\n")
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
        keys = [k for k in (line.strip() for line in path.read_text().splitlines()) if k]
    return keys


DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
DATABASES = {"default": database_from_url(DATABASE_URL)}

DEBUG = os.environ.get("JINGZHUN_DEBUG", "") == "1"
ALLOWED_HOSTS = [
    h for h in os.environ.get("JINGZHUN_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "jingzhun.core",
    "jingzhun.regions",
    "jingzhun.audit",
    "jingzhun.access",
    "jingzhun.registry",
    "jingzhun.assessments",
    "jingzhun.imports",
    "jingzhun.exports",
    "jingzhun.workflows",
    "jingzhun.assistance",
    "jingzhun.feeds",
    "jingzhun.inspection",
    "jingzhun.scoring",
    "jingzhun.selfcheck",
    "jingzhun.projects",
    "jingzhun.tickets",
    "jingzhun.duty",
    "jingzhun.credit",
    "jingzhun.assets",
    "jingzhun.points",
    "jingzhun.demo",
    "jingzhun.policy",
    "jingzhun.analytics",
    "jingzhun.backup",
    "jingzhun.web",
    "jingzhun.api",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",  # serves the API docs' Swagger UI from its own static files, not a CDN
    "django_tasks",
    "django_tasks_db",  # the task queue's table (its migrations come with the package)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jingzhun.core.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "jingzhun.web.middleware.AccountSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "jingzhun.core.middleware.RequestContextMiddleware",
    "jingzhun.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "jingzhun.urls"
WSGI_APPLICATION = "jingzhun.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "jingzhun.access.passwords.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "jingzhun.access.passwords.PersonalDataValidator"},
]
# AUTH-1: a password older than this must be changed at the next page; the last 5 are not reused.
JINGZHUN_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("JINGZHUN_PASSWORD_MAX_AGE_DAYS", "90"))
JINGZHUN_PASSWORD_HISTORY = 5
# AUTH-2: 5 failures in 15 minutes lock the account for 30 minutes; 30 failures lock the IP.
JINGZHUN_LOCKOUT = {"failures": 5, "window_minutes": 15, "lock_minutes": 30, "ip_failures": 30}
# Proxies whose X-Forwarded-For names the client (addresses or CIDR networks; none by default, so
# the header is ignored). The deployment guide's nginx on the same host: 127.0.0.1.
# A malformed entry stops the server at start (ValueError naming it).
JINGZHUN_TRUSTED_PROXIES = [
    str(ipaddress.ip_network(p.strip(), strict=False))
    for p in os.environ.get("JINGZHUN_TRUSTED_PROXIES", "").split(",")
    if p.strip()
]
# API tokens stop authenticating this many days after they are issued.
JINGZHUN_API_TOKEN_DAYS = int(os.environ.get("JINGZHUN_API_TOKEN_DAYS", "90"))
# AUTH-3 and the deployment notes: "level-3 mode" asks every account for a second factor.
JINGZHUN_LEVEL3 = os.environ.get("JINGZHUN_LEVEL3", "") == "1"
# AUDIT-3: audit events are kept at least this long (ImproperlyConfigured below 180 days).
JINGZHUN_AUDIT_RETENTION_DAYS = os.environ.get("JINGZHUN_AUDIT_RETENTION_DAYS", "180")
OTP_TOTP_ISSUER = "精准 Jingzhun"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# Source strings are Simplified Chinese (the users' language); English is a translation.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "access.User"

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:overview"
LOGOUT_REDIRECT_URL = "web:login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# AUTH-3: a session ends after 30 idle minutes and 12 hours after login at the latest
# (web.middleware.AccountSecurityMiddleware). The session is saved, and its expiry moved, when a
# request comes more than a minute after the last save (not on every request: ADR 0026), so it
# ends 29-30 minutes after the last request.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = False
JINGZHUN_SESSION_TOUCH_SECONDS = 60
JINGZHUN_SESSION_ABSOLUTE_SECONDS = 12 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

SECRET_KEY = load_secret_key()
JINGZHUN_AUDIT_KEYS = load_audit_keys()
# Field encryption (PII-2, ADR 0058): versioned field keys ("<version> <algorithm> <hex>", oldest
# first) and the blind-index key, outside the database (core.fieldkeys): JINGZHUN_FIELD_KEY /
# JINGZHUN_FIELD_KEY_FILE (var/field_keys) and JINGZHUN_INDEX_KEY / JINGZHUN_INDEX_KEY_FILE
# (var/index_key), created 0600 on first start of an embedded install; production must set them.
JINGZHUN_FIELD_KEYS = load_field_keys(VAR_DIR)
JINGZHUN_INDEX_KEY = load_index_key(VAR_DIR)

# Redaction (PII-3) on every handler: `configure` attaches the filter to all of them, Django's
# and a server's included, after applying LOGGING.
LOGGING_CONFIG = "jingzhun.core.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_pii": {"()": "jingzhun.core.logging.RedactPIIFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_pii"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# DuckDB (bulk work) spills to var/duckdb_tmp beyond this; without a limit it would take 80% of
# the machine. 3 GB kept ten million households under 3.5 GiB peak with no loss of speed (B4).
DUCKDB_MEMORY_LIMIT = os.environ.get("JINGZHUN_DUCKDB_MEMORY", "3GB")
# the indicator refresh (analytics): peak RSS 4,454 MiB at 10 million persons (ADR 0037); at the
# 3 GB above, the previous code spilled 11 GB to var/duckdb_tmp
ANALYTICS_DUCKDB_MEMORY = os.environ.get("JINGZHUN_ANALYTICS_DUCKDB_MEMORY", "6GB")
# Probabilistic linking of roster rows without a usable ID number (feeds.linking, Splink on
# DuckDB; ADR 0067): a row is linked at match probability >= `match`
# when no other resident reaches `review`; candidates in [review, match) go to the review queue.
# The prior is 1 in the registry's size, never more than 1 in `prior_floor` (small registries).
# Tuned on B7's planted truth (docs/benchmarks.md).
FEEDS_LINKING = {
    "match": float(os.environ.get("JINGZHUN_LINK_MATCH", "0.99")),
    "review": float(os.environ.get("JINGZHUN_LINK_REVIEW", "0.1")),
    "prior_floor": 1_000_000,
    "keep": 3,  # candidates of a row shown for review
    "memory": os.environ.get("JINGZHUN_LINK_DUCKDB_MEMORY", "6GB"),
}

# The exact match of roster rows on the ID number's blind index (feeds.actions.match_batch,
# ADR 0084 exact-match-in-duckdb): batches with at least `duckdb_rows` indexed rows are matched
# in DuckDB (feeds.exact, matcher `method`: "plain", the join of the index strings, or "keyed",
# the join on a 64-bit key of the index with the strings compared after it: the same CPU in B6),
# smaller ones in the database.
FEEDS_EXACT = {
    "method": os.environ.get("JINGZHUN_EXACT_MATCH", "plain"),
    "duckdb_rows": int(os.environ.get("JINGZHUN_EXACT_DUCKDB_ROWS", "500000")),
    "memory": os.environ.get("JINGZHUN_EXACT_DUCKDB_MEMORY", "4GB"),
}

# The public self-report page (农户自主申报, feeds.reports; ADR self-report-and-hotline): at most
# `per_hour` and `per_day` submissions (accepted or refused) per client address (core.client);
# a captcha is valid for `captcha_seconds` and for one answer.
SELF_REPORT_LIMITS = {
    "per_hour": int(os.environ.get("JINGZHUN_SELF_REPORT_PER_HOUR", "5")),
    "per_day": int(os.environ.get("JINGZHUN_SELF_REPORT_PER_DAY", "20")),
    "captcha_seconds": 600,
}

# Limits on every uploaded file that is parsed (rosters: .xlsx/.xls/.csv; GeoJSON boundaries),
# ADR 0051. The parse runs in a child process under the first three; a workbook's ZIP container
# and its sheets' ranges are checked against the rest before any reader sees it. A county's
# 300,000-person .xlsx roster (66 columns: 20 million cells, about 1 GB of sheet XML, 11:1
# compression, 2 GB of memory while read) passes with room to spare.
IMPORT_LIMITS = {
    "memory_mb": int(os.environ.get("JINGZHUN_IMPORT_MEMORY_MB", "4096")),  # address space
    "cpu_seconds": 300,  # CPU time of the child
    "wall_seconds": 600,  # how long the caller waits for it, in all
    "zip_entries": 1000,  # parts in the ZIP container
    "uncompressed_mb": 3072,  # all parts inflated
    "compression_ratio": 100,  # inflated : stored, per part of 1 MB or more and in all
    "sheet_rows": 1_048_576,  # Excel's own limit
    "sheet_columns": 1000,  # a roster has about 70
    "sheet_cells": 40_000_000,  # rows x columns of a sheet's range (calamine holds every one)
    "scan_mb": 4,  # sheet XML read for far cells before the child takes over
    "geojson_depth": 32,  # nesting of arrays and objects (a MultiPolygon feature: 7)
}

# Background jobs (imports, indicator refreshes; core.jobs, ADR 0049) go on a task queue in the
# database and run in `jingzhun worker`, never in threads of the web server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Files (uploads, progress) of failed or abandoned jobs are removed after this many days; a job
# still queued after it is abandoned.
JOB_RETENTION_DAYS = float(os.environ.get("JINGZHUN_JOB_RETENTION_DAYS", "7"))
# A roster export of more households than this (a whole county) is written by the worker and
# downloaded from its job page when done, instead of inside the request.
EXPORT_INLINE_MAX_HOUSEHOLDS = int(os.environ.get("JINGZHUN_EXPORT_INLINE_MAX_HOUSEHOLDS", "5000"))

# An approved request for an unmasked export (PII-4) is valid once, for this many hours.
UNMASKED_EXPORT_APPROVAL_HOURS = int(
    os.environ.get("JINGZHUN_UNMASKED_EXPORT_APPROVAL_HOURS", "24")
)
