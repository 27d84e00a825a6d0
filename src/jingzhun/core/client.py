"""The client's address (AUTH-2, AUDIT-1): REMOTE_ADDR, or X-Forwarded-For when the request came
from a configured trusted proxy.

`settings.JINGZHUN_TRUSTED_PROXIES` (environment `JINGZHUN_TRUSTED_PROXIES`, comma-separated
addresses or CIDR networks) is empty by default: then the header is ignored, since any client can
send it. Behind a trusted proxy the client is the right-most X-Forwarded-For address that is not
itself a trusted proxy (each proxy appends the address it received the request from; addresses
further left were written by the client and prove nothing). The login lockout and the audit
events both read the address here.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def trusted_networks() -> tuple[Network, ...]:
    entries = getattr(settings, "JINGZHUN_TRUSTED_PROXIES", ())
    return _networks(tuple(e for e in entries if e.strip()))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: Iterable[Network]
) -> bool:
    return any(address in net for net in nets)


def client_ip(request: HttpRequest) -> str:
    """The address the request came from, as a string ("" when there is none)."""
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    nets = trusted_networks()
    peer = _address(remote)
    if not nets or peer is None or not _trusted(peer, nets):
        return remote
    # WSGI joins repeated headers with commas: one list, the last hop on the right.
    hops = str(request.META.get("HTTP_X_FORWARDED_FOR", "") or "").split(",")
    client = remote
    for hop in reversed([h for h in hops if h.strip()]):
        address = _address(hop)
        if address is None:
            break  # a malformed hop: nothing left of it can be trusted
        client = str(address)
        if not _trusted(address, nets):
            break
    return client
