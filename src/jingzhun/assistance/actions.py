"""Writes of precise assistance (issue 21 item 2): helper profiles and pairings.

Every function is an action (AGENTS.md rule 1): one transaction, the actor's role and scope
checked (the household re-checked with `access.scoping.check_household_in_scope` under its row
lock), the write, then one audit event per changed row in the same transaction. A refusal is a
`DomainError` with a Chinese sentence and leaves every row as it was.

Quotas come from `policies/tables/helper_quotas.yaml` (`quotas.quota_for`): the helper's
account row is locked first, so two pairings of one helper cannot both pass the count.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from jingzhun.access.models import HelperPairing, User
from jingzhun.access.scoping import check_household_in_scope, household_filter
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.registry import choices as c
from jingzhun.registry.actions import check_can_write
from jingzhun.registry.models import Household

from .choices import HELPER_KINDS
from .models import HelperProfile
from .quotas import quota_for

MAX_REASON = 200


def current_pairings_q(on: datetime.date, *, prefix: str = "") -> Q:
    """Pairings running on a day (the same rule as `access.scoping` for a helper's scope)."""
    return Q(**{f"{prefix}start_date__lte": on}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": on})
    )


def helper_label(user: Any) -> str:
    return f"{user.display_name or user.username}（{user.username}）"


def pairable(household: Household) -> bool:
    """Registered households (建档立卡户, not cleared or closed) and monitored ones are paired."""
    if household.poverty_status in c.CLOSED_STATUSES:
        return False
    return household.poverty_status in c.REGISTERED_STATUSES or bool(household.monitoring_category)


# --- helper profiles -------------------------------------------------------------------------


def _helper_account(helper_id: int, *, lock: bool = False) -> User:
    qs = User.objects.select_for_update() if lock else User.objects
    helper = qs.filter(pk=helper_id).first()
    if helper is None or helper.role != "helper":
        raise DomainError(
            "未找到该帮扶责任人账号（账号不存在或角色不是帮扶责任人）。", field="helper"
        )
    if not helper.is_active:
        raise DomainError(
            f"帮扶责任人 {helper_label(helper)} 的账号已停用，不能结对。", field="helper"
        )
    return helper


@action
@transaction.atomic
def do_save_helper_profile(
    user_id: int,
    unit: str,
    kind: str,
    title: str = "",
    *,
    expected_version: int | None = None,
    actor: Any,
) -> HelperProfile:
    """Record a helper's unit, rank category (the quota rule's key) and title.

    `expected_version` is the profile's version the form was shown with (None: a new profile);
    a profile saved by someone else in between is refused with StaleVersion."""
    check_can_write(actor)
    helper = User.objects.select_for_update().filter(pk=user_id).first()
    if helper is None or helper.role != "helper":
        raise DomainError("只能为角色为“帮扶责任人”的账号登记单位和职级。", field="user")
    unit, title = (unit or "").strip(), (title or "").strip()
    if not unit:
        raise DomainError("工作单位不能为空。", field="unit")
    if len(unit) > 100:
        raise DomainError("工作单位不能超过 100 个字。", field="unit")
    if len(title) > 50:
        raise DomainError("职务不能超过 50 个字。", field="title")
    if kind not in HELPER_KINDS:
        raise DomainError(
            f"职级类别“{kind}”无效，应为：{'、'.join(HELPER_KINDS.values())}。", field="kind"
        )
    profile = HelperProfile.objects.filter(user=helper).first()
    after = {"unit": unit, "kind": kind, "title": title}
    if profile is None:
        if expected_version not in (None, 0):
            raise StaleVersion("该帮扶责任人的登记信息已被他人修改，请刷新后重新填写。")
        profile = HelperProfile.objects.create(user=helper, **after)
        before: dict[str, Any] = {}
    else:
        if expected_version is not None and expected_version != profile.version:
            raise StaleVersion("该帮扶责任人的登记信息已被他人修改，请刷新后重新填写。")
        before = {"unit": profile.unit, "kind": profile.kind, "title": profile.title}
        updated = HelperProfile.objects.filter(pk=profile.pk, version=profile.version).update(
            **after, version=F("version") + 1, updated_at=timezone.now()
        )
        if updated != 1:
            raise StaleVersion("该帮扶责任人的登记信息已被他人修改，请刷新后重新填写。")
        profile.refresh_from_db()
    record(
        "assistance.helper.save",
        actor=actor,
        object_type="user",
        object_id=helper.pk,
        diff={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v},
    )
    return profile


# --- pairing ---------------------------------------------------------------------------------


def helper_load(helper: User, on: datetime.date, *, excluding: Iterable[int] = ()) -> int:
    """Households the helper is paired with on and after `on` (pairings not ended before it;
    a pairing handed over on `on` no longer counts)."""
    return (
        HelperPairing.objects.filter(helper=helper)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=on))
        .exclude(pk__in=list(excluding))
        .values("household")
        .distinct()
        .count()
    )


def check_quota(helper: User, household: Household, on: datetime.date, *, adding: int = 1) -> None:
    """Refuse when `adding` more households would take the helper over the quota of their kind
    in the household's county (a county without a quota row is not limited)."""
    profile = HelperProfile.objects.filter(user=helper).first()
    if profile is None:
        raise DomainError(
            f"帮扶责任人 {helper_label(helper)} 尚未登记工作单位和职级类别，"
            "请先在“帮扶责任人”页面登记（结对上限按职级类别确定）。",
            field="helper",
        )
    quota = quota_for(household.county_code, profile.kind, on)
    if quota is None:
        return
    load = helper_load(helper, on)
    if load + adding > quota.limit:
        raise DomainError(
            f"帮扶责任人 {helper_label(helper)}（{profile.kind_label}）已结对 {load} 户，"
            f"再结对 {adding} 户将超过上限 {quota.limit} 户。规则：{quota.rule}。",
            field="helper",
        )


def _check_start(start_date: datetime.date, household: Household) -> None:
    if start_date > timezone.localdate():
        raise DomainError("结对开始日期不能晚于今天。", field="start_date")


def pair_locked(
    household: Household, helper: User, start_date: datetime.date, *, actor: Any, via: str = ""
) -> HelperPairing:
    """Create one pairing; the caller holds the household's and the helper's row locks and has
    checked the quota."""
    if not pairable(household):
        raise DomainError(
            f"户 {household.household_code} 的脱贫状态为“{household.get_poverty_status_display()}”，"
            "且不是监测对象，不在结对帮扶范围内。",
            field="household",
        )
    _check_start(start_date, household)
    if HelperPairing.objects.filter(
        helper=helper, household=household, end_date__isnull=True
    ).exists():
        raise DomainError(
            f"帮扶责任人 {helper_label(helper)} 已与户 {household.household_code} 结对，不能重复结对。",
            field="helper",
        )
    pairing = HelperPairing.objects.create(
        helper=helper, household=household, start_date=start_date
    )
    diff: dict[str, Any] = {
        "helper": [None, helper.username],
        "household": [None, household.household_code],
        "start_date": [None, start_date.isoformat()],
    }
    if via:
        diff["via"] = [None, via]
    record(
        "assistance.pairing.create",
        actor=actor,
        object_type="pairing",
        object_id=pairing.pk,
        diff=diff,
    )
    return pairing


def _locked_household(household_id: int, actor: Any) -> Household:
    household = Household.objects.select_for_update().filter(pk=household_id).first()
    if household is None:
        raise OutOfScope("未找到该户，或您无权访问。")
    if actor is not None:
        check_household_in_scope(actor, household)
    return household


@action
@transaction.atomic
def do_pair_helper(
    household_id: int, helper_id: int, start_date: datetime.date, *, actor: Any
) -> HelperPairing:
    """Pair a helper with a household of the actor's scope, within the helper's quota."""
    check_can_write(actor)
    household = _locked_household(household_id, actor)
    helper = _helper_account(helper_id, lock=True)
    check_quota(helper, household, start_date)
    return pair_locked(household, helper, start_date, actor=actor)


@dataclass
class Ended:
    pairing: HelperPairing
    successor_pairing: HelperPairing | None = None


def _locked_pairing(pairing_id: int, actor: Any) -> HelperPairing:
    pairing = (
        HelperPairing.objects.select_for_update()
        .select_related("helper")
        .filter(pk=pairing_id)
        .first()
    )
    if pairing is None:
        raise OutOfScope("未找到该结对记录，或您无权访问。")
    household = _locked_household(pairing.household_id, actor)
    pairing.household = household
    return pairing


def _end(
    pairing: HelperPairing,
    expected_version: int,
    end_date: datetime.date,
    reason: str,
    successor: User | None,
    *,
    actor: Any,
) -> HelperPairing:
    reason = (reason or "").strip()
    if pairing.version != expected_version:
        raise StaleVersion("该结对记录已被他人修改，请刷新后重试。")
    if pairing.end_date is not None:
        raise DomainError(
            f"该结对已于 {pairing.end_date.isoformat()} 结束，不能再次结束。", field="end_date"
        )
    if not reason and successor is None:
        raise DomainError("结束结对须指定接续的帮扶责任人，或填写结束原因。", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"结束原因不能超过 {MAX_REASON} 个字。", field="reason")
    if end_date < pairing.start_date:
        raise DomainError(
            f"结束日期不能早于结对开始日期 {pairing.start_date.isoformat()}。", field="end_date"
        )
    if end_date > timezone.localdate():
        raise DomainError("结束日期不能晚于今天。", field="end_date")
    if successor is not None and successor.pk == pairing.helper_id:
        raise DomainError("接续的帮扶责任人不能是原帮扶责任人本人。", field="successor")
    updated = HelperPairing.objects.filter(pk=pairing.pk, version=expected_version).update(
        end_date=end_date,
        end_reason=reason,
        successor=successor,
        version=F("version") + 1,
    )
    if updated != 1:
        raise StaleVersion("该结对记录已被他人修改，请刷新后重试。")
    pairing.refresh_from_db()
    diff: dict[str, Any] = {"end_date": [None, end_date.isoformat()]}
    if reason:
        diff["end_reason"] = ["", reason]
    if successor is not None:
        diff["successor"] = [None, successor.username]
    record(
        "assistance.pairing.end",
        actor=actor,
        object_type="pairing",
        object_id=pairing.pk,
        diff=diff,
    )
    return pairing


@action
@transaction.atomic
def do_end_pairing(
    pairing_id: int,
    expected_version: int,
    end_date: datetime.date,
    *,
    reason: str = "",
    successor_id: int | None = None,
    actor: Any,
) -> Ended:
    """End a pairing on `end_date`, naming a successor helper (who is paired with the household
    from that day, within their quota: a transfer) or a reason; never neither."""
    check_can_write(actor)
    pairing = _locked_pairing(pairing_id, actor)
    successor = _helper_account(successor_id, lock=True) if successor_id else None
    if successor is not None:
        check_quota(successor, pairing.household, end_date)
    ended = _end(pairing, expected_version, end_date, reason, successor, actor=actor)
    follow = None
    if successor is not None:
        follow = pair_locked(
            pairing.household, successor, end_date, actor=actor, via=f"transfer:{pairing.pk}"
        )
    return Ended(ended, follow)


@dataclass
class Transferred:
    ended: list[HelperPairing] = field(default_factory=list)
    created: list[HelperPairing] = field(default_factory=list)


@action
@transaction.atomic
def do_transfer_helper(
    from_helper_id: int, to_helper_id: int, on: datetime.date, reason: str, *, actor: Any
) -> Transferred:
    """Hand every current pairing of one helper within the actor's scope over to another (a
    helper leaving the post): all of them within the successor's quota, or none."""
    check_can_write(actor)
    if from_helper_id == to_helper_id:
        raise DomainError("接续的帮扶责任人不能是原帮扶责任人本人。", field="successor")
    leaving = User.objects.filter(pk=from_helper_id, role="helper").first()
    if leaving is None:
        raise DomainError("未找到原帮扶责任人账号。", field="helper")
    ids = list(
        HelperPairing.objects.filter(helper=leaving, end_date__isnull=True)
        .filter(household_filter(actor, prefix="household__") if actor is not None else Q())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        raise DomainError(
            f"帮扶责任人 {helper_label(leaving)} 在您的范围内没有正在进行的结对。", field="helper"
        )
    # households before the helper's account, as do_pair_helper locks them
    pairings = [_locked_pairing(pk, actor) for pk in ids]
    successor = _helper_account(to_helper_id, lock=True)
    check_quota(successor, pairings[0].household, on, adding=len(pairings))
    result = Transferred()
    for pairing in pairings:
        result.ended.append(_end(pairing, pairing.version, on, reason, successor, actor=actor))
        result.created.append(
            pair_locked(pairing.household, successor, on, actor=actor, via=f"transfer:{pairing.pk}")
        )
    return result
