"""End to end in a real browser: log in, search a household by name, open its card (issue 2).

Runs Debian's Chromium through Playwright for Python against pytest-django's live server. Set
JINGZHUN_SCREENSHOT_DIR to keep the screenshots (CI can upload them).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "Test-pass-2026"
MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")


def expect(locator: Any) -> Any:
    """Playwright's web-first assertion (waits without evaluating strings, which the CSP forbids)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _log_in(page: Any, username: str) -> None:
    """Fill the login form; county staff then enrol an authenticator on the 2FA page (AUTH-3),
    typing the code an authenticator app would show for the secret on the page."""
    import base64

    from django_otp.oath import totp

    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state()
    if "/account/2fa/setup/" in page.url:
        secret = page.locator("code.secret").first.inner_text().strip()
        page.fill("input[name=token]", f"{totp(base64.b32decode(secret)):06d}")
        page.click("button.primary")
        page.wait_for_selector("ul.codes")
        page.click("a.button.primary")
        page.wait_for_load_state()


def wait_until_offline_ready(page: Any) -> None:
    """Wait until the field page's service worker controls the page and holds its copy.

    Not `page.wait_for_function("async () => ...")`: Playwright polls the predicate without
    awaiting it, and a Promise is truthy, so such a wait returns at once. Under load the worker
    was then still installing when the test went offline, the reload was not the worker's to
    answer and failed with net::ERR_INTERNET_DISCONNECTED (CI, stop 32)."""
    page.evaluate(
        """async () => {
          for (let i = 0; i < 600; i++) {
            if (navigator.serviceWorker.controller
                && await caches.match(location.pathname, {ignoreSearch: true})) return;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          throw new Error("the service worker did not take the page within 30 s");
        }"""
    )


@pytest.fixture(autouse=True)
def _allow_sync_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an asyncio loop in this thread; Django would then refuse ORM
    # calls made here. Only this module's tests get the exemption (Django reads it per call).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip(
            "no chromium binary on the PATH or at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = context.new_page()
        external: list[str] = []
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith(("http://localhost", "data:")) else external.append(r.url)
            ),
        )
        yield page
        context.close()
        browser.close()
        # ORM calls made while Playwright's loop runs use their own connection (Django keys
        # connections by async context); close it here or PostgreSQL cannot drop the test database.
        from django.db import connections

        connections.close_all()
        assert external == [], f"the page asked for external URLs: {external}"


def _screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    keep = os.environ.get("JINGZHUN_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB(A) PNG into rows of raw pixels (enough to tell a blank page)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, previous = (
        zlib.decompress(idat),
        width * channels,
        [],
        bytearray(width * channels),
    )
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, up_left = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[x] = (
                    line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)
                ) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def _assert_not_blank(path: Path) -> None:
    """Sample every 8th pixel: a rendered page has many colours and is not all background."""
    width, height, rows = _png_pixels(path)
    assert (width, height) == (1366, 768)
    step = (len(rows[0]) // width) * 8
    sampled = Counter(row[x : x + 3] for row in rows[::8] for x in range(0, len(row), step))
    background_share = sampled.most_common(1)[0][1] / sum(sampled.values())
    assert len(sampled) > 20, "the screenshot has almost no distinct colours"
    assert background_share < 0.95, "the screenshot is nearly all one colour"


def test_log_in_search_by_name_and_open_the_card(
    transactional_db: Any, world: Any, live_server: Any, browser_page: Any, tmp_path: Path
) -> None:
    from jingzhun.registry.models import Member

    page = browser_page
    household = world.households["230231100202"]
    id_numbers = sorted([m.id_number for m in Member.objects.filter(household=household)])

    # Given the county user on the login page
    page.goto(f"{live_server.url}/households/")
    assert "/login/" in page.url
    _screenshot(page, tmp_path, "login")
    _log_in(page, "county")
    # When they open the household list, search the head's name and open the household
    page.goto(f"{live_server.url}/households/")
    assert page.locator("#households tbody tr").count() == 4
    _screenshot(page, tmp_path, "households")
    page.fill("input[name=q]", "李四")
    page.click("#search-form button.primary")
    expect(page.locator("#households tbody tr")).to_have_count(1)
    # HTMX swapped the results in place: the search term is not in the URL
    assert page.url == f"{live_server.url}/households/"
    assert page.locator("#households tbody tr td").first.inner_text() == "H100202"
    page.click("#households >> text=李四")
    page.wait_for_url(f"{live_server.url}/households/{household.pk}/")
    # Then the card shows the members, their ID numbers masked and never in full
    cells = page.locator("#members td.mono").all_inner_texts()
    assert len(cells) == 2
    assert all(MASKED_ID.match(cell) for cell in cells), cells
    assert sorted(f"{n[:6]}********{n[-4:]}" for n in id_numbers) == sorted(cells)
    html = page.content()
    assert not any(n in html for n in id_numbers)
    assert "李四" in page.locator("h1").inner_text()
    shot = _screenshot(page, tmp_path, "household_card")
    _assert_not_blank(shot)


def test_overview_switches_to_english(
    transactional_db: Any, world: Any, live_server: Any, browser_page: Any, tmp_path: Path
) -> None:
    from jingzhun.analytics.actions import do_refresh_indicators

    do_refresh_indicators(None, actor=None)  # the overview reads the stored figures (ADR 0065)
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    _log_in(page, "county")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text().startswith("总览")
    _screenshot(page, tmp_path, "overview_zh")
    page.click("button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").inner_text().startswith("Overview")
    assert page.locator("#breakdown").is_visible()
    _assert_not_blank(_screenshot(page, tmp_path, "overview_en"))


def test_pager_buttons_page_through_results_in_place(
    transactional_db: Any, world: Any, live_server: Any, browser_page: Any
) -> None:
    # Given 55 more households in one village (59 in the county), 50 a page
    from conftest import make_id

    from jingzhun.registry.actions import do_create_household

    for i in range(55):
        head = {
            "id_number": make_id("230231", "19800101", 100 + i),
            "name": f"户主{i}",
            "relation": "head",
        }
        do_create_household(f"H9{i:05d}", "230231100201", {}, [head], actor=None)
    page = browser_page
    page.goto(f"{live_server.url}/login/?next=/households/")
    _log_in(page, "county")
    page.goto(f"{live_server.url}/households/")
    assert page.locator("#households tbody tr").count() == 50
    first = page.locator("#households tbody tr td:first-child").all_inner_texts()
    # When the next-page button is pressed (HTMX posts the form with the last code shown: keyset
    # pages, core.paging)
    page.click(".pager button[name='after']")
    expect(page.locator("#households tbody tr")).to_have_count(9)
    # Then the second page is shown in place, with the count and its first and last codes
    assert "共 59 户" in page.locator(".count").inner_text()
    second = page.locator("#households tbody tr td:first-child").all_inner_texts()
    assert second[0] > first[-1] and f"本页 {second[0]} 至 {second[-1]}" in page.content()
    # and the previous-page button leads back to the first page
    page.click(".pager button[name='before']")
    expect(page.locator("#households tbody tr")).to_have_count(50)
    assert page.locator("#households tbody tr td:first-child").all_inner_texts() == first
    assert page.url == f"{live_server.url}/households/"


def test_the_roster_button_downloads_a_file_and_the_search_still_swaps_in_place(
    transactional_db: Any, world: Any, live_server: Any, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "township")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/households/")
    assert page.locator("#households tbody tr").count() == 2
    # The export button posts the filters as an ordinary form: the browser gets a file
    with page.expect_download() as info:
        page.click("#exports button[formaction='/exports/roster/']")
    target = tmp_path / "roster.xlsx"
    info.value.save_as(target)
    assert info.value.suggested_filename.startswith("roster-")
    assert target.read_bytes()[:2] == b"PK"
    # and the page is still the list, whose search still swaps results in place
    page.fill("input[name=q]", "张三")
    page.click("#search-form button.primary")
    expect(page.locator("#households tbody tr")).to_have_count(1)
    assert page.url == f"{live_server.url}/households/"
