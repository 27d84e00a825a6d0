"""No full ID number, bank card or phone number in any log output (PII-3): the request log, the
exception text and every handler, Django's, runserver's and gunicorn's included."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import make_id
from django.conf import settings
from django.test import Client
from django.utils.log import configure_logging

from jingzhun.core.logging import RedactPIIFilter, install_redaction

ID = make_id("230231", "19690814", 1)
MASKED = f"230231********{ID[-4:]}"
PHONE = "13912345678"


def _all_handlers() -> list[logging.Handler]:
    """Every handler of every logger, but pytest's own (it adds them around each test)."""
    loggers: list[Any] = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = [h for lg in loggers for h in getattr(lg, "handlers", [])]
    return [h for h in handlers if not type(h).__module__.startswith("_pytest")]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Django's logging set up as in production, with a gunicorn worker's handlers made before
    it; every stream handler then writes into one buffer. Restored afterwards."""
    gunicorn = logging.getLogger("gunicorn.error")
    server_handler = logging.StreamHandler(sys.stderr)
    gunicorn.addHandler(server_handler)
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    buffer = io.StringIO()
    streams = {}
    for handler in _all_handlers():
        if isinstance(handler, logging.StreamHandler):
            streams[handler] = handler.setStream(buffer)
    yield buffer
    for handler, stream in streams.items():
        handler.setStream(stream)
    gunicorn.removeHandler(server_handler)
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def test_the_filter_redacts_the_message_the_traceback_and_the_stack() -> None:
    try:
        raise ValueError(f"bad number {ID}")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "for %s, call %s", (ID, PHONE), sys.exc_info()
        )
    record.stack_info = f"Stack (most recent call last):\n  number = {ID}"
    RedactPIIFilter().filter(record)
    text = logging.Formatter().format(record)
    assert ID not in text and PHONE not in text
    assert MASKED in text and "bad number" in text and "139****5678" in text


@pytest.mark.urls("jingzhun.core.tests.boom_urls")
def test_no_request_or_exception_puts_a_full_id_number_in_any_log(
    db: Any, log_output: io.StringIO
) -> None:
    # Given every handler there is (Django's, the root's, a gunicorn worker's) writing to a buffer
    assert all(any(isinstance(f, RedactPIIFilter) for f in h.filters) for h in _all_handlers())
    client = Client(raise_request_exception=False)
    # When a request fails with the ID number in its URL, its body and its exception's text
    response = client.post(f"/boom/{ID}/", data=f"id={ID}", content_type="text/plain")
    assert response.status_code == 500
    # and a 404 names it in the URL, runserver logs the request line, a server logs an error
    assert client.get(f"/nowhere/{ID}/?phone={PHONE}").status_code == 404
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /x/?id={ID} HTTP/1.1", 200, 5)
    try:
        raise RuntimeError(f"worker failed on {ID}")
    except RuntimeError:
        logging.getLogger("gunicorn.error").exception("Error handling request /x/%s", ID)
    # Then the logs tell what happened, with every number masked
    text = log_output.getvalue()
    assert "Internal Server Error" in text and "Traceback" in text and "Not Found" in text
    assert "worker failed on" in text and "GET /x/?id=" in text
    assert ID not in text and PHONE not in text
    assert text.count(MASKED) >= 5


def test_install_redaction_leaves_a_handler_with_the_filter_alone() -> None:
    handler = logging.StreamHandler(io.StringIO())
    install_redaction([handler])
    install_redaction([handler])
    assert len(handler.filters) == 1


def test_gunicorns_error_and_access_logs_are_redacted(tmp_path: Any) -> None:
    from gunicorn.config import Config

    from jingzhun.core.gunicorn_logger import GunicornLogger

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    log = GunicornLogger(cfg)
    try:
        log.access_log.info("%(r)s %(s)s", {"r": f"GET /households/?q={ID} HTTP/1.1", "s": "400"})
        try:
            raise RuntimeError(f"failed on {ID}")
        except RuntimeError:
            log.exception("Error handling request /x/%s", ID)
    finally:
        for handler in [*log.error_log.handlers, *log.access_log.handlers]:
            handler.close()
        log.error_log.handlers.clear()
        log.access_log.handlers.clear()
    access = (tmp_path / "access.log").read_text()
    error = (tmp_path / "error.log").read_text()
    assert "GET /households/?q=" in access and "failed on" in error and "Traceback" in error
    assert ID not in access + error and MASKED in access and MASKED in error
