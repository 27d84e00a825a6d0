"""Writes of household plans (一户一策, issue 21 item 3): measures and their evidence.

Every function is an action (AGENTS.md rule 1): one transaction, the actor's role and scope
checked (the household re-checked under its row lock), the write, then an audit event in the
same transaction. A refusal is a `DomainError` naming the field and leaves every row as it was.

The life of a measure: proposed (by the helper, the village, or the township/county) → approved
or refused by the township (or county; never by the person who proposed it) → in progress →
completed, or cancelled. Kinds and their departments are the policy catalogue's
(`assistance.catalogue`): the department is taken from the kind when the measure is proposed.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.access.scoping import check_household_in_scope
from jingzhun.audit.actions import record
from jingzhun.core import stored_files as files
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.policy.store import PolicyError
from jingzhun.registry.models import Household

from .actions import pairable
from .catalogue import catalogue
from .choices import (
    MEASURE_APPROVER_ROLES,
    MEASURE_PROPOSER_ROLES,
    MEASURE_STATUS,
)
from .models import LiaisonDepartment, Measure, MeasureEvidence

MAX_AMOUNT = Decimal("9999999999.99")
MAX_DESCRIPTION = 200
MAX_NOTE = 200
MAX_EVIDENCE_FILES = 20
STALE = "该帮扶措施已被他人修改，请刷新后重试。"


def _active(actor: Any, roles: frozenset[str], what: str) -> None:
    if actor is None:
        return
    if getattr(actor, "role", None) not in roles or not actor.is_active:
        raise Forbidden(f"您的角色无权{what}。")


def parse_amount(value: Any) -> Decimal | None:
    """An amount in yuan: empty → None; otherwise ≥ 0 with at most two decimals."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(f"金额“{value}”不是有效的数字（单位：元）。", field="amount") from exc
    if not amount.is_finite():
        raise DomainError(f"金额“{value}”不是有效的数字（单位：元）。", field="amount")
    if amount < 0:
        raise DomainError(f"金额不能为负数（填写的是 {value} 元）。", field="amount")
    if amount > MAX_AMOUNT:
        raise DomainError(f"金额不能超过 {MAX_AMOUNT} 元。", field="amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError("金额最多保留两位小数（单位：元）。", field="amount")
    return amount.quantize(Decimal("0.01"))


def _clean(text: str | None) -> str:
    """Free text without control characters (they are refused by PostgreSQL, invisible here)."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", text or "").strip()


def _check_dates(start: datetime.date, end: datetime.date | None) -> None:
    if start.year < 2014 or start > timezone.localdate() + datetime.timedelta(days=366):
        raise DomainError("开始日期应在 2014 年以后，且不晚于一年之后。", field="start_date")
    if end is not None and end < start:
        raise DomainError(
            f"结束日期（{end.isoformat()}）不能早于开始日期（{start.isoformat()}）。",
            field="end_date",
        )


def _household_locked(household_id: int, actor: Any) -> Household:
    household = Household.objects.select_for_update().filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    if actor is not None:
        check_household_in_scope(actor, household)
    return household


def _measure_locked(measure_id: int, actor: Any, expected_version: int | None) -> Measure:
    measure = Measure.objects.select_for_update().filter(pk=measure_id).first()
    if measure is None:
        raise OutOfScope("未找到该帮扶措施，或您无权访问。")
    if actor is not None:
        try:
            check_household_in_scope(actor, measure.household)
        except OutOfScope as exc:
            raise OutOfScope("未找到该帮扶措施，或您无权访问。") from exc
    if expected_version is not None and expected_version != measure.version:
        raise StaleVersion(STALE)
    return measure


def _snapshot(m: Measure) -> dict[str, Any]:
    return {
        "household": m.household.household_code,
        "year": m.year,
        "kind": m.kind,
        "department": m.department,
        "description": m.description,
        "amount": None if m.amount is None else str(m.amount),
        "start_date": m.start_date.isoformat(),
        "end_date": m.end_date.isoformat() if m.end_date else None,
        "status": m.status,
        "decision_note": m.decision_note,
        "completed_on": m.completed_on.isoformat() if m.completed_on else None,
    }


def _update(measure: Measure, actor: Any, event: str, **changes: Any) -> Measure:
    before = _snapshot(measure)
    updated = Measure.objects.filter(pk=measure.pk, version=measure.version).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise StaleVersion(STALE)
    measure.refresh_from_db()
    after = _snapshot(measure)
    record(
        event,
        actor=actor,
        object_type="measure",
        object_id=measure.pk,
        diff={k: [before[k], v] for k, v in after.items() if before[k] != v},
    )
    return measure


@action
@transaction.atomic
def do_propose_measure(
    household_id: int,
    kind: str,
    start_date: datetime.date,
    *,
    end_date: datetime.date | None = None,
    amount: Any = None,
    description: str = "",
    actor: Any,
) -> Measure:
    """Propose a measure for a household of the actor's scope (the helper's paired households,
    the village's, the township's …). The plan year is the start date's year."""
    _active(actor, MEASURE_PROPOSER_ROLES, "提出帮扶措施")
    household = _household_locked(household_id, actor)
    if not pairable(household):
        raise DomainError(
            f"户 {household.household_code} 的脱贫状态为“{household.get_poverty_status_display()}”，"
            "且不是监测对象，不在帮扶措施范围内。",
            field="household",
        )
    _check_dates(start_date, end_date)
    try:
        cat = catalogue(start_date)
    except PolicyError as exc:
        raise DomainError(
            f"开始日期 {start_date.isoformat()} 没有有效的措施目录（{exc}）。", field="start_date"
        ) from exc
    entry = cat.kinds.get(kind)
    if entry is None:
        raise DomainError(
            f"措施类型“{kind}”不在措施目录中，应为：{'、'.join(e.name for e in cat.kinds.values())}。",
            field="kind",
        )
    money = parse_amount(amount)
    description = _clean(description)
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(f"措施内容不能超过 {MAX_DESCRIPTION} 个字。", field="description")
    measure = Measure.objects.create(
        household=household,
        year=start_date.year,
        kind=kind,
        department=entry.department,
        description=description,
        amount=money,
        start_date=start_date,
        end_date=end_date,
        status="proposed",
        proposed_by=actor,
        proposer_role=getattr(actor, "role", "system"),
    )
    after = _snapshot(measure)
    record(
        "assistance.measure.propose",
        actor=actor,
        object_type="measure",
        object_id=measure.pk,
        diff={k: [None, v] for k, v in after.items()},
    )
    return measure


@action
@transaction.atomic
def do_decide_measure(
    measure_id: int,
    approve: bool,
    note: str = "",
    *,
    expected_version: int | None = None,
    actor: Any,
) -> Measure:
    """The township (or county) approves or refuses a proposed measure; never its proposer.
    A refusal needs a reason."""
    _active(actor, MEASURE_APPROVER_ROLES, "审批帮扶措施（由乡镇审批）")
    measure = _measure_locked(measure_id, actor, expected_version)
    if measure.status != "proposed":
        raise DomainError(
            f"该措施当前状态为“{measure.status_label}”，只有待审批的措施可以审批。",
            field="status",
        )
    if actor is not None and measure.proposed_by_id == actor.pk:
        raise Forbidden("提出措施的人不能审批自己提出的措施，请由另一位乡镇工作人员审批。")
    note = _clean(note)
    if len(note) > MAX_NOTE:
        raise DomainError(f"审批意见不能超过 {MAX_NOTE} 个字。", field="note")
    if not approve and not note:
        raise DomainError("不批准时请写明理由。", field="note")
    return _update(
        measure,
        actor,
        "assistance.measure.approve" if approve else "assistance.measure.refuse",
        status="approved" if approve else "refused",
        approved_by=actor,
        decided_at=timezone.now(),
        decision_note=note,
    )


@action
@transaction.atomic
def do_start_measure(
    measure_id: int, *, expected_version: int | None = None, actor: Any
) -> Measure:
    """An approved measure is being carried out."""
    _active(actor, MEASURE_PROPOSER_ROLES, "更新帮扶措施")
    measure = _measure_locked(measure_id, actor, expected_version)
    if measure.status != "approved":
        raise DomainError(
            f"该措施当前状态为“{measure.status_label}”，只有已批准的措施可以开始实施。",
            field="status",
        )
    return _update(measure, actor, "assistance.measure.start", status="in_progress")


@action
@transaction.atomic
def do_complete_measure(
    measure_id: int,
    completed_on: datetime.date,
    *,
    expected_version: int | None = None,
    actor: Any,
) -> Measure:
    """An approved or running measure is completed (落实) on a day: not in the future, not
    before its start."""
    _active(actor, MEASURE_PROPOSER_ROLES, "更新帮扶措施")
    measure = _measure_locked(measure_id, actor, expected_version)
    if measure.status not in ("approved", "in_progress"):
        raise DomainError(
            f"该措施当前状态为“{measure.status_label}”，只有已批准或实施中的措施可以标记完成。",
            field="status",
        )
    if completed_on > timezone.localdate():
        raise DomainError("完成日期不能晚于今天。", field="completed_on")
    if completed_on < measure.start_date:
        raise DomainError(
            f"完成日期（{completed_on.isoformat()}）不能早于开始日期"
            f"（{measure.start_date.isoformat()}）。",
            field="completed_on",
        )
    return _update(
        measure, actor, "assistance.measure.complete", status="completed", completed_on=completed_on
    )


@action
@transaction.atomic
def do_cancel_measure(
    measure_id: int,
    reason: str,
    *,
    expected_version: int | None = None,
    actor: Any,
) -> Measure:
    """Cancel a measure that is not completed: a proposal by anyone who may propose, an approved
    or running one only by the township or county. A reason is required."""
    _active(actor, MEASURE_PROPOSER_ROLES, "取消帮扶措施")
    measure = _measure_locked(measure_id, actor, expected_version)
    if measure.status not in ("proposed", "approved", "in_progress"):
        raise DomainError(f"该措施当前状态为“{measure.status_label}”，不能取消。", field="status")
    if (
        measure.status != "proposed"
        and actor is not None
        and actor.role not in MEASURE_APPROVER_ROLES
    ):
        raise Forbidden("已批准的措施只能由乡镇或县级工作人员取消。")
    reason = _clean(reason)
    if not reason:
        raise DomainError("取消措施请写明理由。", field="reason")
    if len(reason) > MAX_NOTE:
        raise DomainError(f"理由不能超过 {MAX_NOTE} 个字。", field="reason")
    return _update(
        measure, actor, "assistance.measure.cancel", status="cancelled", decision_note=reason
    )


@action
@transaction.atomic
def do_attach_measure_evidence(
    measure_id: int, filename: str, data: bytes, *, actor: Any
) -> MeasureEvidence:
    """Keep a file for a measure: PDF, JPG, PNG or .xlsx by its content, at most 10 MB
    (`core.stored_files.check_upload`, the same rule as case evidence)."""
    _active(actor, MEASURE_PROPOSER_ROLES, "上传措施佐证材料")
    measure = _measure_locked(measure_id, actor, None)
    if measure.status in ("cancelled", "refused"):
        raise DomainError(
            f"该措施当前状态为“{measure.status_label}”，不能再上传材料。", field="file"
        )
    if measure.evidence.count() >= MAX_EVIDENCE_FILES:
        raise DomainError(f"每项措施最多上传 {MAX_EVIDENCE_FILES} 个文件。", field="file")
    kind, name, sha = files.check_upload(filename, data)
    files.store(sha, data)
    item = MeasureEvidence.objects.create(
        measure=measure,
        filename=name,
        content_type=files.TYPES[kind],
        size=len(data),
        sha256=sha,
        uploaded_by=actor,
    )
    record(
        "assistance.measure.evidence",
        actor=actor,
        object_type="measure",
        object_id=measure.pk,
        diff={"evidence": [None, f"{name} ({len(data)} B, {sha[:12]})"]},
    )
    return item


@action
@transaction.atomic
def do_set_liaison_department(user_id: int, department: str, *, actor: Any) -> LiaisonDepartment:
    """County staff tie a department liaison's account to a department of the catalogue: the
    liaison then sees the measures of that department's kinds (on their granted households)."""
    _active(actor, frozenset({"county"}), "设置联络员所属部门（由县级设置）")
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None or user.role != "liaison":
        raise DomainError("只能为角色为“行业部门联络员”的账号设置所属部门。", field="user")
    cat = catalogue()
    if department not in cat.departments:
        raise DomainError(
            f"部门“{department}”不在措施目录中，应为：{'、'.join(cat.departments.values())}。",
            field="department",
        )
    row = LiaisonDepartment.objects.filter(user=user).first()
    before = row.department if row else None
    if row is None:
        row = LiaisonDepartment.objects.create(user=user, department=department)
    else:
        LiaisonDepartment.objects.filter(pk=row.pk).update(department=department)
        row.department = department
    record(
        "assistance.liaison.department",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        diff={"department": [before, department]},
    )
    return row


@transaction.atomic
def do_download_measure_evidence(evidence_id: int, *, actor: Any) -> MeasureEvidence:
    """Hand out one evidence file of a measure the actor may see (their scope; a liaison only
    their department's kinds); each download is audited, as case evidence is (the files may be
    agreements or receipts with names and signatures). OutOfScope otherwise (a 404)."""
    from .measure_selectors import measure_evidence_for

    item = measure_evidence_for(actor, evidence_id)
    record(
        "assistance.measure.evidence.download",
        actor=actor,
        object_type="measure",
        object_id=item.measure_id,
        diff={"evidence": item.pk, "sha256": item.sha256},
    )
    return item


__all__ = [
    "MEASURE_STATUS",
    "do_attach_measure_evidence",
    "do_cancel_measure",
    "do_complete_measure",
    "do_decide_measure",
    "do_download_measure_evidence",
    "do_propose_measure",
    "do_set_liaison_department",
    "do_start_measure",
    "parse_amount",
]
