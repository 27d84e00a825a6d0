"""Department feeds (部门数据源), their loaded rosters and the alerts screening raises (ADR
0063).

A feed's name, department, schedule, columns and rules are policy data
(policies/tables/department_feeds.yaml, `catalogue.py`); `FeedSource` holds what is local: the
liaison who answers for it and whether it is in use. A roster row keeps no ID number: only its
blind index (the registry's keyed HMAC, so the match is one join on the index) and a masked form.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jingzhun.core.fieldcrypt import EncryptedCharField
from jingzhun.core.models import DomainModel, JobRow

ROW_STATUS = {
    "matched": "已匹配",
    "unmatched": "未匹配",
    "invalid": "证件号码无效或缺失",
    "review": "待人工核对",
}
MATCH_METHOD = {"id": "证件号码", "linked": "概率匹配", "reviewed": "人工核对确认"}
REVIEW_STATUS = {"pending": "待核对", "accepted": "确认是同一人", "rejected": "不是同一人"}
ALERT_KIND = {"red_line": "红线", "warning": "预警"}
ALERT_STATUS = {
    "open": "待处理",
    "removed": "已核实排除",
    "explained": "已说明（附证据）",
    "case_opened": "已发起监测识别",
    "already_monitored": "已是监测对象",
}
RESOLVED = frozenset({"removed", "explained"})


class FeedSource(DomainModel):
    """One feed of the catalogue as used here. Invariant: `code` names a feed of the catalogue."""

    code = models.CharField("数据源代码", max_length=32, unique=True)
    name = models.CharField("数据源名称", max_length=100)
    department = models.CharField("部门", max_length=100)
    liaison = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feed_sources",
        verbose_name="联络员",
    )
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "部门数据源"
        verbose_name_plural = "部门数据源"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class FeedBatch(JobRow):
    """One roster of a feed (an upload, a command's file or a push). Invariant: one batch per
    (source, batch_key): the file's SHA-256 or the pushing system's batch id, so the same roster
    sent twice is stored once. It is also the job row of its loading (core.jobs)."""

    source = models.ForeignKey(
        FeedSource, on_delete=models.PROTECT, related_name="batches", verbose_name="数据源"
    )
    batch_key = models.CharField("批次标识", max_length=100)
    origin = models.CharField(
        "来源方式",
        max_length=8,
        choices=[("upload", "网页上传"), ("command", "命令行"), ("push", "接口推送")],
    )
    filename = models.CharField("文件名", max_length=200, blank=True, default="")
    rows_total = models.PositiveIntegerField("总行数", default=0)
    rows_done = models.PositiveIntegerField("已处理行数", default=0)
    matched = models.PositiveIntegerField("匹配行数", default=0)
    unmatched = models.PositiveIntegerField("未匹配行数", default=0)
    invalid = models.PositiveIntegerField("号码无效行数", default=0)
    linked = models.PositiveIntegerField("概率匹配行数", default=0)
    review = models.PositiveIntegerField("待核对行数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="提交人",
    )

    class Meta:
        verbose_name = "部门名册批次"
        verbose_name_plural = "部门名册批次"
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "batch_key"], name="feed_batch_once"),
            models.CheckConstraint(
                condition=Q(status__in=[s for s, _label in JobRow.STATUSES]),
                name="feed_batch_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}#{self.pk}"


class FeedRow(models.Model):
    """One roster row. Invariant: no ID number is stored, only `id_index` (the registry's blind
    index of the normalised number, "" when missing or invalid) and `id_masked`."""

    batch = models.ForeignKey(
        FeedBatch, on_delete=models.CASCADE, related_name="rows", verbose_name="批次"
    )
    row_number = models.PositiveIntegerField("行号")
    id_index = models.CharField("证件号码索引", max_length=64, blank=True, default="")
    id_masked = models.CharField("证件号码（脱敏）", max_length=24, blank=True, default="")
    id_problem = models.CharField("证件号码问题", max_length=200, blank=True, default="")
    converted_15 = models.BooleanField("15 位旧号码已转换", default=False)
    name = models.CharField("姓名", max_length=50, blank=True, default="")
    values = models.JSONField("名册内容", default=dict)
    problems = models.TextField("取值问题", blank=True, default="")
    status = models.CharField("匹配结果", max_length=10, choices=list(ROW_STATUS.items()))
    member = models.ForeignKey(
        "registry.Member",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="匹配成员",
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feed_rows",
        verbose_name="匹配户",
    )
    match_method = models.CharField(
        "匹配方式", max_length=10, blank=True, default="", choices=list(MATCH_METHOD.items())
    )
    probability = models.FloatField("匹配概率", null=True, blank=True)
    # matched on the ID number, but the roster's name is not the member's (issue 22 B6)
    name_differs = models.BooleanField("姓名不一致", default=False)
    # keyed HMAC of the row's identity cells (name, ID as written, birth date, sex, address):
    # the same person written the same way in a later roster of the feed has the same one
    fingerprint = models.CharField("行指纹", max_length=64, blank=True, default="")
    hints = models.JSONField("证件号码残余信息", default=dict, blank=True)

    class Meta:
        verbose_name = "部门名册行"
        verbose_name_plural = "部门名册行"
        ordering = ["batch_id", "row_number"]
        indexes = [
            models.Index(fields=["batch", "status"]),
            models.Index(fields=["id_index"]),
            models.Index(fields=["fingerprint"]),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_number}"


class LinkReview(DomainModel):
    """A pair the probabilistic linker was unsure of: a roster row (by its source and
    fingerprint) and a resident, for a person to accept or reject. Invariant: one per (source,
    fingerprint, member) among live rows, so a decision is remembered for later rosters of the
    feed that write the same person the same way."""

    source = models.ForeignKey(
        FeedSource, on_delete=models.PROTECT, related_name="+", verbose_name="数据源"
    )
    fingerprint = models.CharField("行指纹", max_length=64)
    row = models.ForeignKey(
        FeedRow,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviews",
        verbose_name="名册行",
    )
    member = models.ForeignKey(
        "registry.Member", on_delete=models.PROTECT, related_name="+", verbose_name="候选成员"
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="feed_link_reviews",
        verbose_name="候选户",
    )
    probability = models.FloatField("匹配概率")
    levels = models.JSONField("逐项比对", default=dict)
    status = models.CharField(
        "核对结果", max_length=10, choices=list(REVIEW_STATUS.items()), default="pending"
    )
    note = models.CharField("核对说明", max_length=200, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="核对人",
    )
    decided_at = models.DateTimeField("核对时间", null=True, blank=True)

    class Meta:
        verbose_name = "概率匹配待核对"
        verbose_name_plural = "概率匹配待核对"
        ordering = ["-probability", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "fingerprint", "member"],
                condition=Q(deleted_at__isnull=True),
                name="feed_link_review_once",
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(REVIEW_STATUS)), name="feed_link_review_status_known"
            ),
        ]
        indexes = [models.Index(fields=["source", "status"])]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.fingerprint[:8]}:{self.member_id}"


class Alert(DomainModel):
    """A red-line flag or a warning raised by screening. Invariant: one alert per household and
    rule, across runs (a resolved flag is remembered, not raised again)."""

    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="feed_alerts",
        verbose_name="户",
    )
    rule = models.CharField("规则", max_length=40)
    title = models.CharField("规则名称", max_length=100)
    kind = models.CharField("类型", max_length=10, choices=list(ALERT_KIND.items()))
    source = models.CharField("数据源", max_length=32)
    row = models.ForeignKey(
        FeedRow,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="命中行",
    )
    status = models.CharField("状态", max_length=20, choices=list(ALERT_STATUS.items()))
    raised_on = models.DateField("预警日期")
    case = models.ForeignKey(
        "workflows.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="监测识别案件",
    )
    policy = models.CharField("规则文件", max_length=200)
    resolution = models.TextField("处理说明", blank=True, default="")
    evidence_name = models.CharField("证据文件名", max_length=200, blank=True, default="")
    evidence_sha256 = models.CharField("证据 SHA-256", max_length=64, blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="处理人",
    )
    resolved_at = models.DateTimeField("处理时间", null=True, blank=True)

    class Meta:
        verbose_name = "部门预警"
        verbose_name_plural = "部门预警"
        ordering = ["-raised_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["household", "rule"], name="feed_alert_once"),
            models.CheckConstraint(
                condition=Q(kind__in=list(ALERT_KIND)), name="feed_alert_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(ALERT_STATUS)), name="feed_alert_status_known"
            ),
        ]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self) -> str:
        return f"{self.household_id}:{self.rule}"


# --- the other two discovery routes: self-report and hotline 12317 (issue 22 item 4) -------------

CLUE_ROUTES = {"self_report": "农户自主申报", "hotline": "12317 热线"}
CLUE_STATUS = {
    "case_opened": "已发起监测识别",
    "joined": "并入办理中的监测识别案件",
    "already_monitored": "已是监测对象",
    "unregistered": "待村级核实（系统中未找到该户）",
    "unconfirmed": "待村级核实（姓名与证件号码不符）",
    "closed": "已办结",
}
OPEN_CLUE_STATUS = frozenset({"unregistered", "unconfirmed", "already_monitored"})


class Clue(DomainModel):
    """A household's own report (public page) or a 12317 hotline call. Invariant: it sits in one
    village's queue (the household's village when the ID number is a resident's, else the village
    the caller named); it keeps no ID number, only the registry's blind index and a masked form;
    it opens or joins at most one monitoring identification case."""

    route = models.CharField("发现方式", max_length=12, choices=list(CLUE_ROUTES.items()))
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name="所属村"
    )
    township_code = models.CharField("所属乡镇", max_length=12, db_index=True)
    county_code = models.CharField("所属县", max_length=12, db_index=True)
    name = models.CharField("申报人姓名", max_length=50)
    id_index = models.CharField("证件号码索引", max_length=64)
    id_masked = models.CharField("证件号码（脱敏）", max_length=24)
    phone = EncryptedCharField("联系电话", max_length=20, blank=True, default="")
    difficulty = models.TextField("困难情况", max_length=1000)
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clues",
        verbose_name="对应户",
    )
    case = models.ForeignKey(
        "workflows.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="监测识别案件",
    )
    status = models.CharField("处理状态", max_length=20, choices=list(CLUE_STATUS.items()))
    received_on = models.DateField("受理日期")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="受理人（热线登记）",
    )
    call_ref = models.CharField("热线工单号", max_length=40, blank=True, default="")
    resolution = models.CharField("办结说明", max_length=500, blank=True, default="")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办结人",
    )

    class Meta:
        verbose_name = "申报与热线线索"
        verbose_name_plural = "申报与热线线索"
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(route__in=list(CLUE_ROUTES)), name="feed_clue_route_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(CLUE_STATUS)), name="feed_clue_status_known"
            ),
            models.CheckConstraint(
                condition=Q(route="self_report") | Q(received_by__isnull=False),
                name="feed_clue_hotline_has_clerk",
            ),
        ]
        indexes = [models.Index(fields=["village", "status"])]

    def __str__(self) -> str:
        return f"{self.route}#{self.pk}"


class ReportAttempt(models.Model):
    """One submission of the public self-report page (accepted or refused), kept for the rate
    limit per client address. Invariant: the address is kept only as a keyed hash."""

    client_key = models.CharField("来源地址（哈希）", max_length=64)
    at = models.DateTimeField("时间", db_index=True)
    accepted = models.BooleanField("已受理", default=False)

    class Meta:
        verbose_name = "自主申报提交记录"
        verbose_name_plural = "自主申报提交记录"
        indexes = [models.Index(fields=["client_key", "at"])]

    def __str__(self) -> str:
        return f"{self.client_key[:8]}@{self.at:%Y-%m-%d %H:%M}"
