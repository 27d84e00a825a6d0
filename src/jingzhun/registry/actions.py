"""Writes to the registry. Each action runs in one transaction, re-checks scope, and audits itself."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from jingzhun.access.scoping import check_household_in_scope, check_region_in_scope
from jingzhun.audit.actions import record, record_now
from jingzhun.core import hooks
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.hooks import regions_written
from jingzhun.core.models import action
from jingzhun.regions.models import Region

from . import choices as c
from . import dictionary, writes
from .idcard import check as check_id
from .masking import mask_value
from .models import (
    INCOME_AMOUNTS,
    Household,
    IncomeRecord,
    Member,
    income_year_problem,
)

WRITER_ROLES = frozenset({"county", "township", "village"})
# Household fields an action may write when registering a household (every stored field of the
# dictionary but the code and the head's name, which follow from the members) ...
HOUSEHOLD_WRITABLE = frozenset(
    f.key
    for f in dictionary.fields("household", stored=True)
    if f.key not in {"household_code", "head_name"}
)
# ... those people edit (the edit page, the API's PATCH: `editable` in the dictionary) ...
HOUSEHOLD_EDITABLE = dictionary.EDITABLE["household"]
# ... and those the workflows own: status, identification, monitoring and risk change through
# their cases (workflows.actions passes `by_workflow=True`), never through an edit.
WORKFLOW_OWNED = HOUSEHOLD_WRITABLE - HOUSEHOLD_EDITABLE
MEMBER_EDITABLE = dictionary.EDITABLE["member"]


def _json_safe(value: Any) -> Any:
    if isinstance(value, (Decimal, datetime.date)):
        return str(value)
    if isinstance(value, Region):
        return value.code
    return value


def masked_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for changed fields, sensitive values masked."""
    diff: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = _json_safe(before.get(key)), _json_safe(after.get(key))
        if old != new:
            diff[key] = [mask_value(key, old), mask_value(key, new)]
    return diff


def check_can_write(actor: Any) -> None:
    """Only region staff write registry data; system actions (actor None) are trusted callers."""
    if actor is None:
        return
    if getattr(actor, "role", None) not in WRITER_ROLES or not actor.is_active:
        raise Forbidden("您的角色无权修改建档立卡数据。")


def validate_member(data: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a member's fields; sex and birth date must agree with the ID number."""
    clean = dict(data)
    result = check_id(clean.get("id_number"))
    if not result.valid:
        raise DomainError(
            f"成员“{clean.get('name', '')}”的证件号码无效：{result.error}", field="id_number"
        )
    clean["id_number"] = result.normalized
    if clean.get("birth_date") in (None, ""):
        clean["birth_date"] = result.birth_date
    elif _as_date(clean["birth_date"]) != result.birth_date:
        raise DomainError(
            f"成员“{clean.get('name', '')}”的出生日期 {clean['birth_date']} 与证件号码中的 {result.birth_date} 不一致",
            field="birth_date",
        )
    if clean.get("sex") in (None, ""):
        clean["sex"] = result.sex
    elif clean["sex"] != result.sex:
        raise DomainError(
            f"成员“{clean.get('name', '')}”的性别与证件号码不一致（证件号码为{c.SEX[result.sex or 'male']}性）",
            field="sex",
        )
    if not str(clean.get("name", "")).strip():
        raise DomainError("成员姓名不能为空", field="name")
    if clean.get("relation") not in c.RELATION:
        raise DomainError(f"与户主关系“{clean.get('relation')}”不是有效代码", field="relation")
    # health details are encrypted (PII-2): the database cannot check them, so they are here
    name = clean.get("name", "")
    health = clean.get("health_status")
    if health not in (None, "") and health not in c.HEALTH_STATUS:
        raise DomainError(f"成员“{name}”的健康状况“{health}”不是有效代码", field="health_status")
    grade = clean.get("disability_grade")
    if grade not in (None, ""):
        try:
            number = int(grade)
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number <= 4:
            raise DomainError(
                f"成员“{name}”的残疾等级“{grade}”应为 1 至 4 级", field="disability_grade"
            )
        clean["disability_grade"] = number
    unknown = set(clean) - MEMBER_EDITABLE
    if unknown:
        raise DomainError(f"未知的成员字段：{'、'.join(sorted(unknown))}")
    return clean


def _as_date(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


LIST_CODES = dictionary.LIST_CODES


def clean_household_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert and validate household field values (choices, types, lists of codes) by the model."""
    unknown = set(values) - HOUSEHOLD_WRITABLE
    if unknown:
        raise DomainError(f"未知或不可修改的户字段：{'、'.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "village":
            clean[name] = value
            continue
        field = Household._meta.get_field(name)
        assert isinstance(field, models.Field)
        label = str(field.verbose_name)
        if name in LIST_CODES:
            table, most = LIST_CODES[name]
            items = list(value or [])
            bad = [v for v in items if v not in table]
            if bad or len(items) != len(set(items)) or len(items) > most:
                raise DomainError(
                    f"{label}“{value}”无效：应为不重复的代码，最多 {most} 项", field=name
                )
            clean[name] = items
            continue
        try:
            clean[name] = field.clean(value, None)
        except ValidationError as exc:
            raise DomainError(
                f"{label}“{value}”无效：{'；'.join(exc.messages)}", field=name
            ) from exc
    return clean


def _village(code: str) -> Region:
    region = Region.objects.filter(code=code, level="village").first()
    if region is None:
        raise DomainError(f"村级区划代码“{code}”不存在", field="village")
    return region


@action
@transaction.atomic
def do_create_household(
    household_code: str,
    village_code: str,
    fields: Mapping[str, Any],
    members: list[Mapping[str, Any]],
    *,
    actor: Any,
) -> Household:
    """Register a household with its members; exactly one member is the head."""
    check_can_write(actor)
    if actor is not None:
        check_region_in_scope(actor, village_code)
    village = _village(village_code)
    fields = clean_household_fields({k: v for k, v in fields.items() if k != "village"})
    clean_members = [validate_member(m) for m in members]
    heads = [m for m in clean_members if m["relation"] == "head"]
    if len(heads) != 1:
        raise DomainError(f"每户必须有且只有一名户主，当前为 {len(heads)} 名", field="relation")
    household = Household(
        household_code=household_code,
        village=village,
        **writes.region_values(village.code),
        head_name=heads[0]["name"],
        **{k: v for k, v in fields.items() if k != "village"},
    )
    try:
        with transaction.atomic():
            household.save(force_insert=True)
            for m in clean_members:
                Member(household=household, **m).save(force_insert=True)
    except IntegrityError as exc:
        raise DomainError(f"户编号或证件号码与已登记的记录重复：{household_code}") from exc
    status = household.poverty_status
    writes.status_entry(
        household.pk, "", status, timezone.localdate(), writes.first_status_reason(status), actor
    ).save(force_insert=True)
    _figures_changed(household.county_code, actor=actor, reason="新增农户")
    record(
        "registry.household.create",
        actor=actor,
        object_type="household",
        object_id=household.pk,
        diff={"household_code": household_code, "members": len(clean_members)},
    )
    return household


def _figures_changed(county_code: str, *, actor: Any, reason: str) -> None:
    """The county's stored year-end figures (battle map, overview, /api/stats: ADR 0065)
    are stale: ask for a refresh after this transaction commits (core.hooks; coalesced with a
    queued one)."""
    regions_written([county_code], actor=actor, reason=reason)


def _locked_household(household_id: int, actor: Any) -> Household:
    household = Household.objects.select_for_update().filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    if actor is not None:
        check_household_in_scope(actor, household)
    return household


def _household_changed(household_id: int, **values: Any) -> None:
    """A member or income of the household changed: its version moves too, so that every
    decision input has one version to key on (assessments, ADR 0032). The caller holds the
    household's row lock."""
    Household.objects.filter(pk=household_id).update(**writes.bump(values))


@action
@transaction.atomic
def do_update_household(
    household_id: int,
    expected_version: int,
    changes: Mapping[str, Any],
    *,
    actor: Any,
    by_workflow: bool = False,
) -> Household:
    """Change household fields; refused with StaleVersion when someone saved in between. People
    change the dictionary's editable fields only; the fields the workflows own (identification,
    exit, monitoring, risk) are written by a completed case (`by_workflow=True`)."""
    check_can_write(actor)
    household = _locked_household(household_id, actor)
    if "poverty_status" in changes:
        raise DomainError("脱贫状态只能通过状态变更操作修改", field="poverty_status")
    owned = sorted(set(changes) & WORKFLOW_OWNED)
    if owned and not by_workflow:
        labels = "、".join(dictionary.FIELDS[k].label for k in owned)
        raise DomainError(f"“{labels}”由业务流程（案件）办理，不能直接修改", field=owned[0])
    before = {k: getattr(household, k) for k in changes}
    values = clean_household_fields(changes)
    if "village" in values:
        village = _village(str(values["village"]))
        if actor is not None:
            check_region_in_scope(actor, village.code)
        values["village"] = village
        values.update(writes.region_values(village.code))
    updated = Household.objects.filter(pk=household.pk, version=expected_version).update(
        **writes.bump(values)
    )
    if updated != 1:
        raise StaleVersion("该户信息已被他人修改，请刷新后重新编辑。")
    household.refresh_from_db()
    _figures_changed(household.county_code, actor=actor, reason="修改户信息")
    record(
        "registry.household.update",
        actor=actor,
        object_type="household",
        object_id=household.pk,
        diff=masked_diff(before, {k: getattr(household, k) for k in changes}),
    )
    return household


@action
@transaction.atomic
def do_change_household_status(
    household_id: int, status_to: str, changed_on: datetime.date, reason: str, *, actor: Any
) -> Household:
    """Move a household to a new poverty status, appending to its history."""
    check_can_write(actor)
    if status_to not in c.POVERTY_STATUS:
        raise DomainError(f"脱贫状态“{status_to}”不是有效代码", field="poverty_status")
    if not reason.strip():
        raise DomainError("状态变更必须填写原因", field="reason")
    household = _locked_household(household_id, actor)
    status_from = household.poverty_status
    Household.objects.filter(pk=household.pk).update(
        **writes.bump(writes.status_values(status_to, household.exit_year, changed_on))
    )
    writes.status_entry(household.pk, status_from, status_to, changed_on, reason, actor).save(
        force_insert=True
    )
    _figures_changed(household.county_code, actor=actor, reason="脱贫状态变更")
    record(
        "registry.household.status",
        actor=actor,
        object_type="household",
        object_id=household.pk,
        reason=reason,
        diff={"poverty_status": [status_from, status_to], "changed_on": changed_on.isoformat()},
    )
    household.refresh_from_db()
    return household


@action
@transaction.atomic
def do_delete_household(household_id: int, reason: str, *, actor: Any) -> None:
    """Soft-delete a household and its members; restorable."""
    check_can_write(actor)
    if not reason.strip():
        raise DomainError("删除必须填写原因", field="reason")
    household = _locked_household(household_id, actor)
    now = timezone.now()
    Member.objects.filter(household=household).update(
        **writes.bump({"deleted_at": now, "deleted_reason": reason}, now)
    )
    IncomeRecord.objects.filter(household=household).update(
        **writes.bump({"deleted_at": now, "deleted_reason": reason}, now)
    )
    Household.objects.filter(pk=household.pk).update(
        **writes.bump({"deleted_at": now, "deleted_reason": reason}, now)
    )
    _figures_changed(household.county_code, actor=actor, reason="删除农户")
    record(
        "registry.household.delete",
        actor=actor,
        object_type="household",
        object_id=household.pk,
        reason=reason,
    )


@action
@transaction.atomic
def do_update_member(
    member_id: int, expected_version: int, changes: Mapping[str, Any], *, actor: Any
) -> Member:
    """Change a member's fields; the ID number, sex and birth date must stay consistent."""
    check_can_write(actor)
    member = Member.objects.select_for_update().filter(pk=member_id).first()
    if member is None:
        raise OutOfScope("未找到该成员，或您无权访问。")
    locked = _locked_household(member.household_id, actor)
    current = {f: getattr(member, f) for f in MEMBER_EDITABLE}
    merged = validate_member({**current, **changes})
    changed = {k: v for k, v in merged.items() if v != current.get(k)}
    if changed.get("relation") == "head" or (
        current["relation"] == "head" and "relation" in changed
    ):
        raise DomainError("更换户主请使用户主变更操作", field="relation")
    try:
        with transaction.atomic():
            updated = Member.objects.filter(pk=member.pk, version=expected_version).update(
                **writes.bump(changed)
            )
    except IntegrityError as exc:
        raise DomainError("该证件号码已属于另一名在册成员", field="id_number") from exc
    if updated != 1:
        raise StaleVersion("该成员信息已被他人修改，请刷新后重新编辑。")
    head = (
        {"head_name": changed["name"]}
        if current["relation"] == "head" and "name" in changed
        else {}
    )
    _household_changed(member.household_id, **head)
    _figures_changed(locked.county_code, actor=actor, reason="修改成员信息")
    record(
        "registry.member.update",
        actor=actor,
        object_type="member",
        object_id=member.pk,
        diff=masked_diff({k: current.get(k) for k in changed}, changed),
    )
    member.refresh_from_db()
    return member


def _check_live(household: Household) -> None:
    if household.poverty_status in c.CLOSED_STATUSES:
        raise DomainError(
            f"该户为“{c.POVERTY_STATUS[household.poverty_status]}”，不能再变更成员。",
            field="poverty_status",
        )


def _membership_day(day: datetime.date | None, field: str) -> datetime.date:
    """The date a member joined or left (today when not given); never in the future."""
    today = timezone.localdate()
    if day is None:
        return today
    if day > today:
        raise DomainError("成员变动日期不能晚于今天", field=field)
    return day


@action
@transaction.atomic
def do_add_member(
    household_id: int,
    data: Mapping[str, Any],
    reason: str,
    *,
    actor: Any,
    joined_on: datetime.date | None = None,
) -> Member:
    """Add a member to a household (a birth, a marriage or a move in); never a second head.
    `joined_on` is the day of the birth or move (today when not given): year-end counts hold
    the member from that year on."""
    check_can_write(actor)
    if not reason.strip():
        raise DomainError("增加成员必须填写原因", field="reason")
    household = _locked_household(household_id, actor)
    _check_live(household)
    clean = validate_member(data)
    if clean["relation"] == "head":
        raise DomainError("每户只能有一名户主，新增成员不能为户主", field="relation")
    day = _membership_day(joined_on, "joined_on")
    member = Member(household=household, joined_on=day, **clean)
    try:
        with transaction.atomic():
            member.save(force_insert=True)
    except IntegrityError as exc:
        raise DomainError(
            f"成员“{clean['name']}”的证件号码已属于另一名在册成员", field="id_number"
        ) from exc
    _household_changed(household.pk)
    _figures_changed(household.county_code, actor=actor, reason="新增成员")
    record(
        "registry.member.add",
        actor=actor,
        object_type="member",
        object_id=member.pk,
        reason=reason,
        diff={"household": household.pk, "joined_on": day.isoformat(), **masked_diff({}, clean)},
    )
    return member


@action
@transaction.atomic
def do_remove_member(
    member_id: int,
    reason: str,
    *,
    actor: Any,
    new_head_id: int | None = None,
    left_on: datetime.date | None = None,
) -> None:
    """Take a member off the household (a death, a marriage or a move out): soft-deleted with the
    reason and `left_on` (the day, today when not given; year-end counts hold the member until
    the year before), restorable. The head leaves only with `new_head_id`, a member who becomes
    head; the last member leaves only by closing the household (do_close_household)."""
    check_can_write(actor)
    if not reason.strip():
        raise DomainError("减少成员必须填写原因", field="reason")
    member = Member.objects.select_for_update().filter(pk=member_id).first()
    if member is None:
        raise OutOfScope("未找到该成员，或您无权访问。")
    household = _locked_household(member.household_id, actor)
    _check_live(household)
    others = Member.objects.filter(household=household).exclude(pk=member.pk)
    if not others.exists():
        raise DomainError(f"“{member.name}”是该户最后一名成员，应办理自然销户。", field="member")
    heir = None
    if member.relation == "head":
        heir = others.filter(pk=new_head_id).first() if new_head_id else None
        if heir is None:
            raise DomainError(
                f"户主“{member.name}”减少后须指定本户另一名成员为新户主。", field="new_head"
            )
    elif new_head_id:
        raise DomainError("只有户主减少时才能指定新户主。", field="new_head")
    day = _membership_day(left_on, "left_on")
    if member.joined_on is not None and day < member.joined_on:
        raise DomainError(
            f"“{member.name}”于 {member.joined_on} 加入本户，减少日期不能早于该日", field="left_on"
        )
    diff: dict[str, Any] = {"household": household.pk, "name": member.name, "left_on": str(day)}
    now = timezone.now()
    Member.objects.filter(pk=member.pk).update(
        **writes.bump({"deleted_at": now, "deleted_reason": reason[:200], "left_on": day}, now)
    )
    household_changes: dict[str, Any] = {}
    if heir is not None:
        Member.objects.filter(pk=heir.pk).update(**writes.bump({"relation": "head"}, now))
        household_changes["head_name"] = heir.name
        diff["head"] = [member.name, heir.name]
    Household.objects.filter(pk=household.pk).update(**writes.bump(household_changes, now))
    _figures_changed(household.county_code, actor=actor, reason="成员减少")
    record(
        "registry.member.remove",
        actor=actor,
        object_type="member",
        object_id=member.pk,
        reason=reason,
        diff=diff,
    )


@action
@transaction.atomic
def do_close_household(
    household_id: int, changed_on: datetime.date, reason: str, *, actor: Any
) -> Household:
    """自然销户: close a household whose members all died or moved away. Its remaining members are
    taken off (soft-deleted with the reason) and its status becomes `closed` in the status history;
    the household's record is kept."""
    check_can_write(actor)
    if not reason.strip():
        raise DomainError("销户必须填写原因", field="reason")
    household = _locked_household(household_id, actor)
    _check_live(household)
    day = changed_on
    if Member.objects.filter(household=household, joined_on__gt=day).exists():
        raise DomainError("销户日期早于本户成员的加入日期", field="changed_on")
    now = timezone.now()
    left = Member.objects.filter(household=household).update(
        **writes.bump({"deleted_at": now, "deleted_reason": reason[:200], "left_on": day}, now)
    )
    record(
        "registry.household.close",
        actor=actor,
        object_type="household",
        object_id=household.pk,
        reason=reason,
        diff={"members_removed": left},
    )
    return do_change_household_status(household.pk, "closed", changed_on, reason, actor=actor)


def clean_income(amounts: Mapping[str, Any]) -> dict[str, Any]:
    """Income items as stored: Decimal yuan >= 0 with at most two decimals (None for an
    optional item left empty; 0 for a main item left empty), dates for the period."""
    values: dict[str, Any] = {}
    for key, raw in amounts.items():
        if key in {"period_start", "period_end"}:
            values[key] = _as_date(raw) if raw else None
            continue
        if key not in INCOME_AMOUNTS:
            raise DomainError(f"“{key}”不是收入项目", field=key)
        field = IncomeRecord._meta.get_field(key)
        assert isinstance(field, models.Field)
        label = field.verbose_name
        if isinstance(raw, bool):
            raise DomainError(f"{label}应为数字", field=key)
        text = str(raw).strip().replace(",", "") if raw is not None else ""
        try:
            amount = Decimal(text) if text else None
        except ArithmeticError as exc:
            raise DomainError(f"{label}的值“{raw}”不是数字", field=key) from exc
        if amount is None:
            values[key] = field.get_default()
            continue
        if not amount.is_finite():
            raise DomainError(f"{label}的值“{raw}”不是数字", field=key)
        if amount < 0:
            raise DomainError(f"{label}不能为负数", field=key)
        if amount != amount.quantize(Decimal("0.01")):
            raise DomainError(f"{label}最多保留两位小数（分）", field=key)
        if amount >= Decimal("1e10"):
            raise DomainError(f"{label}数值过大", field=key)
        values[key] = amount.quantize(Decimal("0.01"))
    return values


@action
@transaction.atomic
def do_record_income(
    household_id: int,
    year: int,
    amounts: Mapping[str, Any],
    *,
    actor: Any,
    expected_version: int | None = None,
    source: str = "",
) -> IncomeRecord:
    """Create or change a household's income record for a year (amounts >= 0; an item left
    out keeps its value). `expected_version`: the record's version as read (0: no record yet);
    refused with StaleVersion when someone saved in between. The household's version moves,
    so its assessments are stale (ADR 0032), and a background job judges it again. `source`
    names where a computed change comes from (an asset income payment), kept in the audit."""
    check_can_write(actor)
    household = _locked_household(household_id, actor)
    problem = income_year_problem(year, timezone.localdate().year)
    if problem:
        raise DomainError(problem, field="year")
    values = clean_income(amounts)
    existing = (
        IncomeRecord.objects.select_for_update().filter(household=household, year=year).first()
    )
    if expected_version is not None and expected_version != (existing.version if existing else 0):
        raise StaleVersion("该年度收入已被他人修改，请刷新后重新填写。")
    if existing is None:
        income = IncomeRecord(
            household=household, year=year, **{k: v for k, v in values.items() if v is not None}
        )
        income.save(force_insert=True)
        before: dict[str, Any] = {}
    else:
        before = {k: getattr(existing, k) for k in values}
        if not masked_diff(before, values):
            return existing  # nothing changed: nothing written, nothing to judge again
        IncomeRecord.objects.filter(pk=existing.pk).update(**writes.bump(values))
        income = IncomeRecord.objects.get(pk=existing.pk)
    _household_changed(household.pk)
    record(
        "registry.income.record",
        actor=actor,
        object_type="household",
        object_id=household.pk,
        diff={
            "year": year,
            **masked_diff(before, values),
            **({"source": source} if source else {}),
        },
    )
    hooks.incomes_written([household.pk], year, actor=actor, reason="收入变更")
    return income


REVEALABLE_HOUSEHOLD_FIELDS = {"phone": "联系电话", "bank_account": "银行账号"}
REVEALABLE_MEMBER_FIELDS = {"id_number": "证件号码", "health_status": "健康状况"}


def do_reveal_sensitive_field(
    household_id: int, field: str, reason: str, *, actor: Any, member_id: int | None = None
) -> str:
    """The full value of one masked field (PII-1). Needs the unmasked-data permission, a reason of
    at least 4 characters and the household in scope; every reveal is audited (never the value)."""
    if actor is None or not getattr(actor, "is_active", False):
        raise Forbidden("请先登录。")
    reason = reason.strip()
    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    check_household_in_scope(actor, household)
    if not getattr(actor, "may_export_unmasked", False):
        # Audited in its own transaction: the refusal's event must outlive the refusal.
        record_now(
            "registry.field.reveal",
            actor=actor,
            object_type="household",
            object_id=household.pk,
            outcome="refused",
            reason=reason,
            diff={"field": field},
        )
        raise Forbidden("您没有查看未脱敏数据的权限，请联系安全管理员授权。")
    if len(reason) < 4:
        raise DomainError("请填写查看原因（至少 4 个字）。", field="reason")
    if field in REVEALABLE_HOUSEHOLD_FIELDS and member_id is None:
        value = str(getattr(household, field) or "")
        target_type, target_id = "household", household.pk
    elif field in REVEALABLE_MEMBER_FIELDS and member_id is not None:
        member = Member.objects.filter(pk=member_id, household=household).first()
        if member is None:
            raise OutOfScope("未找到该成员，或您无权访问。")
        value = str(getattr(member, field) or "")
        target_type, target_id = "member", member.pk
    else:
        raise DomainError("该字段不能查看。", field="field")
    record_now(
        "registry.field.reveal",
        actor=actor,
        object_type=target_type,
        object_id=target_id,
        reason=reason,
        diff={"field": field, "household": household.pk},
    )
    return value
