"""Who must pass a second factor (AUTH-3): the three administrators and county staff, and
everyone in level-3 mode (settings.JINGZHUN_LEVEL3)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .models import OTP_ROLES


def needs_second_factor(user: Any) -> bool:
    return bool(getattr(settings, "JINGZHUN_LEVEL3", False)) or user.role in OTP_ROLES


def has_second_factor(user: Any) -> bool:
    """Whether the account has enrolled a confirmed device (TOTP or backup codes)."""
    from django_otp import user_has_device

    return bool(user_has_device(user, confirmed=True))
