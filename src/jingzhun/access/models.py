"""Accounts, their role, the region subtrees they are granted, and helper pairings."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

ROLE_LABELS = {
    "county": "县级业务人员",
    "township": "乡镇业务人员",
    "village": "村级干部",
    "helper": "帮扶责任人",
    "auditor": "审计查阅人员",
    "sysadmin": "系统管理员",
    "secadmin": "安全管理员",
    "auditadmin": "审计管理员",
    "liaison": "行业部门联络员",
    "verifier": "核查组成员",
    "workteam": "驻村工作队员",
    "unassigned": "未分配角色",
}
# The three administrators (三员): accounts, grants, the audit log. Never household data (AUTHZ-3).
ADMIN_ROLES = frozenset({"sysadmin", "secadmin", "auditadmin"})
# Roles that see exactly the households granted to them one by one (HouseholdGrant).
HOUSEHOLD_GRANT_ROLES = frozenset({"liaison", "verifier"})
# Roles that must pass a second factor (TOTP) before any page but login and 2FA setup (AUTH-3).
OTP_ROLES = frozenset({"sysadmin", "secadmin", "auditadmin", "county"})
# Roles that work on household data, scoped by region grants (helpers by pairings instead).
# A work-team member (驻村工作队员, issue 21 item 1) is granted their village like a village
# cadre but reads only; check-ins of their own are their one write (assistance.teams).
REGION_ROLES = frozenset({"county", "township", "village", "auditor", "workteam"})
READ_ONLY_ROLES = frozenset({"auditor", "liaison", "verifier", "workteam"})
# Roles that may hold the permission to export unmasked data (ADR 0013): staff who work on the
# registry of a region. Helpers, auditors and the three administrators never may.
UNMASKED_EXPORT_ROLES = frozenset({"county", "township", "village"})


class JingzhunUserManager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        # Case-insensitive login: "County" and "county " are the same account.
        return self.get(username__iexact=(username or "").strip())


class User(AbstractUser):
    """An account. Invariant: exactly one role; usernames unique ignoring case."""

    role = models.CharField(
        "角色", max_length=16, choices=list(ROLE_LABELS.items()), default="village"
    )
    display_name = models.CharField("姓名", max_length=50, blank=True, default="")
    may_export_unmasked = models.BooleanField(
        "可导出未脱敏数据",
        default=False,
        help_text="导出花名册、明白卡或户数据时可以不脱敏（每次导出都留痕）；由安全管理员授予。",
    )

    password_changed_at = models.DateTimeField("密码修改时间", default=timezone.now)

    objects = JingzhunUserManager()  # type: ignore[misc]

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=list(ROLE_LABELS)), name="user_role_known"
            ),
            models.CheckConstraint(
                condition=models.Q(may_export_unmasked=False)
                | models.Q(role__in=sorted(UNMASKED_EXPORT_ROLES)),
                name="user_unmasked_export_role",
            ),
        ]

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_admin_role(self) -> bool:
        return self.role in ADMIN_ROLES

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()


class RegionGrant(models.Model):
    """The user may work on everything under `region` (a county, township or village)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="grants", verbose_name="用户"
    )
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, verbose_name="区划")
    granted_at = models.DateTimeField("授权时间", default=timezone.now)

    class Meta:
        verbose_name = "区域授权"
        verbose_name_plural = "区域授权"
        constraints = [models.UniqueConstraint(fields=["user", "region"], name="grant_once")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.region_id}"


class HelperPairing(models.Model):
    """A helper (帮扶责任人) assigned to a household from `start_date` until `end_date` (open when null)."""

    helper = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="pairings", verbose_name="帮扶责任人"
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="pairings",
        verbose_name="帮扶户",
    )
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期", null=True, blank=True)
    # Written by the pairing actions (jingzhun.assistance.actions, ADR "assist-pairing"): an
    # ended pairing names its successor helper or the reason it ended, never neither.
    end_reason = models.CharField("结束原因", max_length=200, blank=True, default="")
    successor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="接续帮扶责任人",
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now, editable=False)
    version = models.PositiveIntegerField("版本", default=1)

    class Meta:
        verbose_name = "结对帮扶"
        verbose_name_plural = "结对帮扶"
        indexes = [
            models.Index(fields=["helper", "household"]),
            models.Index(fields=["household", "end_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="pairing_dates_ordered",
            ),
            # An ended pairing says why: a successor or a reason (issue 21 item 2).
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | ~models.Q(end_reason="")
                | models.Q(successor__isnull=False),
                name="pairing_end_explained",
            ),
            # One open pairing of a helper with a household at a time.
            models.UniqueConstraint(
                fields=["helper", "household"],
                condition=models.Q(end_date__isnull=True),
                name="pairing_open_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.helper_id} → {self.household_id}"


def token_expiry() -> datetime.datetime:
    """A new token's end of validity: JINGZHUN_API_TOKEN_DAYS (default 90) from now."""
    return timezone.now() + datetime.timedelta(days=settings.JINGZHUN_API_TOKEN_DAYS)


class ApiToken(models.Model):
    """A bearer token for the JSON API.

    Invariant: only the token's SHA-256 is stored; a revoked or expired token never authenticates.
    """

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="api_tokens", verbose_name="用户"
    )
    name = models.CharField("名称", max_length=100, blank=True, default="")
    # The token's first characters, shown in lists and used to revoke it; never enough to use it.
    prefix = models.CharField("前缀", max_length=16, unique=True)
    token_hash = models.CharField("令牌摘要(SHA-256)", max_length=64, unique=True)
    created_at = models.DateTimeField("签发时间", default=timezone.now)
    expires_at = models.DateTimeField("到期时间", default=token_expiry)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "接口访问令牌"
        verbose_name_plural = "接口访问令牌"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class HouseholdGrant(models.Model):
    """One household given to a department liaison (matched by their upload) or to a verification
    team member (in the sample assigned to them). Those roles see only these households."""

    SOURCES = {"liaison_match": "行业部门比对命中", "verification_sample": "核查抽样"}

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="household_grants", verbose_name="用户"
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="household_grants",
        verbose_name="户",
    )
    source = models.CharField("来源", max_length=32, choices=list(SOURCES.items()))
    reference = models.CharField("依据（上传批次或抽样编号）", max_length=100, default="")
    granted_at = models.DateTimeField("授权时间", default=timezone.now)
    end_date = models.DateField("截止日期", null=True, blank=True)

    class Meta:
        verbose_name = "按户授权"
        verbose_name_plural = "按户授权"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "household", "source", "reference"], name="household_grant_once"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=["liaison_match", "verification_sample"]),
                name="household_grant_source_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.household_id}"


class LoginAttempt(models.Model):
    """One login attempt. Invariant: `username_key` is the canonical form (AUTH-2), or empty."""

    username_key = models.CharField("账号（规范化）", max_length=150, db_index=True)
    ip = models.CharField("IP 地址", max_length=64, db_index=True)
    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    succeeded = models.BooleanField("成功", default=False)

    class Meta:
        verbose_name = "登录尝试"
        verbose_name_plural = "登录尝试"
        indexes = [models.Index(fields=["username_key", "at"]), models.Index(fields=["ip", "at"])]

    def __str__(self) -> str:
        return f"{self.username_key}@{self.ip} {self.at:%Y-%m-%d %H:%M}"


class AccountLock(models.Model):
    """A lockout (AUTH-2): `username_key` or `ip` may not log in until `until` unless released."""

    username_key = models.CharField("账号（规范化）", max_length=150, blank=True, default="")
    ip = models.CharField("IP 地址", max_length=64, blank=True, default="")
    locked_at = models.DateTimeField("锁定时间", default=timezone.now)
    until = models.DateTimeField("锁定至")
    released_at = models.DateTimeField("解锁时间", null=True, blank=True)

    class Meta:
        verbose_name = "登录锁定"
        verbose_name_plural = "登录锁定"
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(username_key="") & models.Q(ip="")), name="lock_has_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.username_key or self.ip} → {self.until:%Y-%m-%d %H:%M}"


class PasswordHistory(models.Model):
    """Hashes of a user's earlier passwords, for "no reuse of the last 5" (AUTH-1)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="password_history", verbose_name="用户"
    )
    password = models.CharField("密码摘要", max_length=128)
    changed_at = models.DateTimeField("修改时间", default=timezone.now)

    class Meta:
        verbose_name = "历史密码"
        verbose_name_plural = "历史密码"
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.changed_at:%Y-%m-%d}"
