"""Visits (走访, 帮扶日志; issue 21 items 4, 5, 8): recording, offline sync, visits due, and the
monitoring case opened from a change seen on a visit.

Every write is an action (one transaction, scope checked, audited). A visit is recorded by the
helper paired with the household on the day it is stored (`access.scoping` for a helper is
exactly their current pairings; another household is `OutOfScope`, nothing written).

Sync (`do_sync_visits`) is set-wise, the fast path of item 9: every item is checked, the
households read in one query, existing client ids in one, the new visits inserted with one
`bulk_create` and one audit event for the batch, in one transaction. Per item it returns an
outcome: stored, duplicate (that client id is already stored: a retry), conflict (the rule of
ADR "visits-offline": the visit reports changes and the household was edited after the version
the helper saw) or refused (a Chinese sentence). A conflict is never stored: the helper resolves
it on the page by sending it again acknowledging the current version, or discarding it.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from jingzhun.access.models import HelperPairing
from jingzhun.access.scoping import scope_households
from jingzhun.audit.actions import record
from jingzhun.core import stored_files as evidence
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.core.models import action
from jingzhun.policy.store import PolicyError, default_store
from jingzhun.registry.models import Household
from jingzhun.workflows.actions import CaseDetails, do_open_case
from jingzhun.workflows.models import Case

from .actions import current_pairings_q
from .choices import CHANGE_RISK, VISIT_CHANGES, VISIT_FREQUENCY_TABLE, VISIT_KINDS
from .models import Visit, VisitPhoto

MAX_NOTES = 2000
MAX_CHANGE_NOTE = 200
MAX_PHOTOS = 5
PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = ("jpg", "png")
MAX_BATCH = 500
OLDEST_DAYS = 366


# --- checking one visit (pure: no writes) -----------------------------------------------------


@dataclass
class Photo:
    filename: str
    data: bytes


@dataclass
class VisitInput:
    """What a helper states about a visit; `household_version` is the version they saw."""

    client_id: str
    household_id: int
    visited_on: datetime.date | str
    kind: str
    household_version: int
    notes: str = ""
    changes: Sequence[Mapping[str, Any]] = ()
    latitude: Any = None
    longitude: Any = None
    photos: Sequence[Photo] = ()


@dataclass
class Clean:
    client_id: uuid.UUID
    household_id: int
    visited_on: datetime.date
    kind: str
    household_version: int
    notes: str
    changes: list[dict[str, str]]
    latitude: Decimal | None
    longitude: Decimal | None
    photos: list[tuple[str, str, str, int, bytes]]  # (type, name, sha256, size, bytes)


def check_photo(filename: str, data: bytes) -> tuple[str, str, str, int, bytes]:
    """A visit photo: JPG or PNG by its bytes (never its name), at most 5 MB."""
    if not data:
        raise DomainError(f"照片“{filename}”是空文件。", field="photos")
    if len(data) > PHOTO_BYTES:
        raise DomainError(
            f"照片“{filename}”过大（{len(data) / 1024 / 1024:.1f} MB）：每张最大 "
            f"{PHOTO_BYTES // (1024 * 1024)} MB，请压缩后再上传。",
            field="photos",
        )
    kind = evidence.sniff(data)
    if kind not in PHOTO_TYPES:
        raise DomainError(
            f"“{filename}”不是图片：走访照片只接受 JPG 或 PNG（按文件内容判断，不看文件名）。",
            field="photos",
        )
    _, name, sha = evidence.check_upload(filename, data)
    return kind, name, sha, len(data), data


def _coordinate(value: Any, label: str, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(f"{label}“{value}”不是数字。", field="location") from exc
    if not -limit <= number <= limit:
        raise DomainError(f"{label}应在 -{limit} 到 {limit} 之间。", field="location")
    return number


def clean_visit(data: VisitInput, today: datetime.date) -> Clean:
    """The visit's values checked; DomainError naming the field and the reason otherwise."""
    try:
        client_id = uuid.UUID(str(data.client_id))
    except ValueError as exc:
        raise DomainError("走访记录缺少有效的客户端编号（client_id）。", field="client_id") from exc
    day = data.visited_on
    if isinstance(day, str):
        try:
            day = datetime.date.fromisoformat(day)
        except ValueError as exc:
            raise DomainError(
                f"走访日期“{data.visited_on}”无效，应为 年-月-日。", field="visited_on"
            ) from exc
    if day > today:
        raise DomainError(
            f"走访日期 {day.isoformat()} 晚于今天（{today.isoformat()}），不能登记未来的走访。",
            field="visited_on",
        )
    if day < today - datetime.timedelta(days=OLDEST_DAYS):
        raise DomainError("走访日期不能早于一年前。", field="visited_on")
    if data.kind not in VISIT_KINDS:
        raise DomainError(
            f"走访方式“{data.kind}”无效，应为：{'、'.join(VISIT_KINDS.values())}。", field="kind"
        )
    notes = (data.notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise DomainError(f"走访记录不能超过 {MAX_NOTES} 个字。", field="notes")
    changes: list[dict[str, str]] = []
    for item in data.changes or ():
        kind = str(item.get("kind", ""))
        if kind not in VISIT_CHANGES:
            raise DomainError(
                f"变化类型“{kind}”无效，应为：{'、'.join(VISIT_CHANGES.values())}。",
                field="changes",
            )
        if any(c["kind"] == kind for c in changes):
            raise DomainError(f"变化“{VISIT_CHANGES[kind]}”重复填写。", field="changes")
        note = str(item.get("note", "") or "").strip()
        if len(note) > MAX_CHANGE_NOTE:
            raise DomainError(
                f"变化“{VISIT_CHANGES[kind]}”的说明不能超过 {MAX_CHANGE_NOTE} 个字。",
                field="changes",
            )
        changes.append({"kind": kind, "note": note})
    lat = _coordinate(data.latitude, "纬度", 90)
    lon = _coordinate(data.longitude, "经度", 180)
    if (lat is None) != (lon is None):
        raise DomainError("位置须同时有纬度和经度，或都不填。", field="location")
    if len(data.photos) > MAX_PHOTOS:
        raise DomainError(f"每次走访最多上传 {MAX_PHOTOS} 张照片。", field="photos")
    photos = [check_photo(p.filename, p.data) for p in data.photos]
    try:
        version = int(data.household_version)
    except (TypeError, ValueError) as exc:
        raise DomainError("走访记录缺少所见户信息的版本。", field="household_version") from exc
    return Clean(
        client_id,
        int(data.household_id),
        day,
        data.kind,
        version,
        notes,
        changes,
        lat,
        lon,
        photos,
    )


def _check_helper(actor: Any) -> None:
    if getattr(actor, "role", "") != "helper":
        raise Forbidden("只有帮扶责任人可以登记走访记录。")


def paired_households(actor: Any, ids: Iterable[int], on: datetime.date) -> QuerySetLike:
    """The actor's households among `ids`: in their scope and paired with them on `on`."""
    running = HelperPairing.objects.filter(current_pairings_q(on), helper=actor).values(
        "household_id"
    )
    scoped = scope_households(actor, Household.objects.filter(pk__in=list(ids))).filter(
        pk__in=running
    )
    # a plain filter over the scoped ids: the scope may use DISTINCT, which PostgreSQL refuses
    # under FOR UPDATE
    return Household.objects.filter(pk__in=scoped.order_by().values("pk"))


QuerySetLike = Any


def _visit(clean: Clean, actor: Any) -> Visit:
    return Visit(
        helper=actor,
        household_id=clean.household_id,
        visited_on=clean.visited_on,
        kind=clean.kind,
        notes=clean.notes,
        latitude=clean.latitude,
        longitude=clean.longitude,
        changes=clean.changes,
        client_id=clean.client_id,
        household_version=clean.household_version,
    )


def _store_photos(visit: Visit, photos: list[tuple[str, str, str, int, bytes]]) -> None:
    for kind, name, sha, size, data in photos:
        evidence.store(sha, data)
        VisitPhoto.objects.create(
            visit=visit,
            content_type=evidence.content_type_of(kind),
            size=size,
            sha256=sha,
            filename=name,
            uploaded_by_id=visit.helper_id,
            uploaded_at=visit.recorded_at,
        )


def _diff(visit: Visit) -> dict[str, Any]:
    return {
        "household": [None, visit.household_id],
        "visited_on": [None, visit.visited_on.isoformat()],
        "kind": [None, visit.kind],
        "changes": [None, [c["kind"] for c in visit.changes]],
        "client_id": [None, str(visit.client_id)],
    }


# --- one visit (the page's form) --------------------------------------------------------------


@action
@transaction.atomic
def do_record_visit(data: VisitInput, *, actor: Any) -> Visit:
    """Record one visit of the actor (a helper) to a household paired with them. A client id
    already stored returns that visit (a resubmitted form stores nothing twice)."""
    _check_helper(actor)
    today = timezone.localdate()
    clean = clean_visit(data, today)
    existing = Visit.objects.filter(client_id=clean.client_id).first()
    if existing is not None:
        if existing.helper_id != actor.pk:
            raise DomainError("该客户端编号已被使用。", field="client_id")
        return existing
    household = paired_households(actor, [clean.household_id], today).select_for_update().first()
    if household is None:
        raise OutOfScope("未找到该户，或该户不是您的结对帮扶户。")
    visit = _visit(clean, actor)
    visit.save(force_insert=True)
    _store_photos(visit, clean.photos)
    diff = _diff(visit)
    if clean.photos:
        diff["photos"] = [None, [p[2][:12] for p in clean.photos]]
    record(
        "assistance.visit.record", actor=actor, object_type="visit", object_id=visit.pk, diff=diff
    )
    return visit


# --- sync (the offline queue; the set-wise fast path) -----------------------------------------


@dataclass
class Outcome:
    client_id: str
    status: str  # stored | duplicate | conflict | refused
    message: str = ""
    visit_id: int | None = None
    household_version: int | None = None  # the current version, for a conflict's resolution

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"client_id": self.client_id, "status": self.status}
        if self.message:
            out["message"] = self.message
        if self.visit_id is not None:
            out["visit_id"] = self.visit_id
        if self.household_version is not None:
            out["household_version"] = self.household_version
        return out


@dataclass
class SyncResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def conflict_message(household: Household, seen: int) -> str:
    return (
        f"户 {household.household_code}（{household.head_name}）的登记信息在您走访时所见版本 "
        f"{seen} 之后已被修改（现为版本 {household.version}），而本次走访记录了变化。"
        "请核对户的最新信息后选择“仍然提交”或“放弃”。"
    )


@action
@transaction.atomic
def do_sync_visits(items: Sequence[VisitInput], *, actor: Any) -> SyncResult:
    """Store a batch of queued visits once each (by client id), set-wise, and say per visit what
    happened. Nothing refused or in conflict is written; the others are, in one transaction."""
    _check_helper(actor)
    if len(items) > MAX_BATCH:
        raise DomainError(f"每次最多同步 {MAX_BATCH} 条走访记录，请分批发送。", field="visits")
    today = timezone.localdate()
    result = SyncResult()
    slots: list[Outcome | Clean] = []
    for item in items:
        try:
            slots.append(clean_visit(item, today))
        except DomainError as exc:
            slots.append(Outcome(str(item.client_id), "refused", exc.message))
    cleans = [s for s in slots if isinstance(s, Clean)]
    existing = {
        v["client_id"]: v
        for v in Visit.objects.filter(client_id__in=[c.client_id for c in cleans]).values(
            "client_id", "pk", "helper_id"
        )
    }
    households = {
        h.pk: h
        for h in paired_households(actor, {c.household_id for c in cleans}, today)
        .select_for_update()
        .only("pk", "version", "household_code", "head_name")
    }
    new: list[Visit] = []
    seen: set[uuid.UUID] = set()
    outcomes: dict[int, Outcome] = {}
    for i, slot in enumerate(slots):
        if isinstance(slot, Outcome):
            outcomes[i] = slot
            continue
        cid = str(slot.client_id)
        stored = existing.get(slot.client_id)
        if stored is not None or slot.client_id in seen:
            if stored is not None and stored["helper_id"] != actor.pk:
                outcomes[i] = Outcome(cid, "refused", "该客户端编号已被使用。")
            else:
                outcomes[i] = Outcome(
                    cid, "duplicate", "已同步过，未重复保存。", stored["pk"] if stored else None
                )
            continue
        household = households.get(slot.household_id)
        if household is None:
            outcomes[i] = Outcome(cid, "refused", "未找到该户，或该户已不是您的结对帮扶户。")
            continue
        if slot.changes and household.version != slot.household_version:
            outcomes[i] = Outcome(
                cid,
                "conflict",
                conflict_message(household, slot.household_version),
                household_version=household.version,
            )
            continue
        seen.add(slot.client_id)
        new.append(_visit(slot, actor))
        outcomes[i] = Outcome(cid, "stored")
    if new:
        Visit.objects.bulk_create(new, batch_size=1000)
        if any(v.pk is None for v in new):  # a backend without RETURNING on bulk inserts
            found = dict(
                Visit.objects.filter(client_id__in=[v.client_id for v in new]).values_list(
                    "client_id", "pk"
                )
            )
            for visit in new:
                visit.pk = found[visit.client_id]
        ids = {v.client_id: v.pk for v in new}
        by_client = {str(v.client_id): v for v in new}
        for i, slot in enumerate(slots):
            if isinstance(slot, Clean) and outcomes[i].status == "stored":
                outcomes[i].visit_id = ids[slot.client_id]
                _store_photos(by_client[str(slot.client_id)], slot.photos)
        record(
            "assistance.visit.sync",
            actor=actor,
            object_type="visit",
            object_id=_listed_ids([v.pk for v in new]),
            diff={
                "visits": [
                    None,
                    [
                        {"id": v.pk, "household": v.household_id, "client_id": str(v.client_id)}
                        for v in new
                    ],
                ]
            },
        )
    result.outcomes = [outcomes[i] for i in range(len(slots))]
    return result


# --- visits due (policy table visit_frequency) ------------------------------------------------


@dataclass(frozen=True)
class Frequency:
    days: int
    note: str
    path: str
    version: str


def frequency_for(county_code: str, monitored: bool, on: datetime.date) -> Frequency | None:
    """The longest interval between two visits of a household, from `visit_frequency`; None when
    no version of the table is in effect or no row matches."""
    store = default_store()
    group = "monitored" if monitored else "registered"
    try:
        found = store.lookup(VISIT_FREQUENCY_TABLE, on=on, county=county_code[:6], group=group)
        if found is None or found.value is None:
            return None
        loaded = store.table_file(VISIT_FREQUENCY_TABLE, on)
    except PolicyError:
        return None
    return Frequency(int(found.value), found.row.note or "", loaded.path, loaded.doc.version)


@dataclass
class Due:
    last_visit: datetime.date | None
    due_on: datetime.date | None  # None: no rule configured
    frequency: Frequency | None

    def overdue(self, on: datetime.date) -> bool:
        return self.due_on is not None and self.due_on < on

    def due(self, on: datetime.date) -> bool:
        return self.due_on is not None and self.due_on <= on


def visits_due(
    households: Sequence[Household], since: Mapping[int, datetime.date], on: datetime.date
) -> dict[int, Due]:
    """For each household: its last visit and the day the next is due (the last visit plus the
    rule's interval). A household never visited counts from the start of its pairing (`since`)."""
    last = dict(
        Visit.objects.filter(household__in=[h.pk for h in households])
        .values("household")
        .annotate(last=Max("visited_on"))
        .values_list("household", "last")
    )
    rules: dict[tuple[str, bool], Frequency | None] = {}
    out: dict[int, Due] = {}
    for h in households:
        key = (h.county_code[:6], bool(h.monitoring_category))
        if key not in rules:
            rules[key] = frequency_for(key[0], key[1], on)
        rule = rules[key]
        previous = last.get(h.pk)
        base = previous or since.get(h.pk)
        due_on = base + datetime.timedelta(days=rule.days) if rule and base else None
        out[h.pk] = Due(previous, due_on, rule)
    return out


def visits_of(actor: Any, household_id: int) -> list[Visit]:
    """A household's visits, for anyone who may see the household."""
    if not scope_households(actor, Household.objects.filter(pk=household_id)).exists():
        raise OutOfScope("未找到该户，或您无权访问。")
    return list(
        Visit.objects.filter(household_id=household_id)
        .select_related("helper", "case")
        .prefetch_related("photos")
        .order_by("-visited_on", "-pk")
    )


def visit_for(actor: Any, visit_id: int) -> Visit:
    visit = Visit.objects.select_related("household", "helper", "case").filter(pk=visit_id).first()
    if (
        visit is None
        or not scope_households(actor, Household.objects.filter(pk=visit.household_id)).exists()
    ):
        raise OutOfScope("未找到该走访记录，或您无权访问。")
    return visit


# --- a monitoring case from a change seen on a visit ------------------------------------------


@action
@transaction.atomic
def do_open_case_from_visit(visit_id: int, *, actor: Any, monitoring_category: str) -> Case:
    """Open the monitoring identification case (监测对象识别, the workflow's own clock) for the
    visit's household, found by cadre screening (基层干部排查), the visit's notes and changes as
    the reason and the changes' risk types. The workflow decides who may open it (its openers);
    the visit keeps the case it opened, and a visit opens at most one."""
    visit = Visit.objects.select_for_update().filter(pk=visit_id).first()
    if (
        visit is None
        or not scope_households(actor, Household.objects.filter(pk=visit.household_id)).exists()
    ):
        raise OutOfScope("未找到该走访记录，或您无权访问。")
    if visit.case_id is not None:
        raise DomainError("该走访记录已发起过监测对象识别案件。", field="visit")
    if not visit.changes:
        raise DomainError("该走访记录没有登记变化，不能由此发起监测。", field="visit")
    changes = "；".join(
        VISIT_CHANGES[c["kind"]] + (f"：{c['note']}" if c.get("note") else "")
        for c in visit.changes
    )
    summary = (
        f"走访（{visit.visited_on.isoformat()}，{visit.kind_label}）发现：{changes}。{visit.notes}"
    )
    case = do_open_case(
        visit.household_id,
        "monitoring",
        CaseDetails(
            summary=summary[:500],
            route="cadre_screening",
            monitoring_category=monitoring_category,
            risk_types=tuple(CHANGE_RISK[c["kind"]] for c in visit.changes),
        ),
        actor=actor,
    )
    Visit.objects.filter(pk=visit.pk).update(case=case)
    record(
        "assistance.visit.open_case",
        actor=actor,
        object_type="visit",
        object_id=visit.pk,
        diff={"case": [None, case.pk]},
    )
    return case


def _listed_ids(pks: list[int], width: int = 64) -> str:
    """The ids as an audit event's object_id (at most `width` characters): as many as fit, then
    "…" (the event's diff lists them all)."""
    out = ""
    for i, pk in enumerate(pks):
        candidate = f"{out},{pk}" if out else str(pk)
        if len(candidate) > width - (1 if i < len(pks) - 1 else 0):
            return out + "…"
        out = candidate
    return out
