"""The administrators' pages: accounts (system admin), roles, regions, 2FA reset and lockouts
(security admin), the audit log viewer (audit admin). Chinese pages, actions audited."""

from __future__ import annotations

from conftest import World, signed_in
from django.test import Client

from jingzhun.access.models import AccountLock, RegionGrant, User
from jingzhun.audit.models import AuditEvent


def test_the_system_admin_creates_and_disables_an_account(admins: World) -> None:
    client = signed_in(Client(), admins.user("sysadmin"))
    page = client.get("/manage/users/").content.decode()
    assert "新建账号" in page and "张三" not in page
    response = client.post(
        "/manage/users/new/",
        {"username": "newcomer", "display_name": "新同事", "password": "Grain-store-77"},
    )
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert user.role == "unassigned"
    client.post(f"/manage/users/{user.pk}/active/", {"active": "0", "reason": "调离"})
    assert not User.objects.get(pk=user.pk).is_active
    # the system admin cannot reach the security admin's forms
    assert client.post(f"/manage/users/{user.pk}/role/", {"role": "county"}).status_code == 403


def test_a_weak_initial_password_is_refused_on_the_page(admins: World) -> None:
    client = signed_in(Client(), admins.user("sysadmin"))
    client.post("/manage/users/new/", {"username": "weak", "password": "password"})
    assert not User.objects.filter(username="weak").exists()
    assert "密码" in client.get("/manage/users/").content.decode()


def test_the_security_admin_sets_role_and_region(admins: World) -> None:
    client = signed_in(Client(), admins.user("secadmin"))
    user = User.objects.create_user(
        username="newcomer", password="Grain-store-77", role="unassigned"
    )
    assert (
        client.post(
            f"/manage/users/{user.pk}/role/", {"role": "village", "reason": "新任村干部"}
        ).status_code
        == 302
    )
    client.post(f"/manage/users/{user.pk}/regions/", {"region": "230231100201", "grant": "grant"})
    assert User.objects.get(pk=user.pk).role == "village"
    assert RegionGrant.objects.filter(user=user, region_id="230231100201").exists()
    page = client.get(f"/manage/users/{user.pk}/").content.decode()
    assert "230231100201" in page
    assert (
        client.post(
            "/manage/users/new/", {"username": "x", "password": "Grain-store-77"}
        ).status_code
        == 403
    )


def test_the_security_admin_releases_a_lock_on_the_page(admins: World) -> None:
    for _ in range(5):
        Client().post("/login/", {"username": "village", "password": "Wrong-pass-2026"})
    lock = AccountLock.objects.get(username_key="village")
    client = signed_in(Client(), admins.user("secadmin"))
    assert "village" in client.get("/manage/locks/").content.decode()
    client.post("/manage/locks/", {"lock": lock.pk, "reason": "本人确认"})
    assert AccountLock.objects.get(pk=lock.pk).released_at is not None
    assert AuditEvent.objects.filter(event="access.login.unlock").count() == 1


def test_the_audit_admin_searches_the_log(admins: World) -> None:
    Client().post("/login/", {"username": "village", "password": "Wrong-pass-2026"})
    client = signed_in(Client(), admins.user("auditadmin"))
    page = client.get("/audit/", {"event": "access.login.failure"}).content.decode()
    assert "access.login.failure" in page and "registry.household.create" not in page
    page = client.get("/audit/", {"actor": "system", "event": "registry."}).content.decode()
    assert "registry.household.create" in page
    assert AuditEvent.objects.filter(event="audit.query", actor_name="auditadmin").count() == 2
    # a bad time is a form error, not a search
    assert client.get("/audit/", {"since": "昨天"}).status_code == 400


def test_only_the_audit_admin_opens_the_log(admins: World) -> None:
    for name in ("secadmin", "sysadmin", "county", "auditor"):
        client = signed_in(Client(), admins.user(name))
        assert client.get("/audit/").status_code == 403, name


def test_a_refused_request_is_audited(admins: World) -> None:
    client = signed_in(Client(), admins.user("sysadmin"))
    assert client.get("/households/").status_code == 403
    assert client.get("/api/households").status_code == 403
    events = AuditEvent.objects.filter(event="access.request.denied", actor_name="sysadmin")
    assert sorted(events.values_list("object_id", "outcome")) == [
        ("/api/households", "refused"),
        ("/households/", "refused"),
    ]


def test_a_lock_id_in_other_digits_is_a_bad_request(admins: World) -> None:
    client = signed_in(Client(), admins.user("secadmin"))
    for value in ("١٢", "²", ""):
        response = client.post("/manage/locks/", {"lock": value, "reason": "本人确认"})
        assert response.status_code == 400, value
        assert "锁定编号无效" in response.content.decode()


def test_the_security_admin_cannot_change_another_administrators_role(admins: World) -> None:
    client = signed_in(Client(), admins.user("secadmin"))
    for role in ("sysadmin", "auditadmin"):
        target = admins.user(role)
        response = client.post(f"/manage/users/{target.pk}/role/", {"role": "county"})
        assert User.objects.get(pk=target.pk).role == role
        assert response.status_code in (302, 403)
    refused = AuditEvent.objects.filter(event="access.role.set", outcome="refused")
    assert refused.count() == 2
