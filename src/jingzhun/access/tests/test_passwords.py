"""AUTH-1: password rules on the form, the API-free action and account creation; Argon2 hashes;
case-insensitive unique usernames; history of 5; maximum age of 90 days forces a change."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
import time_machine
from conftest import pass_second_factor
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from jingzhun.access.actions import do_change_password, do_create_user
from jingzhun.access.models import PasswordHistory, User
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError

PASSWORD = "Test-pass-2026"
WEAK = [
    "Short-1a",  # under 10 characters
    "alllowercaseletters",  # one class
    "lowercase-and-symbols",  # two classes
    "1234567890",  # digits only (and numeric)
    "Password123",  # common list (with 3 classes) - Django's list is case-insensitive
    "Township-2026x",  # contains the username
]


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused_when_creating_an_account(admins: Any, weak: str) -> None:
    users = User.objects.count()
    with pytest.raises(DomainError):
        do_create_user(
            "township2" if "Township" not in weak else "township",
            weak,
            actor=admins.user("sysadmin"),
        )
    assert User.objects.count() == users


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused_by_the_change_form(world: Any, weak: str) -> None:
    client = Client()
    client.post("/login/", {"username": "township", "password": PASSWORD})
    before = User.objects.get(username="township").password
    response = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password": weak, "new_password2": weak},
    )
    assert response.status_code == 400
    assert User.objects.get(username="township").password == before


def test_a_good_password_is_stored_with_argon2_and_audited(world: Any) -> None:
    client = Client()
    client.post("/login/", {"username": "township", "password": PASSWORD})
    response = client.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password": "Grain-store-77",
            "new_password2": "Grain-store-77",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="township")
    assert user.check_password("Grain-store-77")
    assert AuditEvent.objects.filter(event="access.password.change", outcome="success").count() == 1
    assert PasswordHistory.objects.filter(user=user).count() == 1


def test_every_stored_hash_is_argon2(admins: Any) -> None:
    do_create_user("newuser", "Grain-store-77", actor=admins.user("sysadmin"))
    hashes = list(User.objects.values_list("password", flat=True))
    assert hashes and all(h.startswith("argon2$") for h in hashes)


def test_a_case_variant_username_fails_on_the_database_constraint(world: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="TOWNSHIP", role="township")


def test_a_case_variant_username_is_refused_by_the_action(admins: Any) -> None:
    with pytest.raises(DomainError):
        do_create_user("Township", "Grain-store-77", actor=admins.user("sysadmin"))


def test_the_last_five_passwords_are_not_reused(world: Any) -> None:
    user = world.user("township")
    sequence = [PASSWORD, "Grain-store-01", "Grain-store-02", "Grain-store-03", "Grain-store-04"]
    for old, new in itertools.pairwise(sequence):
        do_change_password(user, old, new, actor=user)
    user.refresh_from_db()
    for earlier in sequence:  # the current one and the four before it
        with pytest.raises(DomainError, match="最近 5 次"):
            do_change_password(user, "Grain-store-04", earlier, actor=user)
    do_change_password(user, "Grain-store-04", "Grain-store-05", actor=user)
    do_change_password(user, "Grain-store-05", PASSWORD, actor=user)  # sixth back: allowed again


def test_a_wrong_old_password_is_refused_and_audited(world: Any) -> None:
    user = world.user("township")
    with pytest.raises(DomainError):
        do_change_password(user, "Not-my-pass-1", "Grain-store-77", actor=user)
    assert AuditEvent.objects.filter(event="access.password.change", outcome="failure").count() == 0
    # the refusal rolled back with the action: the wrong old password is not an event of its own


def test_a_password_older_than_90_days_forces_a_change(world: Any) -> None:
    client = Client()
    client.post("/login/", {"username": "township", "password": PASSWORD})
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=91), tick=False):
        client = Client()
        client.post("/login/", {"username": "township", "password": PASSWORD})
        response = client.get("/households/")
        assert response.status_code == 302 and response["Location"] == "/account/password/"
        assert client.get("/account/password/").status_code == 200
        client.post(
            "/account/password/",
            {
                "old_password": PASSWORD,
                "new_password": "Grain-store-77",
                "new_password2": "Grain-store-77",
            },
        )
        assert client.get("/households/").status_code == 200


def test_the_api_refuses_a_session_whose_password_expired(world: Any) -> None:
    client = Client()
    user = world.user("village")
    client.force_login(user)
    pass_second_factor(client, user)
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=91)
    )
    assert client.get("/api/households").status_code == 403
