"""The TOTP enrolment page shows the otpauth:// URI as an inline SVG QR code drawn on the server
(segno, no CDN, no JavaScript) next to the text secret."""

from __future__ import annotations

from base64 import b32encode
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import segno
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from jingzhun.web.qr import qr_svg

pytestmark = pytest.mark.django_db


def _matrix_from_svg(svg: str, size: int, border: int = 4, scale: int = 4) -> list[list[bool]]:
    """Read the dark modules back from segno's path (h/m commands of one-module-high runs)."""
    import re

    path = re.search(r'stroke="#000" d="([^"]+)"', svg)
    assert path is not None
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(
        r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1).replace(",", " ")
    ):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:  # h: a dark run of `a` modules on row y - 0.5
            row = int(y - 0.5) - border
            for col in range(int(x) - border, int(x + float(a)) - border):
                grid[row][col] = True
            x += float(a)
    return grid


def test_enrolment_page_shows_an_svg_qr_code_of_the_account_uri(world: Any) -> None:
    client = Client()
    assert (
        client.post("/login/", {"username": "county", "password": "Test-pass-2026"}).status_code
        == 302
    )
    page = client.get("/account/2fa/setup/")
    html = page.content.decode()
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user__username="county", confirmed=False)
    secret = b32encode(device.bin_key).decode("ascii")
    assert secret in html  # the text secret is still shown
    uri = device.config_url
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path).endswith("county")  # the account's label
    query = parse_qs(parts.query)
    assert query["secret"] == [secret] and query["issuer"] == ["精准 Jingzhun"]
    # the page carries exactly the QR code of that URI, inline, with no script or image link
    svg = qr_svg(uri, title="认证器二维码")
    assert str(svg) in html and "<svg" in html
    assert "<img" not in html.split('id="otp-qr"')[1].split("</div>")[0]
    # and the drawn modules are those of the URI's QR code (read back from the SVG path)
    code = segno.make(uri, error="m", micro=False)
    size = code.symbol_size(scale=1, border=0)[0]
    expected = [[bool(v) for v in row] for row in code.matrix]
    assert _matrix_from_svg(str(svg), size) == expected


def test_the_qr_title_is_escaped() -> None:
    svg = str(qr_svg("otpauth://totp/x?secret=AAAA", title='<script>alert("x")</script>'))
    assert "<script>" not in svg and svg.startswith("<svg")
