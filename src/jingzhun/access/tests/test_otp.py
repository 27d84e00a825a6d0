"""AUTH-3: TOTP for the administrators and county staff (everyone in level-3 mode), backup codes,
OTP reset by the security administrator; idle and absolute session limits; logout."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from jingzhun.access.actions import do_reset_otp
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden

PASSWORD = "Test-pass-2026"


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def login(username: str, ip: str = "10.1.1.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:300]
    return client


def enrol(client: Client, username: str) -> list[str]:
    assert client.get("/account/2fa/setup/").status_code == 200
    device = TOTPDevice.objects.get(user__username=username, confirmed=False)
    response = client.post("/account/2fa/setup/", {"token": code(device)})
    assert response.status_code == 200
    return list(
        StaticToken.objects.filter(device__user__username=username).values_list("token", flat=True)
    )


@pytest.mark.parametrize("username", ["county", "sysadmin", "secadmin", "auditadmin"])
def test_a_password_alone_does_not_open_any_page(admins: Any, username: str) -> None:
    client = login(username)
    home = {
        "county": "/",
        "sysadmin": "/manage/users/",
        "secadmin": "/manage/users/",
        "auditadmin": "/audit/",
    }
    response = client.get(home[username])
    assert response.status_code == 302 and response["Location"] == "/account/2fa/setup/"


def test_enrolment_then_login_with_a_code_and_with_a_backup_code(world: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = login("county")
        backup = enrol(client, "county")
        assert len(backup) == 10
        assert client.get("/").status_code == 200
        assert (
            AuditEvent.objects.filter(event="access.otp.enrol_confirm", outcome="success").count()
            == 1
        )
    with time_machine.travel(start + datetime.timedelta(minutes=2), tick=False):
        client = login("county")
        assert client.get("/")["Location"] == "/account/2fa/"
        # a wrong code is refused and audited
        assert client.post("/account/2fa/", {"token": "000000"}).status_code == 400
        assert AuditEvent.objects.filter(event="access.otp.verify", outcome="failure").count() == 1
    # after a failure the device is throttled for a moment (django-otp)
    with time_machine.travel(start + datetime.timedelta(minutes=2, seconds=5), tick=False):
        device = TOTPDevice.objects.get(user__username="county")
        assert client.post("/account/2fa/", {"token": code(device)}).status_code == 302
        assert client.get("/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=4), tick=False):
        client = login("county")
        assert client.post("/account/2fa/", {"token": backup[0]}).status_code == 302
        assert client.get("/").status_code == 200
        again = login("county")
        assert again.post("/account/2fa/", {"token": backup[0]}).status_code == 400  # used once


def test_level3_mode_asks_everyone(world: Any, settings: Any) -> None:
    settings.JINGZHUN_LEVEL3 = True
    client = login("village")
    assert client.get("/")["Location"] == "/account/2fa/setup/"


def test_the_security_admin_resets_a_lost_authenticator(admins: Any) -> None:
    client = login("county")
    enrol(client, "county")
    with pytest.raises(Forbidden):
        do_reset_otp(admins.user("county").pk, actor=admins.user("sysadmin"), reason="手机丢失")
    assert TOTPDevice.objects.filter(user__username="county").count() == 1
    removed = do_reset_otp(
        admins.user("county").pk, actor=admins.user("secadmin"), reason="手机丢失"
    )
    assert removed == 2  # the TOTP device and the backup codes
    event = AuditEvent.objects.get(event="access.otp.reset")
    assert (event.actor_name, event.reason) == ("secadmin", "手机丢失")
    assert login("county").get("/")["Location"] == "/account/2fa/setup/"


def test_thirty_idle_minutes_end_the_session(world: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = login("township")
        assert client.get("/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200  # activity keeps the session alive
    with time_machine.travel(start + datetime.timedelta(minutes=29 + 31), tick=False):
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_twelve_hours_end_the_session_however_active(world: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = login("township")
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(hours=12, minutes=5), tick=False):
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logout_deletes_the_server_session_and_is_audited(world: Any) -> None:
    client = login("township")
    sessions = Session.objects.count()
    client.post("/logout/")
    assert Session.objects.count() == sessions - 1
    assert AuditEvent.objects.filter(event="access.logout", actor_name="township").count() == 1


def test_session_and_csrf_cookies_are_httponly_and_samesite(world: Any) -> None:
    client = Client()
    response = client.post("/login/", {"username": "township", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
