"""Surveys filled offline on the field page and sent later (issue 24 item 6; ADR
"fieldsurvey-offline").

The survey teams (selfcheck.actions.SURVEYORS: county and township staff) download the sampled
households their grants cover (`field_rows`: the same fields the web form shows, no ID numbers
or phones), fill the surveys without a connection (the page's IndexedDB queue, a client id made
in the browser for each), and send them in batches to `do_sync_surveys`. Per item:

- stored: saved through `actions.do_save_survey` (role, scope, checks, its audit event, the
  county office's findings) and its client id kept (`SurveySync`) in the same savepoint;
- duplicate: that client id is already stored (a retry or replay): nothing is written;
- conflict: the sampled household changed after the version the surveyor downloaded (the survey
  was entered or corrected on the web, or its findings were registered), or the self-check's
  survey was closed; the current version is returned when sending again makes sense;
- refused: a Chinese sentence naming the field (bad date, missing approval, out of scope …).

Each item is its own savepoint: a refusal or conflict leaves nothing of it written, and the
stored items stand. One batch audit event (`selfcheck.survey.sync`) names every stored item
besides each survey's own `selfcheck.survey.save`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.core.models import action

from .actions import SURVEYORS, do_save_survey
from .models import SampledHousehold, SurveySync
from .selectors import sampled_for

MAX_BATCH = 200
MAX_FIELD_ROWS = 3000
FLAGS = (
    "food_clothing_secure",
    "education_secure",
    "medical_secure",
    "housing_secure",
    "water_secure",
)
FLAG_LABELS = {
    "food_clothing_secure": "不愁吃、不愁穿",
    "education_secure": "义务教育有保障",
    "medical_secure": "基本医疗有保障",
    "housing_secure": "住房安全有保障",
    "water_secure": "饮水安全有保障",
    "approves": "是否认可帮扶和退出工作",
}


# --- the download ---------------------------------------------------------------------------


def field_rows(user: Any) -> list[dict[str, Any]]:
    """The sampled households of the user's open self-checks (drawn, survey not closed) that the
    user's grants cover, as the offline page keeps them: what the web form shows (village,
    household code, head's name, group, persons) and the version the survey is filled against.
    Nobody outside the survey teams gets any."""
    if getattr(user, "role", "") not in SURVEYORS:
        return []
    rows = (
        sampled_for(user)
        .filter(selfcheck__closed_on__isnull=True)
        .exclude(selfcheck__design={})
        .select_related("selfcheck", "household", "village")
        .order_by("-selfcheck__year", "selfcheck_id", "village_id", "group", "pk")[:MAX_FIELD_ROWS]
    )
    return [
        {
            "id": r.pk,
            "selfcheck": r.selfcheck.title,
            "village": r.village.name,
            "code": r.household.household_code,
            "head": r.household.head_name,
            "group": r.group,
            "group_label": r.group_label,
            "persons": r.persons,
            "version": r.version,
            "surveyed": r.surveyed_on.isoformat() if r.surveyed_on else "",
        }
        for r in rows
    ]


# --- checking one item (pure) -----------------------------------------------------------------


@dataclass
class Clean:
    client_id: uuid.UUID
    sampled_id: int
    version: int
    surveyed_on: datetime.date
    team: str
    answers: dict[str, Any]


def _flag(value: Any, key: str) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise DomainError(f"“{FLAG_LABELS[key]}”的值“{value}”无效，应为 是 或 否。", field=key)


def _count(value: Any, key: str, label: str, limit: int = 99) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise DomainError(f"{label}“{value}”不是整数。", field=key)
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise DomainError(f"{label}“{value}”不是整数。", field=key) from exc
    if not 0 <= number <= limit:
        raise DomainError(f"{label}应在 0 到 {limit} 之间。", field=key)
    return number


def clean_item(raw: Any, today: datetime.date) -> Clean:
    """One queued survey's values checked; DomainError naming the field otherwise. The
    household-specific rules (approval required, wrong exit only on exited households, persons
    at most the household's) are do_save_survey's."""
    if not isinstance(raw, Mapping):
        raise DomainError("调查记录格式有误（应为对象）。", field="item")
    try:
        client_id = uuid.UUID(str(raw.get("client_id", "")))
    except ValueError as exc:
        raise DomainError("调查记录缺少有效的客户端编号（client_id）。", field="client_id") from exc
    sampled = _count(raw.get("sampled_id"), "sampled_id", "抽样户编号", 2**62)
    if not sampled:
        raise DomainError("调查记录缺少抽样户编号（sampled_id）。", field="sampled_id")
    version = _count(raw.get("version"), "version", "所见版本", 2**31)
    if not version:
        raise DomainError("调查记录缺少下载时所见的版本（version）。", field="version")
    text = str(raw.get("surveyed_on", "") or "")
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(f"调查日期“{text}”无效，应为 年-月-日。", field="surveyed_on") from exc
    if day > today:
        raise DomainError(
            f"调查日期 {day.isoformat()} 晚于今天（{today.isoformat()}）。", field="surveyed_on"
        )
    team = str(raw.get("team", "") or "").strip()
    given = raw.get("answers")
    if not isinstance(given, Mapping):
        raise DomainError("调查记录缺少问卷答案（answers）。", field="answers")
    answers: dict[str, Any] = {k: _flag(given.get(k), k) for k in FLAGS}
    answers["approves"] = _flag(given.get("approves"), "approves")
    yuan = _count(
        given.get("income_per_capita_yuan"), "income_per_capita_yuan", "人均纯收入（元）", 10**7
    )
    answers["income_per_capita_fen"] = yuan * 100 if yuan is not None else None
    answers["wrongly_exited_persons"] = (
        _count(given.get("wrongly_exited_persons"), "wrongly_exited_persons", "错退人数") or 0
    )
    answers["missed_persons"] = (
        _count(given.get("missed_persons"), "missed_persons", "漏评人数") or 0
    )
    answers["complaint"] = str(given.get("complaint", "") or "")
    return Clean(client_id, sampled, version, day, team, answers)


# --- the batch --------------------------------------------------------------------------------


@dataclass
class Outcome:
    client_id: str
    status: str  # stored | duplicate | conflict | refused
    message: str = ""
    sampled_id: int | None = None
    version: int | None = None  # stored: the new version; conflict: the current one

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"client_id": self.client_id, "status": self.status}
        for key in ("message", "sampled_id", "version"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        return out


@dataclass
class SyncResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def _conflict(row: SampledHousehold, seen: int) -> str:
    code = row.household.household_code
    if row.surveyed_on is not None:
        return (
            f"抽样户 {code}（{row.household.head_name}）在您下载之后已有人录入或修改了入户调查"
            f"（调查日期 {row.surveyed_on}，核查组 {row.team}；版本 {seen} → {row.version}）。"
            "请核对后选择“仍然提交”（覆盖为您的调查）或“放弃”。"
        )
    return (
        f"抽样户 {code}（{row.household.head_name}）在您下载之后已被修改（版本 {seen} → "
        f"{row.version}）。请核对后选择“仍然提交”或“放弃”。"
    )


def _one(clean: Clean, actor: Any) -> Outcome:
    cid = str(clean.client_id)
    row = (
        SampledHousehold.objects.select_for_update(of=("self",))
        .select_related("selfcheck", "household")
        .filter(pk=clean.sampled_id, pk__in=sampled_for(actor).values("pk"))
        .first()
    )
    if row is None:
        raise OutOfScope("未找到该抽样户，或该户不在您负责核查的范围内。")
    if row.selfcheck.closed:
        return Outcome(
            cid,
            "conflict",
            f"“{row.selfcheck.title}”已于 {row.selfcheck.closed_on} 结束调查，"
            f"抽样户 {row.household.household_code} 的离线调查不能再提交，请放弃。",
            sampled_id=row.pk,
        )
    if row.version != clean.version:
        return Outcome(cid, "conflict", _conflict(row, clean.version), row.pk, row.version)
    saved = do_save_survey(
        row.pk,
        version=clean.version,
        surveyed_on=clean.surveyed_on,
        team=clean.team,
        answers=clean.answers,
        actor=actor,
    )
    SurveySync.objects.create(
        client_id=clean.client_id, sampled=saved, synced_by=actor, version=saved.version
    )
    return Outcome(cid, "stored", "", saved.pk, saved.version)


@action
@transaction.atomic
def do_sync_surveys(items: Sequence[Any], *, actor: Any) -> SyncResult:
    """Store a batch of surveys queued offline, once each by client id, and say per item what
    happened (in the order sent). Each item is written whole or not at all."""
    if not getattr(actor, "is_active", False) or getattr(actor, "role", "") not in SURVEYORS:
        raise Forbidden("只有县级、乡镇核查组人员可以同步入户调查。")
    if len(items) > MAX_BATCH:
        raise DomainError(f"每次最多同步 {MAX_BATCH} 份入户调查，请分批发送。", field="surveys")
    today = timezone.localdate()
    slots: list[Outcome | Clean] = []
    for raw in items:
        try:
            slots.append(clean_item(raw, today))
        except DomainError as exc:
            cid = str(raw.get("client_id", "")) if isinstance(raw, Mapping) else ""
            slots.append(Outcome(cid, "refused", exc.message))
    cleans = [s for s in slots if isinstance(s, Clean)]
    existing = {
        s["client_id"]: s
        for s in SurveySync.objects.filter(client_id__in=[c.client_id for c in cleans]).values(
            "client_id", "sampled_id", "synced_by_id", "version"
        )
    }
    result = SyncResult()
    seen: set[uuid.UUID] = set()
    for slot in slots:
        if isinstance(slot, Outcome):
            result.outcomes.append(slot)
            continue
        cid = str(slot.client_id)
        stored = existing.get(slot.client_id)
        if stored is not None and stored["synced_by_id"] != actor.pk:
            result.outcomes.append(Outcome(cid, "refused", "该客户端编号已被使用。"))
            continue
        if stored is not None or slot.client_id in seen:
            result.outcomes.append(
                Outcome(
                    cid,
                    "duplicate",
                    "已同步过，未重复保存。",
                    stored["sampled_id"] if stored else slot.sampled_id,
                    stored["version"] if stored else None,
                )
            )
            continue
        seen.add(slot.client_id)
        try:
            with transaction.atomic():
                outcome = _one(slot, actor)
        except DomainError as exc:
            outcome = Outcome(cid, "refused", exc.message, slot.sampled_id)
        result.outcomes.append(outcome)
    stored_items = [o for o in result.outcomes if o.status == "stored"]
    if stored_items:
        record(
            "selfcheck.survey.sync",
            actor=actor,
            object_type="sampled_household",
            object_id=stored_items[0].sampled_id,
            diff={
                "surveys": [None, [[o.sampled_id, o.client_id] for o in stored_items]],
                "outcomes": {
                    s: result.count(s) for s in ("stored", "duplicate", "conflict", "refused")
                },
            },
        )
    return result
