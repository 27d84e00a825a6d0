"""Test settings: DATABASE_URL picks SQLite (default, a temporary test database) or PostgreSQL."""

from .base import *  # noqa: F403

DEBUG = False
# Argon2 stays the hasher (stored hashes are checked), with cheap parameters for speed.
PASSWORD_HASHERS = ["jingzhun.core.hashers.FastArgon2PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# SQLite tests use a database file (not Django's shared in-memory one) so that DuckDB, which reads
# the registry over its own connection for bulk work, can attach it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import os
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"jingzhun-test-{os.getpid()}.sqlite3")
    }

# Background jobs go on the database queue as in production (TASKS in base); a test's transaction
# never commits, so they stay queued: tests run them with the apps' run_pending() or
# `jingzhun worker --batch` (core.jobs).
