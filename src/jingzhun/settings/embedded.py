"""The embedded single-office deployment: SQLite under var/ unless DATABASE_URL says otherwise."""

from .base import *  # noqa: F403
