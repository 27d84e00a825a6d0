"""The account a feeds command acts as (`--user`, or the one county account of the county)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from jingzhun.access.models import User
from jingzhun.regions import codes


def actor_for(username: str, *, county: str = "", role: str = "county") -> Any:
    if username:
        user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"找不到账号：{username}", returncode=2)
        return user
    candidates = User.objects.filter(role=role, is_active=True)
    if county:
        prefixes = {county[:n] for n in (2, 4, 6)}
        candidates = candidates.filter(
            grants__region_id__in=[county, *(p.ljust(12, "0") for p in prefixes)]
        )
    found = list(candidates.distinct()[:2])
    if len(found) != 1:
        raise CommandError(
            "请用 --user 指定执行账号（县级业务人员）：找到的候选账号"
            + ("不止一个。" if found else "为零。"),
            returncode=2,
        )
    return found[0]


__all__ = ["actor_for", "codes"]
