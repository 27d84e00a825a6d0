"""Natural changes (自然变更) carried by a `natural_change` case: births, marriages, moves, deaths
and 自然销户. The opener states one structured change; it is checked when the case is opened and
applied, through the registry's own actions (scoped, audited, versioned), when the county
announces the case. Applying re-checks it: the household may have changed in between.

A change is a small dict kept on the case:
- adds (birth, marriage_in, move_in): {"type", "date", "member": {name, id_number, relation, …}};
- removals (death, marriage_out, move_out): {"type", "date", "member_id", "member_name",
  "new_head_id" (when the head leaves)};
- close (自然销户: every member died or moved away): {"type", "date"}.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Final

from jingzhun.core.errors import DomainError
from jingzhun.registry import choices as c
from jingzhun.registry.actions import (
    do_add_member,
    do_close_household,
    do_remove_member,
    validate_member,
)
from jingzhun.registry.masking import mask_value
from jingzhun.registry.models import Household, Member, id_index

ADDS: Final = {"birth": "出生", "marriage_in": "婚入", "move_in": "迁入"}
REMOVALS: Final = {"death": "死亡", "marriage_out": "婚出", "move_out": "迁出"}
CHANGE_TYPES: Final = {**ADDS, **REMOVALS, "close": "自然销户"}
NEW_MEMBER_FIELDS: Final = ("name", "id_number", "relation")


def _date(raw: Any, today: datetime.date) -> datetime.date:
    try:
        day = raw if isinstance(raw, datetime.date) else datetime.date.fromisoformat(str(raw))
    except ValueError as exc:
        raise DomainError("请填写变更发生日期。", field="change_date") from exc
    if day > today:
        raise DomainError("变更发生日期不能晚于今天。", field="change_date")
    return day


def clean_change(household: Household, raw: Mapping[str, Any], today: datetime.date) -> dict:
    """The change as it will be kept on the case, or a DomainError naming the field."""
    kind = str(raw.get("type") or "")
    if kind not in CHANGE_TYPES:
        raise DomainError(
            "请选择变更类型（出生、婚入、迁入、死亡、婚出、迁出或自然销户）。", field="change_type"
        )
    day = _date(raw.get("date"), today)
    change: dict[str, Any] = {"type": kind, "date": day.isoformat()}
    if kind in ADDS:
        given = raw.get("member") or {}
        data = {k: str(given.get(k) or "").strip() for k in NEW_MEMBER_FIELDS}
        if data["relation"] == "head":
            raise DomainError("新增成员不能为户主。", field="relation")
        clean = validate_member(data)
        if kind == "birth" and clean["birth_date"] != day:
            raise DomainError(
                f"出生日期应与证件号码中的 {clean['birth_date']} 一致。", field="change_date"
            )
        if Member.objects.filter(id_number_index=id_index(clean["id_number"])).exists():
            raise DomainError(
                f"成员“{clean['name']}”的证件号码已属于另一名在册成员。", field="id_number"
            )
        change["member"] = {
            "name": clean["name"],
            "id_number": clean["id_number"],
            "relation": clean["relation"],
        }
    elif kind in REMOVALS:
        member = _live_member(household, raw.get("member_id"))
        change.update(member_id=member.pk, member_name=member.name)
        others = household.members.exclude(pk=member.pk)
        if not others.exists():
            raise DomainError(
                f"“{member.name}”是该户最后一名成员，应办理自然销户。", field="member"
            )
        if member.relation == "head":
            heir = _live_member(household, raw.get("new_head_id"), field="new_head")
            if heir.pk == member.pk:
                raise DomainError("新户主不能是减少的成员本人。", field="new_head")
            change["new_head_id"] = heir.pk
    return change


def _live_member(household: Household, raw: Any, *, field: str = "member") -> Member:
    member_id = int(raw) if str(raw or "").isdigit() else None
    member = household.members.filter(pk=member_id).first() if member_id else None
    if member is None:
        what = "新户主" if field == "new_head" else "变更的成员"
        raise DomainError(f"请选择本户在册的{what}。", field=field)
    return member


def _shown_date(change: Mapping[str, Any]) -> str:
    """The change's date as masked output shows it: a birth's date is the new member's birth
    date, the 8 digits the masked ID number hides, so only its year goes beside that ID."""
    day = str(change.get("date") or "")
    return day[:4] if change.get("type") == "birth" else day


def describe(change: Mapping[str, Any]) -> str:
    """One Chinese line for pages and the API, with the ID number masked."""
    kind = str(change.get("type") or "")
    label = CHANGE_TYPES.get(kind, kind)
    if kind in ADDS:
        m = change.get("member") or {}
        relation = c.RELATION.get(str(m.get("relation")), "")
        who = f"{m.get('name', '')}（{relation}，{mask_value('id_number', m.get('id_number'))}）"
        return f"{label}：{who}，{_shown_date(change)}"
    if kind in REMOVALS:
        return f"{label}：{change.get('member_name', '')}，{change.get('date', '')}"
    return f"{label}，{change.get('date', '')}"


def masked(change: Mapping[str, Any]) -> dict[str, Any]:
    """The change with the new member's ID number masked (API, audit) and a birth's date cut to
    its year (see `_shown_date`)."""
    out = dict(change)
    if "date" in out:
        out["date"] = _shown_date(change)
    if isinstance(out.get("member"), Mapping):
        member = dict(out["member"])
        member["id_number"] = mask_value("id_number", member.get("id_number"))
        out["member"] = member
    return out


def apply_change(household: Household, change: Mapping[str, Any], why: str, *, actor: Any) -> str:
    """Apply an approved change through the registry's actions; returns the outcome line."""
    kind = str(change.get("type") or "")
    label = CHANGE_TYPES.get(kind, kind)
    reason = f"{label}（{why}）"
    day = datetime.date.fromisoformat(str(change["date"]))
    if kind in ADDS:
        member = dict(change.get("member") or {})
        do_add_member(household.pk, member, reason, actor=actor, joined_on=day)
        return f"已增加成员：{member.get('name', '')}（{label}）"
    if kind in REMOVALS:
        member_id = int(change["member_id"])
        if not household.members.filter(pk=member_id).exists():
            raise DomainError("要减少的成员已不在本户，请退回重新核查。", field="member")
        new_head = change.get("new_head_id")
        do_remove_member(
            member_id,
            reason,
            actor=actor,
            new_head_id=int(new_head) if new_head else None,
            left_on=day,
        )
        return f"已减少成员：{change.get('member_name', '')}（{label}）"
    if kind == "close":
        do_close_household(household.pk, day, reason, actor=actor)
        return "已自然销户"
    raise DomainError("未知的变更类型。", field="change_type")
