"""The public self-report page in Chromium (issue 22 item 4): without signing in, a household
fills in the form, a wrong captcha is refused in Chinese and nothing is written; the right one
(read from the server-side session, as the person reads the picture) files the report, which
opens a monitoring identification case in the household's village."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import VILLAGES, make_id

from .test_browser import (  # noqa: F401 - fixtures used by name
    _allow_sync_orm_beside_playwright,
    browser_page,
    expect,
)

pytestmark = pytest.mark.browser


def _answer(page: Any) -> str:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    from jingzhun.web import captcha

    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    return str(SessionStore(session_key=cookie["value"]).load()[captcha.SESSION_KEY]["answer"])


def test_a_household_reports_itself_on_the_public_page(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported from test_browser
) -> None:
    from jingzhun.feeds.models import Clue
    from jingzhun.workflows.models import Case

    page, base = browser_page, live_server.url
    village = VILLAGES["230231100000"][0]
    page.goto(f"{base}/login/")
    page.get_by_role("link", name="农户自主申报（无需登录）").click()
    page.wait_for_url(f"{base}/report/")
    expect(page.locator("#captcha-image")).to_be_visible()
    assert page.evaluate("document.getElementById('captcha-image').naturalWidth") == 170
    page.get_by_label("姓名").fill("张三")
    page.get_by_label("身份证号码").fill(make_id("230231", "19700101", 3))
    page.get_by_label("联系电话").fill("13900001111")
    page.get_by_label("所在村").select_option(village)
    page.get_by_label("遇到的困难").fill("今年因病住院，自付医疗费八万元")
    page.get_by_label("验证码", exact=True).fill("WRONG")
    page.get_by_role("button", name="提交申报").click()
    page.wait_for_load_state()
    expect(page.locator(".field-error")).to_contain_text("验证码不正确")
    assert Clue.objects.count() == 0
    # the form keeps what was typed; a new picture, its answer
    expect(page.get_by_label("姓名")).to_have_value("张三")
    page.get_by_label("验证码", exact=True).fill(_answer(page))
    page.get_by_role("button", name="提交申报").click()
    page.wait_for_load_state()
    expect(page.locator("#self-report-done")).to_contain_text("村干部会尽快与您联系")
    clue = Clue.objects.get()
    case = Case.objects.get(kind="monitoring")
    assert (clue.village_id, clue.case_id, case.route) == (village, case.pk, "self_report")
