"""Test settings: DATABASE_URL picks SQLite (default, a temporary test database) or PostgreSQL."""

from .base import *  # noqa: F403

DEBUG = False
# Argon2 stays the hasher (stored hashes are checked), with cheap parameters for speed.
PASSWORD_HASHERS = ["jingzhun.core.hashers.FastArgon2PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
