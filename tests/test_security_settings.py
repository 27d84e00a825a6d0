"""Security basics (issue 5 item 5): `jingzhun check --deploy` clean with the production settings,
security headers on every page, Cache-Control no-store on pages with personal data, no default
account, and masked values in logs."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import World, signed_in
from django.test import Client

from jingzhun.core.middleware import CONTENT_SECURITY_POLICY


def _deploy_check(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jingzhun.settings.production",
        "JINGZHUN_SECRET_KEY": secrets.token_urlsafe(60),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "JINGZHUN_VAR_DIR": str(tmp_path / "var"),
        "JINGZHUN_FIELD_KEY": "1 aes-256-gcm " + secrets.token_hex(32),
        "JINGZHUN_INDEX_KEY": secrets.token_hex(32),
        "JINGZHUN_ALLOWED_HOSTS": "jingzhun.county.gov.cn",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_production_settings(tmp_path: Path) -> None:
    result = _deploy_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_a_protection_is_switched_off(tmp_path: Path) -> None:
    result = _deploy_check(tmp_path, JINGZHUN_SSL_REDIRECT="0")
    assert result.returncode != 0 and "W008" in result.stdout + result.stderr


def test_production_settings_refuse_a_short_audit_retention(tmp_path: Path) -> None:
    result = _deploy_check(tmp_path, JINGZHUN_AUDIT_RETENTION_DAYS="90")
    assert result.returncode != 0 and "180" in result.stderr


def test_production_settings_refuse_to_start_without_field_keys(tmp_path: Path) -> None:
    result = _deploy_check(tmp_path, JINGZHUN_FIELD_KEY="", JINGZHUN_INDEX_KEY="")
    assert result.returncode != 0 and "字段加密密钥" in result.stderr


def _production_database(tmp_path: Path, **extra: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jingzhun.settings.production",
        "JINGZHUN_SECRET_KEY": secrets.token_urlsafe(60),
        "DATABASE_URL": "postgresql://app@db.county.gov.cn:5432/jingzhun",
        "JINGZHUN_VAR_DIR": str(tmp_path / "var"),
        "JINGZHUN_FIELD_KEY": "1 aes-256-gcm " + secrets.token_hex(32),
        "JINGZHUN_INDEX_KEY": secrets.token_hex(32),
        **extra,
    }
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_production_keeps_database_connections_and_checks_them(tmp_path: Path) -> None:
    """A server process reuses its connection between requests, checked first (ADR 0038)."""
    assert _production_database(tmp_path) == "600 True"
    assert _production_database(tmp_path, JINGZHUN_DB_CONN_MAX_AGE="0") == "0 True"


@pytest.mark.parametrize("path", ["/login/", "/", "/households/"])
def test_security_headers_on_pages(world: World, path: str) -> None:
    client = Client() if path == "/login/" else signed_in(Client(), world.user("township"))
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "http" not in CONTENT_SECURITY_POLICY  # no external source at all
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"


def test_the_household_card_is_not_cacheable(world: World) -> None:
    household = next(iter(world.households.values()))
    response = signed_in(Client(), world.user("county")).get(f"/households/{household.pk}/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


def test_no_account_exists_after_migrations(db: Any) -> None:
    from jingzhun.access.models import User

    assert User.objects.count() == 0


def test_no_migration_creates_an_account() -> None:
    root = Path(__file__).resolve().parent.parent / "src" / "jingzhun"
    offenders = [
        str(p.relative_to(root))
        for p in root.glob("*/migrations/*.py")
        if "create_user" in p.read_text(encoding="utf-8")
        or "create_superuser" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
