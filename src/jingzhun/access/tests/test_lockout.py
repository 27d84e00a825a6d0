"""AUTH-2: 5 failures in 15 minutes per canonical username lock for 30 minutes; variants share one
counter; an empty username never locks anyone out; lock and unlock are audited."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from jingzhun.access.actions import do_release_lock
from jingzhun.access.lockout import canonical_username
from jingzhun.access.models import AccountLock, User
from jingzhun.audit.models import AuditEvent

PASSWORD = "Test-pass-2026"
WRONG = "Wrong-pass-2026"
LOCKED = "登录失败次数过多"
WRONG_LOGIN = "用户名或密码不正确。"


def attempt(username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return Client(REMOTE_ADDR=ip).post("/login/", {"username": username, "password": password})


def logged_in(response: Any) -> bool:
    return response.status_code == 302


@pytest.mark.parametrize(
    "variants",
    [
        ["township"] * 5,
        ["Township", "TOWNSHIP", " township", "township ", "ＴＯＷＮＳＨＩＰ"],
        ["township@county.gov.cn"] * 2 + ["TOWNSHIP@county.gov.cn", "township", " Township "],
    ],
    ids=["same", "case-space-fullwidth", "email"],
)
def test_five_failures_lock_the_account_even_for_the_right_password(
    world: Any, variants: list[str]
) -> None:
    User.objects.filter(username="township").update(email="township@county.gov.cn")
    # Given five failures with variants of one username
    for name in variants:
        assert not logged_in(attempt(name, WRONG))
    # When the right password is sent a sixth time
    response = attempt("township", PASSWORD)
    # Then the login is refused with the lockout message, and the lock is audited once
    assert not logged_in(response)
    assert LOCKED in response.content.decode()
    assert AccountLock.objects.filter(username_key="township").count() == 1
    assert AuditEvent.objects.filter(event="access.login.lockout").count() == 1
    assert AuditEvent.objects.filter(event="access.login.failure").count() == 5
    assert AuditEvent.objects.filter(event="access.login.refused_locked").count() == 1


def test_four_failures_do_not_lock(world: Any) -> None:
    for _ in range(4):
        attempt("township", WRONG)
    assert logged_in(attempt("township", PASSWORD))
    assert AuditEvent.objects.filter(event="access.login.success", actor_name="township").exists()


def test_failures_older_than_fifteen_minutes_do_not_count(world: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(4):
            attempt("township", WRONG)
    with time_machine.travel(start + datetime.timedelta(minutes=16), tick=False):
        attempt("township", WRONG)
        assert logged_in(attempt("township", PASSWORD))


def test_the_lock_ends_after_thirty_minutes(world: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            attempt("township", WRONG)
        assert not logged_in(attempt("township", PASSWORD))
    with time_machine.travel(start + datetime.timedelta(minutes=29), tick=False):
        assert not logged_in(attempt("township", PASSWORD))
    with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
        assert logged_in(attempt("township", PASSWORD))


def test_unknown_user_and_wrong_password_get_the_same_message(world: Any) -> None:
    unknown = attempt("nobody-here", WRONG).content.decode()
    wrong = attempt("township", WRONG).content.decode()
    assert WRONG_LOGIN in unknown and WRONG_LOGIN in wrong


def test_empty_username_spam_locks_nobody_else(world: Any) -> None:
    # Given many empty and blank usernames from one address
    for name in ["", " ", "\t"] * 4:
        attempt(name, WRONG, ip="10.9.9.9")
    # Then no account is locked, and other users log in from their own address and from that one
    assert not AccountLock.objects.exclude(username_key="").exists()
    assert logged_in(attempt("township", PASSWORD, ip="10.0.0.2"))
    assert logged_in(attempt("village", PASSWORD, ip="10.9.9.9"))


def test_one_address_guessing_many_names_is_locked_by_ip(world: Any, settings: Any) -> None:
    settings.JINGZHUN_LOCKOUT = {**settings.JINGZHUN_LOCKOUT, "ip_failures": 6}
    for n in range(6):
        attempt(f"guess{n}", WRONG, ip="10.6.6.6")
    assert AccountLock.objects.filter(ip="10.6.6.6", username_key="").exists()
    assert not logged_in(attempt("township", PASSWORD, ip="10.6.6.6"))
    assert logged_in(attempt("township", PASSWORD, ip="10.0.0.3"))
    assert AuditEvent.objects.filter(event="access.login.lockout_ip").count() == 1


def test_a_lock_on_one_user_leaves_another_alone(world: Any) -> None:
    for _ in range(5):
        attempt("township", WRONG)
    assert logged_in(attempt("village", PASSWORD))


def test_the_security_admin_releases_a_lock_and_it_is_audited(admins: Any) -> None:
    for _ in range(5):
        attempt("township", WRONG)
    lock = AccountLock.objects.get(username_key="township")
    do_release_lock(lock.pk, actor=admins.user("secadmin"), reason="本人电话确认")
    assert logged_in(attempt("township", PASSWORD))
    event = AuditEvent.objects.get(event="access.login.unlock")
    assert event.actor_name == "secadmin" and event.reason == "本人电话确认"


def test_only_the_security_admin_releases_locks(admins: Any) -> None:
    from jingzhun.core.errors import Forbidden

    for _ in range(5):
        attempt("township", WRONG)
    lock = AccountLock.objects.get(username_key="township")
    events = AuditEvent.objects.count()
    for name in ("sysadmin", "auditadmin", "county"):
        with pytest.raises(Forbidden):
            do_release_lock(lock.pk, actor=admins.user(name))
    assert AuditEvent.objects.count() == events
    assert AccountLock.objects.get(pk=lock.pk).released_at is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("County", "county"),
        ("  county\t", "county"),
        ("ｃｏｕｎｔｙ", "county"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_canonical_username(db: Any, raw: str, key: str) -> None:
    assert canonical_username(raw) == key


# --- Behind a proxy (issue 20 item 4) -------------------------------------------------------------

PROXY = "10.0.0.10"


def via_proxy(client_address: str, client: Client | None = None) -> Client:
    """A browser behind the deployment's nginx: the peer is the proxy, the header names the client."""
    browser = client or Client()
    browser.defaults.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address)
    return browser


def sign_in(browser: Client, username: str, password: str) -> Any:
    return browser.post("/login/", {"username": username, "password": password})


def test_behind_a_trusted_proxy_each_client_has_its_own_address(world: Any, settings: Any) -> None:
    settings.JINGZHUN_TRUSTED_PROXIES = [PROXY]
    settings.JINGZHUN_LOCKOUT = {**settings.JINGZHUN_LOCKOUT, "ip_failures": 6}
    attacker = via_proxy("203.0.113.66")
    for n in range(8):
        sign_in(attacker, f"guess{n}", WRONG)
    # the attacker's own address is locked, not the proxy's
    assert set(AccountLock.objects.values_list("ip", flat=True)) == {"203.0.113.66"}
    assert logged_in(sign_in(via_proxy("203.0.113.7"), "township", PASSWORD))
    success = AuditEvent.objects.get(event="access.login.success")
    assert success.ip == "203.0.113.7"
    assert not logged_in(sign_in(via_proxy("203.0.113.66"), "village", PASSWORD))


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(world: Any, settings: Any) -> None:
    settings.JINGZHUN_TRUSTED_PROXIES = []
    sign_in(via_proxy("203.0.113.7"), "township", PASSWORD)
    assert AuditEvent.objects.get(event="access.login.success").ip == PROXY


def test_empty_usernames_do_not_count_against_the_address(world: Any, settings: Any) -> None:
    settings.JINGZHUN_LOCKOUT = {**settings.JINGZHUN_LOCKOUT, "ip_failures": 6}
    for name in ["", " ", "\t"] * 10:
        sign_in(via_proxy("ignored"), name, WRONG)
    assert not AccountLock.objects.exists()
    assert logged_in(sign_in(via_proxy("ignored"), "township", PASSWORD))


def test_an_address_lock_does_not_refuse_a_known_browser_with_the_right_password(
    world: Any, settings: Any
) -> None:
    # No trusted proxy configured: everyone shares the proxy's address.
    settings.JINGZHUN_LOCKOUT = {**settings.JINGZHUN_LOCKOUT, "ip_failures": 6}
    browser = via_proxy("unused")
    assert logged_in(sign_in(browser, "township", PASSWORD))
    browser.post("/logout/")
    for n in range(6):
        sign_in(via_proxy("unused"), f"guess{n}", WRONG)
    assert AccountLock.objects.filter(ip=PROXY, username_key="").exists()
    # a browser that never signed in to the account is refused while the address is locked ...
    assert not logged_in(sign_in(via_proxy("unused"), "township", PASSWORD))
    # ... the user's own browser is not, with the right password
    assert logged_in(sign_in(browser, "township", PASSWORD))
    browser.post("/logout/")
    # the cookie names its account only: another account from that browser is still refused
    assert not logged_in(sign_in(browser, "village", PASSWORD))
    # and a known browser still counts toward the account's own lock
    for _ in range(5):
        sign_in(browser, "township", WRONG)
    assert not logged_in(sign_in(browser, "township", PASSWORD))
    assert AccountLock.objects.filter(username_key="township").exists()


def test_a_forged_device_cookie_is_ignored(world: Any, settings: Any) -> None:
    settings.JINGZHUN_LOCKOUT = {**settings.JINGZHUN_LOCKOUT, "ip_failures": 6}
    for n in range(6):
        sign_in(via_proxy("unused"), f"guess{n}", WRONG)
    browser = via_proxy("unused")
    browser.cookies["jz_device"] = '["township"]'
    assert not logged_in(sign_in(browser, "township", PASSWORD))


def test_repeated_locks_of_an_account_grow(world: Any) -> None:
    start = timezone.now()
    expected = [30, 60, 120]
    moment = start
    for minutes in expected:
        with time_machine.travel(moment, tick=False):
            for _ in range(5):
                attempt("township", WRONG)
        lock = AccountLock.objects.filter(username_key="township").latest("locked_at")
        assert lock.until - lock.locked_at == datetime.timedelta(minutes=minutes)
        moment = lock.until + datetime.timedelta(seconds=1)
    # a day without locks starts again at 30 minutes
    with time_machine.travel(moment + datetime.timedelta(hours=24), tick=False):
        assert logged_in(attempt("township", PASSWORD))
    with time_machine.travel(moment + datetime.timedelta(hours=24, minutes=1), tick=False):
        for _ in range(5):
            attempt("township", WRONG)
    lock = AccountLock.objects.filter(username_key="township").latest("locked_at")
    assert lock.until - lock.locked_at == datetime.timedelta(minutes=30)


def test_a_lock_never_exceeds_the_longest(db: Any) -> None:
    from jingzhun.access.lockout import LockoutPolicy, lock_duration

    rules = LockoutPolicy()
    assert [lock_duration(n, rules) for n in range(3)] == [
        datetime.timedelta(minutes=m) for m in (30, 60, 120)
    ]
    assert lock_duration(40, rules) == datetime.timedelta(hours=24)
