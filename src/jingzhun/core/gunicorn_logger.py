"""gunicorn's logger with PII redaction on its error and access logs (PII-3).

Serve with `gunicorn --logger-class jingzhun.core.gunicorn_logger.GunicornLogger …`: the master
process's log and every handler gunicorn (re)creates on start and reload are redacted. (Workers
are covered without it too: Django's logging setup attaches the filter to every handler there
is, see `core.logging.configure`.)
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from .logging import install_redaction


class GunicornLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_redaction([*self.error_log.handlers, *self.access_log.handlers])
