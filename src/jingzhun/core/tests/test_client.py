"""The client address: X-Forwarded-For only from a configured trusted proxy."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from jingzhun.core.client import client_ip


def ip_of(remote: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.JINGZHUN_TRUSTED_PROXIES = []
    assert ip_of("198.51.100.4", "203.0.113.9") == "198.51.100.4"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # one trusted proxy: the address it appended
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        # a client-written address on the left proves nothing: the right-most untrusted one wins
        ("127.0.0.1", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # two trusted proxies in a row (a network given as CIDR)
        ("127.0.0.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),
        # an untrusted peer's header is ignored
        ("198.51.100.4", "203.0.113.9", "198.51.100.4"),
        # a trusted proxy without the header, or with a malformed last hop, is the address itself
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "203.0.113.9, not-an-ip", "127.0.0.1"),
        # every hop trusted: the left-most of them
        ("127.0.0.1", "10.0.0.5", "10.0.0.5"),
        ("::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_a_trusted_proxys_forwarded_address(
    settings: Any, remote: str, forwarded: str | None, client: str
) -> None:
    settings.JINGZHUN_TRUSTED_PROXIES = ["127.0.0.1", "::1", "10.0.0.0/8"]
    assert ip_of(remote, forwarded) == client
