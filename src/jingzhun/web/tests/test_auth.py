"""Login, logout, the login requirement and the policy marker on every web view."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from jingzhun.audit.models import AuditEvent
from jingzhun.registry.models import Household
from jingzhun.web.policies import POLICY_ATTR

from .conftest import PASSWORD, body

WRONG_LOGIN = "用户名或密码不正确。"


def test_login_with_the_right_password_lands_on_the_overview(world: Any) -> None:
    # Given the township user (no second factor required: see access/tests/test_otp.py)
    client = Client()
    # When they log in
    response = client.post("/login/", {"username": "township", "password": PASSWORD})
    # Then they are sent to the overview and can open it
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_ignores_case_and_surrounding_spaces_in_the_username(world: Any) -> None:
    response = Client().post("/login/", {"username": " County ", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("username", ["county", "nobody"])
def test_wrong_password_and_unknown_user_get_the_same_chinese_error(
    world: Any, username: str
) -> None:
    # Given a wrong password for an existing user, or any password for an unknown one
    client = Client()
    sessions = Session.objects.count()
    # When they try to log in
    response = client.post("/login/", {"username": username, "password": "Wrong-pass-2026"})
    # Then the login page comes back with one and the same Chinese message, and no session exists
    assert response.status_code == 200
    assert WRONG_LOGIN in body(response)
    assert Session.objects.count() == sessions
    assert client.get("/").status_code == 302


def test_the_password_is_not_written_back_into_the_login_page(world: Any) -> None:
    response = Client().post("/login/", {"username": "county", "password": "Wrong-pass-2026"})
    assert "Wrong-pass-2026" not in body(response)


@pytest.mark.parametrize("path", ["/", "/households/", "/households/1/"])
def test_anonymous_is_sent_to_login(world: Any, path: str) -> None:
    households, events = Household.objects.count(), AuditEvent.objects.count()
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert (Household.objects.count(), AuditEvent.objects.count()) == (households, events)


def test_anonymous_post_search_is_sent_to_login_without_searching(world: Any) -> None:
    response = Client().post("/households/", {"q": "张三"})
    assert response.status_code == 302
    assert "张三" not in body(response)


def test_logout_is_a_post_and_ends_the_server_session(world: Any, client_for: Any) -> None:
    # Given a signed-in user
    client = client_for("county")
    sessions = Session.objects.count()
    # When they try to log out by GET, nothing happens; by POST, the session is deleted
    assert client.get("/logout/").status_code == 405
    assert Session.objects.count() == sessions
    response = client.post("/logout/")
    # Then they land on the login page and pages need a login again
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert Session.objects.count() == sessions - 1
    assert client.get("/").status_code == 302


def test_a_signed_in_user_opening_login_goes_to_the_overview(world: Any, client_for: Any) -> None:
    response = client_for("county").get("/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def _web_patterns() -> list[URLPattern]:
    def walk(patterns: list[Any]) -> list[URLPattern]:
        found: list[URLPattern] = []
        for p in patterns:
            if isinstance(p, URLResolver):
                if getattr(p, "app_name", None) == "web":
                    found.extend(walk(p.url_patterns))
            elif isinstance(p, URLPattern):
                found.append(p)
        return found

    return walk(get_resolver().url_patterns)


def test_every_web_view_declares_its_policy() -> None:
    patterns = _web_patterns()
    assert {p.name for p in patterns} >= {"overview", "login", "logout", "households", "household"}
    known = {"public", "authenticated", "account"}
    missing = [
        p.name
        for p in patterns
        if getattr(p.callback, POLICY_ATTR, None) not in known
        and not str(getattr(p.callback, POLICY_ATTR, "")).startswith("admin:")
    ]
    assert missing == []
    public = {p.name for p in patterns if getattr(p.callback, POLICY_ATTR) == "public"}
    # the field pages' service worker and manifest carry no data (ADR 0061); the households'
    # self-report page and its captcha picture (ADR 0069)
    assert public == {
        "login",
        "logout",
        "set_language",
        "visit_sw",
        "visit_manifest",
        "self_report",
        "self_report_captcha",
    }


def test_the_login_redirect_does_not_carry_a_search_term(world: Any) -> None:
    response = Client().get("/households/?q=230231197001010033&township=230231100000")
    assert response.status_code == 302
    assert "230231197001010033" not in response["Location"]
    assert "township" in response["Location"]
