"""Accounts, their role, the region subtrees they are granted, and helper pairings."""

from __future__ import annotations

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
}
# Roles that work on household data, scoped by region grants (helpers by pairings instead).
REGION_ROLES = frozenset({"county", "township", "village", "auditor"})
READ_ONLY_ROLES = frozenset({"auditor"})
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

    class Meta:
        verbose_name = "结对帮扶"
        verbose_name_plural = "结对帮扶"
        indexes = [models.Index(fields=["helper", "household"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="pairing_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.helper_id} → {self.household_id}"


class ApiToken(models.Model):
    """A bearer token for the JSON API.

    Invariant: only the token's SHA-256 is stored; a revoked token never authenticates.
    """

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="api_tokens", verbose_name="用户"
    )
    name = models.CharField("名称", max_length=100, blank=True, default="")
    # The token's first characters, shown in lists and used to revoke it; never enough to use it.
    prefix = models.CharField("前缀", max_length=16, unique=True)
    token_hash = models.CharField("令牌摘要(SHA-256)", max_length=64, unique=True)
    created_at = models.DateTimeField("签发时间", default=timezone.now)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "接口访问令牌"
        verbose_name_plural = "接口访问令牌"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
