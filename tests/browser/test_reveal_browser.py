"""Reveal of a masked field on the household card in Chromium (PII-1): the "查看" button asks for a
reason, the value appears in place (HTMX, no page load), and the audit log holds the reveal with
that reason. A user without the permission sees no button. Also checks the TOTP enrolment page's
QR code is an inline SVG drawn on the server (no image request)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    _log_in,
    _screenshot,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser
VILLAGE = "230231100201"


def test_reveal_a_masked_id_number_with_a_reason(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
    tmp_path: Path,
) -> None:
    from jingzhun.access.actions import do_set_unmasked_export
    from jingzhun.audit.models import AuditEvent

    household = world.households[VILLAGE]
    member = household.members.get(relation="head")
    do_set_unmasked_export(world.user("county"), True, actor=None)
    page, base = browser_page, live_server.url

    page.goto(f"{base}/login/?next=/households/{household.pk}/")
    _log_in(page, "county")  # county staff enrol a second factor: the page shows the QR code
    page.goto(f"{base}/households/{household.pk}/")
    slot = page.locator(f"#reveal-id_number-{member.pk}")
    expect(slot.locator(".masked-value")).not_to_have_text(member.id_number)
    loads: list[str] = []
    page.on("load", lambda _page: loads.append("load"))
    slot.locator("summary").click()
    # the reason is required: an empty one is stopped by the browser (the server refuses it too)
    slot.locator("button[type=submit]").click()
    assert not AuditEvent.objects.filter(event="registry.field.reveal").exists()
    slot.locator("input[name=reason]").fill("核对低保申请身份")
    slot.locator("button[type=submit]").click()
    expect(slot.locator(".revealed")).to_have_text(member.id_number)
    assert loads == []  # swapped in place, no page load
    # the other fields stay masked
    expect(page.locator("#reveal-phone .masked-value")).not_to_have_text(household.phone)
    _screenshot(page, tmp_path, "reveal")
    event = AuditEvent.objects.get(event="registry.field.reveal")
    assert (event.outcome, event.reason, event.actor_name) == (
        "success",
        "核对低保申请身份",
        "county",
    )
    assert (event.object_type, event.object_id) == ("member", str(member.pk))


def test_no_reveal_button_without_the_permission_and_the_qr_is_inline_svg(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811
) -> None:
    household = world.households[VILLAGE]
    page, base = browser_page, live_server.url
    images: list[str] = []
    page.on("request", lambda r: images.append(r.url) if r.resource_type == "image" else None)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "county")
    page.fill("input[name=password]", "Test-pass-2026")
    page.click("button.primary")
    page.wait_for_url(f"{base}/account/2fa/setup/")
    qr = page.locator("#otp-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] > 100
    assert images == []
    _log_in_rest(page)
    page.goto(f"{base}/households/{household.pk}/")
    expect(page.locator("#reveal-phone .masked-value")).to_be_visible()
    assert page.locator("details.reveal").count() == 0


def _log_in_rest(page: Any) -> None:
    """Finish the enrolment started on the 2FA page (as `_log_in` does after the password)."""
    import base64

    from django_otp.oath import totp

    secret = page.locator("code.secret").first.inner_text().strip()
    page.fill("input[name=token]", f"{totp(base64.b32decode(secret)):06d}")
    page.click("button.primary")
    page.wait_for_selector("ul.codes")
    page.click("a.button.primary")
    page.wait_for_load_state()
