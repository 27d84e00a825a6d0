"""Password rules (AUTH-1) beyond Django's validators: character classes, personal data, reuse
of the last passwords, maximum age. Messages are complete Chinese sentences."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone

CLASSES = (
    ("小写字母", re.compile(r"[a-z]")),
    ("大写字母", re.compile(r"[A-Z]")),
    ("数字", re.compile(r"[0-9]")),
    ("符号", re.compile(r"[^a-zA-Z0-9]")),
)


def max_age_days() -> int:
    return int(getattr(settings, "JINGZHUN_PASSWORD_MAX_AGE_DAYS", 90))


def history_depth() -> int:
    return int(getattr(settings, "JINGZHUN_PASSWORD_HISTORY", 5))


class CharacterClassesValidator:
    """At least `min_classes` of: lower case, upper case, digits, symbols."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        present = sum(1 for _label, pattern in CLASSES if pattern.search(password))
        if present < self.min_classes:
            raise ValidationError(
                f"密码须包含小写字母、大写字母、数字、符号中的至少 {self.min_classes} 类。",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return f"密码须包含小写字母、大写字母、数字、符号中的至少 {self.min_classes} 类。"


class PersonalDataValidator:
    """The password may not contain the username, or the user's phone or ID number if known."""

    ATTRIBUTES = ("username", "phone", "id_number")

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        lowered = password.casefold()
        for attribute in self.ATTRIBUTES:
            value = str(getattr(user, attribute, "") or "").strip().casefold()
            if len(value) >= 3 and value in lowered:
                raise ValidationError(
                    "密码不能包含用户名、电话号码或证件号码。", code="password_personal_data"
                )

    def get_help_text(self) -> str:
        return "密码不能包含用户名、电话号码或证件号码。"


def check_not_reused(user: Any, password: str) -> None:
    """Refuse any of the last `history_depth()` passwords, the current one included."""
    if user.pk is None:
        return
    # The current password is the first of the last `history_depth()`.
    history = user.password_history.order_by("-changed_at", "-id")
    earlier = [user.password, *history.values_list("password", flat=True)[: history_depth() - 1]]
    for encoded in earlier:
        if encoded and check_password(password, encoded):
            raise ValidationError(
                f"新密码不能与最近 {history_depth()} 次使用过的密码相同。", code="password_reused"
            )


def is_expired(user: Any, now: datetime.datetime | None = None) -> bool:
    """True when the password is older than the maximum age (0 disables the rule)."""
    days = max_age_days()
    changed = getattr(user, "password_changed_at", None)
    if days <= 0 or changed is None:
        return False
    return (now or timezone.now()) - changed > datetime.timedelta(days=days)
