"""Redaction of ID numbers, bank card numbers and phone numbers in every log output (PII-3).

`RedactPIIFilter` rewrites a record before a handler formats it: the message with its
arguments, the exception text (traceback) and the stack text. `configure` (settings'
LOGGING_CONFIG) applies the LOGGING dict, then attaches the filter to every handler of every
logger: the root's, Django's own (`django`, `django.request`, `django.server`: runserver's
request log) and those a server made before Django started (gunicorn's error and access logs in
a worker). `core.gunicorn_logger.GunicornLogger` does the same in gunicorn's master process.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

_ID = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9])")
_CARD = re.compile(r"(?<![0-9])\d{12,15}(\d{4})(?![0-9])")
_PHONE = re.compile(r"(?<![0-9])(1[3-9]\d)\d{4}(\d{4})(?![0-9])")
_FORMATTER = logging.Formatter()


def redact(text: str) -> str:
    text = _ID.sub(lambda m: f"{m.group(1)}********{m.group(2)[-4:]}", text)
    text = _CARD.sub(lambda m: f"****{m.group(1)}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


class RedactPIIFilter(logging.Filter):
    """Redacts the record in place, so every handler after it (and the formatter) sees no PII."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set: format the traceback once, redacted.
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_REDACT = RedactPIIFilter()


def install_redaction(handlers: list[logging.Handler] | None = None) -> None:
    """Attach the filter to `handlers`, by default to every handler of every logger (and to the
    last-resort handler); a handler that has it already is left as it is."""
    if handlers is None:
        loggers: list[Any] = [logging.getLogger()]
        loggers += [lg for lg in logging.Logger.manager.loggerDict.values()]
        handlers = [h for lg in loggers for h in getattr(lg, "handlers", [])]
        if logging.lastResort is not None:
            handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, RedactPIIFilter) for f in handler.filters):
            handler.addFilter(_REDACT)


def configure(config: dict[str, Any]) -> None:
    """LOGGING_CONFIG: dictConfig, then redaction on every handler there is."""
    logging.config.dictConfig(config)
    install_redaction()
