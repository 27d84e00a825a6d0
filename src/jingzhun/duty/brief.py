"""The scheduling meeting's brief (调度会简报, PDF in Chinese): the region's open tasks (on time,
overdue, missing reports, with the escalated ones), the battle map's stored year-end figures
(analytics.overview: what the dashboard shows), the inspection problems and the tickets. Read
from the user's scope only; written synchronously: a county has at most a few hundred open
tasks, and the figures are read, not computed (ADR 0077). Each brief is audited with its hash."""

from __future__ import annotations

import datetime
import hashlib
import io
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from reportlab.platypus import Paragraph, Spacer

from jingzhun.analytics.overview import default_year, stored_overview
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.exports import pdf
from jingzhun.inspection import selectors as problem_selectors
from jingzhun.regions.models import Region
from jingzhun.tickets import selectors as ticket_selectors
from jingzhun.tickets.choices import AGE_BANDS

from .choices import OPEN
from .selectors import READERS, task_figures, task_list

MAX_TASK_ROWS = 300


def _stats_rows(stats: Any) -> list[list[Any]]:
    if stats is None:
        return [["指标", "数值"], ["作战图指标", "尚未计算（请先刷新指标）"]]
    incidence = stats.poverty_incidence
    return [
        ["指标", "数值"],
        ["建档立卡户（户）", stats.registered_households],
        ["建档立卡人口（人）", stats.registered_persons],
        ["已脱贫户（户）", stats.exited_households],
        ["未脱贫户（户）", stats.remaining_households],
        ["贫困发生率", f"{incidence:.2f}%" if incidence is not None else "—"],
        [
            "监测对象户（户）",
            stats.monitored_households if stats.monitored_households is not None else "—",
        ],
        ["贫困村 / 行政村（个）", f"{stats.poor_villages} / {stats.villages}"],
    ]


def write_brief(user: Any, region_code: str, meeting_on: datetime.date, out: IO[bytes]) -> int:
    """Write the brief of `region_code` as the user sees it; returns the number of open tasks."""
    region = Region.objects.filter(code=region_code).first()
    if region is None or getattr(user, "role", "") not in READERS:
        raise OutOfScope("未找到该区划，或您无权访问。")
    year = default_year(user, region.code)
    overview = stored_overview(user, region.code, year, breakdown=False)
    font = pdf.cjk_font()
    s = pdf.Styles(font)
    figures = task_figures(user, meeting_on, region.code)
    tasks = list(task_list(user, status=OPEN, region=region.code)[:MAX_TASK_ROWS])
    problem_counts = problem_selectors.counts(user, meeting_on)
    tickets = ticket_selectors.counts(user, meeting_on, region.code)
    title = f"{region.name}巩固拓展脱贫攻坚成果调度会简报"
    story: list[Any] = [
        Paragraph(pdf.text(title), s.title),
        Paragraph(
            pdf.text(f"调度会日期：{meeting_on.isoformat()}　　作战图指标年度：{year}"), s.body
        ),
        Spacer(1, 6),
        Paragraph("一、任务推进情况", s.heading),
        Paragraph(
            pdf.text(
                f"按期推进 {figures['on_time']} 项，逾期未完成 {figures['overdue']} 项，"
                f"未按期报送进展 {figures['report_missing']} 项，已完成 {figures['done']} 项。"
            ),
            s.body,
        ),
    ]
    rows: list[list[Any]] = [["任务", "责任单位 / 责任人", "完成时限", "进度", "下次报送", "状态"]]
    for task in tasks:
        state = "逾期" if task.deadline < meeting_on else "按期"
        if task.next_report_on < meeting_on:
            state += "，未报送进展"
        if task.escalations:
            state += f"，已升级督办 {task.escalations} 次"
        rows.append([
            task.title, f"{task.owner_unit} / {task.owner_person}", task.deadline.isoformat(),
            f"{task.progress}%", task.next_report_on.isoformat(), state,
        ])  # fmt: skip
    if len(rows) > 1:
        story.append(pdf.grid(rows, s, total=pdf.PORTRAIT_WIDTH))
    else:
        story.append(Paragraph("没有未完成的调度任务。", s.body))
    story += [
        Paragraph("二、作战图主要指标", s.heading),
        pdf.grid(_stats_rows(overview.stats), s, total=pdf.PORTRAIT_WIDTH),
        Paragraph("三、督查问题整改", s.heading),
        Paragraph(
            pdf.text(
                f"未销号问题 {problem_counts['open']} 个，其中逾期 {problem_counts['overdue']} 个、"
                f"挂牌督办 {problem_counts['listed']} 个；已销号 {problem_counts['closed']} 个。"
            ),
            s.body,
        ),
        Paragraph("四、群众诉求办理", s.heading),
        Paragraph(
            pdf.text(
                f"未办结工单 {tickets['unclosed']} 件，其中逾期未答复 {tickets['overdue']} 件、"
                f"重复诉求 {tickets['repeated']} 件；已办结 {tickets['closed']} 件。按受理时长："
                + "，".join(f"{label} {tickets[band]} 件" for band, label in AGE_BANDS.items())
                + "。"
            ),
            s.body,
        ),
    ]
    pdf.build(
        out, story, title=title, watermark=f"调度会简报 · {region.code} · {meeting_on}", font=font
    )
    return len(tasks)


@transaction.atomic
def do_make_brief(region_code: str, meeting_on: datetime.date | None, *, actor: Any) -> bytes:
    """The brief's PDF bytes; the request is audited with the file's SHA-256."""
    meeting_on = meeting_on or timezone.localdate()
    if meeting_on.year < 2014:
        raise DomainError("调度会日期无效。", field="meeting_on")
    out = io.BytesIO()
    open_tasks = write_brief(actor, region_code, meeting_on, out)
    data = out.getvalue()
    record(
        "duty.brief.create", actor=actor, object_type="region", object_id=region_code,
        diff={"meeting_on": meeting_on.isoformat(), "open_tasks": open_tasks,
              "sha256": hashlib.sha256(data).hexdigest()},
    )  # fmt: skip
    return data
