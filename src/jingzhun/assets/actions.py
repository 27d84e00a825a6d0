"""Writes of the asset register (issue 23 item 4): assets, ownership confirmation (确权), state,
income received, distribution plans (draft → approved → posted → paid) and their payments.

Every function is an action (AGENTS.md rule 1): one transaction, role and scope checked (rows
re-read under their row lock), the write, then an audit event in the same transaction. A refusal
is a `DomainError` in Chinese naming the field; nothing is written then. Paying a plan credits
each household payment to the household's income of the payment year through
`registry.actions.do_record_income` (its audit names the payment as `source`), once: the payment
row keeps `credited_at` and a paid plan is never paid again.
"""

from __future__ import annotations

import datetime
import hashlib
import io
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.audit.actions import record
from jingzhun.core.checks import clean_key, require_role
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.projects.actions import clean
from jingzhun.projects.ledger import KeyConflict
from jingzhun.projects.models import Project
from jingzhun.projects.scope import check_project, place_in_scope
from jingzhun.regions import codes
from jingzhun.regions.models import Region
from jingzhun.registry.actions import do_record_income
from jingzhun.registry.models import Household, IncomeRecord

from .choices import (
    APPROVERS,
    ASSET_CATEGORIES,
    ASSET_KINDS,
    ASSET_STATES,
    ASSET_WRITERS,
    CONFIRMERS,
    HOUSEHOLD_USES,
    OWNER_KINDS,
    USES,
)
from .models import Asset, AssetIncome, DistributionPlan, PlanPayment
from .money import check_fen, yuan
from .rules import check_plan, rules_on
from .selectors import (
    NOT_FOUND,
    PLAN_NOT_FOUND,
    asset_filter,
    paid_by_use,
    planned_fen,
    received_fen,
)

STALE = "该记录已被他人修改，请刷新后重试。"


def _who(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2014 <= year <= 2100:
        raise DomainError("年度应为 2014 至 2100 之间的整数。", field="year")
    return year


def _not_future(on: datetime.date, label: str, field: str) -> None:
    if on > timezone.localdate():
        raise DomainError(f"{label}（{on.isoformat()}）不能晚于今天。", field=field)


def asset_locked(asset_id: int, actor: Any, expected_version: int | None = None) -> Asset:
    qs = Asset.objects.select_for_update().filter(pk=asset_id)
    if actor is not None:
        qs = qs.filter(asset_filter(actor))
    asset = qs.first()
    if asset is None:
        raise OutOfScope(NOT_FOUND)
    if expected_version is not None and expected_version != asset.version:
        raise StaleVersion(STALE)
    return asset


def plan_locked(plan_id: int, actor: Any, expected_version: int | None = None) -> DistributionPlan:
    qs = DistributionPlan.objects.select_for_update().filter(pk=plan_id)
    if actor is not None:
        qs = qs.filter(asset_filter(actor))
    plan = qs.first()
    if plan is None:
        raise OutOfScope(PLAN_NOT_FOUND)
    if expected_version is not None and expected_version != plan.version:
        raise StaleVersion(STALE)
    return plan


def _bump(model: Any, obj: Any, **changes: Any) -> None:
    updated = model.objects.filter(pk=obj.pk, version=obj.version).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise StaleVersion(STALE)
    obj.refresh_from_db()


# ---------------------------------------------------------------------------------- register


@action
@transaction.atomic
def do_register_asset(
    region_code: str,
    name: str,
    kind: str,
    category: str,
    value_fen: int,
    *,
    owner_kind: str = "collective",
    owner_household_id: int | None = None,
    project_id: int | None = None,
    custodian: str = "",
    capacity_kw: int | None = None,
    built_on: datetime.date | None = None,
    actor: Any,
) -> Asset:
    """Enter an asset into the register (资产台账): a village's, owned by its collective or one
    of its households; with its source project when that project's assets were handed over."""
    require_role(actor, ASSET_WRITERS, "登记项目资产")
    region = Region.objects.filter(pk=str(region_code or "")).first()
    if region is None or region.level != "village":
        raise DomainError(f"所在村“{region_code}”不是本系统中的村。", field="region")
    if actor is not None and not place_in_scope(actor, region.code):
        raise OutOfScope("未找到该区划，或您无权访问。")
    name = clean(name, "name", "资产名称", 100, required=True)
    if kind not in ASSET_KINDS:
        raise DomainError(
            f"资产类型“{kind}”不在目录中，应为：{'、'.join(ASSET_KINDS.values())}。", field="kind"
        )
    if category not in ASSET_CATEGORIES:
        raise DomainError(
            f"资产类别“{category}”应为：{'、'.join(ASSET_CATEGORIES.values())}。", field="category"
        )
    if owner_kind not in OWNER_KINDS:
        raise DomainError("所有权人应为村集体或农户。", field="owner_kind")
    household = None
    if owner_kind == "household":
        household = Household.objects.filter(pk=owner_household_id or 0).first()
        if household is None or household.village_id != region.code:
            raise DomainError(
                f"所有权农户（#{owner_household_id}）不是{region.name}的农户。",
                field="owner_household",
            )
    elif owner_household_id:
        raise DomainError("村集体所有的资产不填所有权农户。", field="owner_household")
    project = None
    if project_id:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise OutOfScope("未找到该项目，或您无权访问。")
        if actor is not None:
            check_project(actor, project)
        if project.state != "handed_over":
            raise DomainError(
                f"来源项目“{project.name}”当前为“{project.state_label}”，资产移交后才能登记为其资产。",
                field="project",
            )
        if project.county_code != codes.county_of(region.code):
            raise DomainError(f"来源项目“{project.name}”不在本县。", field="project")
    if capacity_kw is not None and (
        isinstance(capacity_kw, bool)
        or not isinstance(capacity_kw, int)
        or not 0 < capacity_kw <= 100_000
    ):
        raise DomainError("装机容量应为 1 至 100000 千瓦的整数。", field="capacity_kw")
    if built_on:
        _not_future(built_on, "建成日期", "built_on")
    asset = Asset.objects.create(
        name=name,
        kind=kind,
        category=category,
        region=region,
        county_code=codes.county_of(region.code),
        township_code=codes.township_of(region.code),
        village_code=region.code,
        owner_kind=owner_kind,
        owner_household=household,
        project=project,
        value_fen=check_fen(value_fen, field="value", allow_zero=True),
        custodian=clean(custodian, "custodian", "管护责任人", 50),
        capacity_kw=capacity_kw,
        built_on=built_on,
    )
    record(
        "assets.asset.register",
        actor=actor,
        object_type="asset",
        object_id=asset.pk,
        diff={
            "name": name,
            "kind": kind,
            "region": region.code,
            "owner": owner_kind,
            "project": project.pk if project else None,
            "value_fen": asset.value_fen,
        },
    )
    return asset


@action
@transaction.atomic
def do_change_asset_state(
    asset_id: int,
    state: str,
    *,
    custodian: str | None = None,
    reason: str = "",
    expected_version: int | None = None,
    actor: Any,
) -> Asset:
    """An asset falls idle, is damaged, back in use or disposed of (disposal is final and needs
    a reason: the village assembly's and the county's sign-off, 国办函〔2021〕51号)."""
    require_role(actor, ASSET_WRITERS, "变更资产状态")
    asset = asset_locked(asset_id, actor, expected_version)
    if state not in ASSET_STATES:
        raise DomainError(f"资产状态应为：{'、'.join(ASSET_STATES.values())}。", field="state")
    if asset.state == "disposed":
        raise DomainError(f"资产“{asset.name}”已处置，不能再变更。", field="state")
    reason = clean(reason, "reason", "理由", 200, required=state == "disposed")
    if state == "disposed" and getattr(actor, "role", "county") != "county":
        raise Forbidden("资产处置须经县级审核，您的角色无权处置资产。")
    changes: dict[str, Any] = {"state": state}
    if custodian is not None:
        changes["custodian"] = clean(custodian, "custodian", "管护责任人", 50)
    before = {k: getattr(asset, k) for k in changes}
    _bump(Asset, asset, **changes)
    record(
        "assets.asset.state",
        actor=actor,
        object_type="asset",
        object_id=asset.pk,
        diff={**{k: [before[k], getattr(asset, k)] for k in changes}, "reason": reason},
    )
    return asset


@action
@transaction.atomic
def do_confirm_asset(
    asset_id: int,
    confirmed_on: datetime.date,
    document: str,
    *,
    expected_version: int | None = None,
    actor: Any,
) -> Asset:
    """确权: the county confirms who owns the asset (a document number, a date); once."""
    require_role(actor, CONFIRMERS, "办理资产确权")
    asset = asset_locked(asset_id, actor, expected_version)
    if asset.confirmed_on is not None:
        raise DomainError(
            f"资产“{asset.name}”已于 {asset.confirmed_on.isoformat()} 确权，不能重复确权。",
            field="confirmed_on",
        )
    if asset.state == "disposed":
        raise DomainError(f"资产“{asset.name}”已处置，不能确权。", field="confirmed_on")
    _not_future(confirmed_on, "确权日期", "confirmed_on")
    document = clean(document, "document", "确权文书", 100, required=True)
    _bump(
        Asset,
        asset,
        confirmed_on=confirmed_on,
        confirmation_document=document,
        confirmed_by=_who(actor),
    )
    record(
        "assets.asset.confirm",
        actor=actor,
        object_type="asset",
        object_id=asset.pk,
        diff={
            "owner": asset.owner_label,
            "confirmed_on": confirmed_on.isoformat(),
            "document": document,
        },
    )
    return asset


# ------------------------------------------------------------------------------------ income


@action
@transaction.atomic
def do_record_asset_income(
    asset_id: int,
    received_on: datetime.date,
    amount_fen: int,
    voucher: str,
    key: str,
    *,
    note: str = "",
    actor: Any,
) -> AssetIncome:
    """Income received by an asset (电费结算、分红到账): once per idempotency key (the same key
    with the same content returns the first row; with other content it is refused) and once per
    voucher of the asset."""
    require_role(actor, ASSET_WRITERS, "登记资产收益")
    key = clean_key(key)
    asset = asset_locked(asset_id, actor)
    amount_fen = check_fen(amount_fen, field="amount")
    voucher = clean(voucher, "voucher", "凭证号", 50, required=True)
    note = clean(note, "note", "摘要", 200)
    existing = AssetIncome.objects.filter(key=key).first()
    if existing is not None:
        same = (existing.asset_id, existing.received_on, existing.amount_fen, existing.voucher) == (
            asset.pk,
            received_on,
            amount_fen,
            voucher,
        )
        if same:
            return existing
        raise KeyConflict(
            f"幂等键“{key}”已用于另一笔收益（#{existing.pk}），请换一个键。", field="key"
        )
    if asset.state == "disposed":
        raise DomainError(f"资产“{asset.name}”已处置，收益归村集体另行登记。", field="asset")
    _not_future(received_on, "到账日期", "received_on")
    if AssetIncome.objects.filter(asset=asset, voucher=voucher).exists():
        raise DomainError(
            f"凭证号“{voucher}”已登记过资产“{asset.name}”的一笔收益，不能重复登记。",
            field="voucher",
        )
    income = AssetIncome.objects.create(
        asset=asset,
        received_on=received_on,
        amount_fen=amount_fen,
        voucher=voucher,
        note=note,
        key=key,
        recorded_by=_who(actor),
    )
    record(
        "assets.income.record",
        actor=actor,
        object_type="asset",
        object_id=asset.pk,
        diff={
            "income": income.pk,
            "received_on": received_on.isoformat(),
            "amount_fen": amount_fen,
            "voucher": voucher,
        },
    )
    return income


# ------------------------------------------------------------------------------------- plans


def _amounts(amounts: Mapping[str, Any]) -> dict[str, int]:
    unknown = sorted(set(amounts) - set(USES))
    if unknown:
        raise DomainError(
            f"分配用途“{unknown[0]}”不在目录中（{'、'.join(USES.values())}）。", field="use"
        )
    return {use: check_fen(amounts.get(use, 0) or 0, field=use, allow_zero=True) for use in USES}


def _available(asset: Asset, year: int, plan_id: int | None = None) -> int:
    return received_fen(asset, year) - planned_fen(asset, year, excluding=plan_id)


@action
@transaction.atomic
def do_create_plan(
    asset_id: int,
    year: int,
    title: str,
    amounts: Mapping[str, Any],
    *,
    actor: Any,
) -> DistributionPlan:
    """Draft a distribution plan of an asset's income of a year: amounts per use (public-welfare
    job wages, rewards, small works, collective retention), at most the income not yet planned."""
    require_role(actor, ASSET_WRITERS, "编制收益分配方案")
    asset = asset_locked(asset_id, actor)  # the asset's lock serialises its plans
    year = _year(year)
    title = clean(title, "title", "方案名称", 100, required=True)
    values = _amounts(amounts)
    available = _available(asset, year)
    total = sum(values.values())
    if total > available:
        raise DomainError(
            f"分配合计 {yuan(total)} 元超过了资产“{asset.name}”{year} 年已到账且未分配的收益 "
            f"{yuan(available)} 元。",
            field="public_job",
        )
    plan = DistributionPlan.objects.create(
        asset=asset,
        county_code=asset.county_code,
        township_code=asset.township_code,
        village_code=asset.village_code,
        year=year,
        title=title,
        created_by=_who(actor),
        **{f"{use}_fen": fen for use, fen in values.items()},
    )
    record(
        "assets.plan.create",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={"asset": asset.pk, "year": year, "title": title, **values},
    )
    return plan


def _draft(plan: DistributionPlan, what: str) -> None:
    if plan.state != "draft":
        raise DomainError(
            f"分配方案“{plan.title}”当前为“{plan.state_label}”，只有草拟中的方案才能{what}。",
            field="state",
        )


@action
@transaction.atomic
def do_update_plan(
    plan_id: int,
    amounts: Mapping[str, Any],
    *,
    title: str | None = None,
    expected_version: int | None = None,
    actor: Any,
) -> DistributionPlan:
    """Change a draft plan's amounts (and title)."""
    require_role(actor, ASSET_WRITERS, "修改收益分配方案")
    plan = plan_locked(plan_id, actor, expected_version)
    _draft(plan, "修改")
    asset = asset_locked(plan.asset_id, None)
    values = _amounts(amounts)
    available = _available(asset, plan.year, plan.pk)
    total = sum(values.values())
    if total > available:
        raise DomainError(
            f"分配合计 {yuan(total)} 元超过了资产“{asset.name}”{plan.year} 年已到账且未分配的收益 "
            f"{yuan(available)} 元。",
            field="public_job",
        )
    changes: dict[str, Any] = {f"{use}_fen": fen for use, fen in values.items()}
    if title is not None:
        changes["title"] = clean(title, "title", "方案名称", 100, required=True)
    before = {k: getattr(plan, k) for k in changes}
    _bump(DistributionPlan, plan, **changes)
    record(
        "assets.plan.update",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={k: [before[k], getattr(plan, k)] for k in changes if before[k] != getattr(plan, k)},
    )
    return plan


@action
@transaction.atomic
def do_set_plan_payment(
    plan_id: int,
    household_id: int,
    use: str,
    amount_fen: int,
    basis: str,
    *,
    actor: Any,
) -> PlanPayment:
    """Put a household payment on a draft plan (or change its amount and basis): a household of
    the asset's village, under a public-welfare job, labour on small works or a reward, with its
    basis written down. No plain hand-outs (国开办发〔2017〕61号)."""
    require_role(actor, ASSET_WRITERS, "编制收益分配方案")
    plan = plan_locked(plan_id, actor)
    _draft(plan, "修改到户名单")
    if use not in HOUSEHOLD_USES:
        raise DomainError(
            f"到户支付的用途“{USES.get(use, use)}”不是公益岗位工资、小型公益事业劳务或奖励补助："
            "资产收益不得简单发钱、一发了之。",
            field="use",
        )
    basis = clean(basis, "basis", "依据", 200)
    if not basis:
        raise DomainError(
            "到户支付须写明依据（公益岗位名称及在岗时间、劳务内容或奖补事由）："
            "资产收益不得简单发钱、一发了之。",
            field="basis",
        )
    amount_fen = check_fen(amount_fen, field="amount")
    household = Household.objects.filter(pk=household_id).first()
    if household is None or (
        actor is not None
        and not Household.objects.filter(pk=household.pk).filter(_household_scope(actor)).exists()
    ):
        raise OutOfScope("未找到该户，或您无权访问。")
    if household.village_id != plan.village_code:
        village = Region.objects.filter(pk=plan.village_code).first()
        raise DomainError(
            f"农户 {household.household_code} {household.head_name} 不是资产所在村"
            f"（{village.name if village else plan.village_code}）的农户，不能从该资产收益中分配。",
            field="household",
        )
    payment = PlanPayment.objects.filter(plan=plan, household=household, use=use).first()
    before = {"amount_fen": payment.amount_fen, "basis": payment.basis} if payment else {}
    if payment is None:
        payment = PlanPayment.objects.create(
            plan=plan, household=household, use=use, basis=basis, amount_fen=amount_fen
        )
    else:
        PlanPayment.objects.filter(pk=payment.pk).update(basis=basis, amount_fen=amount_fen)
        payment.refresh_from_db()
    paid = paid_by_use(plan).get(use, 0)
    if paid > plan.use_fen(use):
        raise DomainError(
            f"到户的{USES[use]}合计 {yuan(paid)} 元超过了方案中该用途的金额 "
            f"{yuan(plan.use_fen(use))} 元。",
            field="amount",
        )  # the transaction rolls the row back
    _bump(DistributionPlan, plan)
    record(
        "assets.plan.payment",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={
            "household": household.pk,
            "use": use,
            "before": before,
            "amount_fen": amount_fen,
            "basis": basis,
        },
    )
    return payment


def _household_scope(actor: Any) -> Any:
    from jingzhun.access.scoping import household_filter

    return household_filter(actor)


@action
@transaction.atomic
def do_remove_plan_payment(payment_id: int, *, actor: Any) -> None:
    """Take a household payment off a draft plan."""
    require_role(actor, ASSET_WRITERS, "编制收益分配方案")
    payment = PlanPayment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise OutOfScope("未找到该到户记录，或您无权访问。")
    plan = plan_locked(payment.plan_id, actor)
    _draft(plan, "修改到户名单")
    PlanPayment.objects.filter(pk=payment.pk).delete()
    _bump(DistributionPlan, plan)
    record(
        "assets.plan.payment_remove",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={
            "household": payment.household_id,
            "use": payment.use,
            "amount_fen": payment.amount_fen,
        },
    )


@action
@transaction.atomic
def do_approve_plan(
    plan_id: int, *, expected_version: int | None = None, actor: Any
) -> DistributionPlan:
    """Approve a draft plan (township or county) after checking the differentiated rules of the
    policy table in effect today: the trace and the table's version are kept on the plan."""
    require_role(actor, APPROVERS, "审批收益分配方案")
    plan = plan_locked(plan_id, actor, expected_version)
    _draft(plan, "审批")
    asset = asset_locked(plan.asset_id, None)
    rules = rules_on(timezone.localdate(), plan.county_code)
    amounts = {use: plan.use_fen(use) for use in USES}
    trace = check_plan(rules, amounts, _available(asset, plan.year, plan.pk), paid_by_use(plan))
    if (amounts["public_job"] or amounts["reward"]) and not plan.payments.exists():
        raise DomainError(
            "方案列有公益岗位工资或奖励补助，但没有到户名单：请先列出每户的金额和依据。",
            field="payments",
        )
    _bump(
        DistributionPlan,
        plan,
        state="approved",
        approved_by=_who(actor),
        approved_at=timezone.now(),
        policy_version=rules.version[:64],
        trace=trace,
    )
    record(
        "assets.plan.approve",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={"state": ["draft", "approved"], "policy": rules.version, "total_fen": plan.total_fen},
    )
    return plan


@action
@transaction.atomic
def do_post_plan(
    plan_id: int,
    start: datetime.date,
    *,
    days: int | None = None,
    issuer: str = "",
    actor: Any,
) -> DistributionPlan:
    """Post an approved plan (公示): the PDF is written now and kept with its SHA-256; at least
    the rules' posting days."""
    require_role(actor, APPROVERS, "公示收益分配方案")
    plan = plan_locked(plan_id, actor)
    if plan.state != "approved":
        raise DomainError(
            f"分配方案“{plan.title}”当前为“{plan.state_label}”，审批后才能公示。", field="state"
        )
    rules = rules_on(start, plan.county_code)
    days = rules.posting_days if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not rules.posting_days <= days <= 90:
        raise DomainError(
            f"公示天数应为 {rules.posting_days} 至 90 天（{rules.cite('posting_days')}）。",
            field="days",
        )
    today = timezone.localdate()
    if not today - datetime.timedelta(days=366) <= start <= today + datetime.timedelta(days=60):
        raise DomainError("公示开始日期应在一年之内，且不晚于 60 天后。", field="start")
    issuer = clean(issuer, "issuer", "发布单位", 100)
    if not issuer:
        village = Region.objects.filter(pk=plan.village_code).first()
        issuer = f"{village.name if village else plan.village_code}村民委员会"
    from .documents import write_plan_posting

    out = io.BytesIO()
    write_plan_posting(plan, start, days, issuer, out)
    data = out.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    _bump(
        DistributionPlan,
        plan,
        state="posted",
        posted_on=start,
        posting_days=days,
        posting_pdf=data,
        posting_sha256=sha,
    )
    record(
        "assets.plan.post",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={
            "state": ["approved", "posted"],
            "start": start.isoformat(),
            "days": days,
            "sha256": sha,
        },
    )
    return plan


@action
@transaction.atomic
def do_pay_plan(plan_id: int, paid_on: datetime.date, key: str, *, actor: Any) -> DistributionPlan:
    """Pay a posted plan once its posting has ended: every household payment is credited to
    the household's income of the payment's year (job wages and labour to wage income, rewards
    to transfer income, item other_transfer) through `do_record_income`, whose audit names the
    payment. The plan's row lock makes a second payment wait and then refuse; the same key
    returns the paid plan (a retry)."""
    require_role(actor, APPROVERS, "支付收益分配方案")
    key = clean_key(key)
    plan = plan_locked(plan_id, actor)
    if plan.state == "paid":
        if plan.pay_key == key:
            return plan
        raise DomainError(
            f"分配方案“{plan.title}”已于 {plan.paid_on.isoformat() if plan.paid_on else ''} 支付，"
            "不能重复支付。",
            field="state",
        )
    if DistributionPlan.objects.filter(pay_key=key).exists():
        raise KeyConflict(f"幂等键“{key}”已用于另一次支付，请换一个键。", field="key")
    if plan.state == "draft":
        raise DomainError(f"分配方案“{plan.title}”尚未审批，不能支付。", field="state")
    if plan.state != "posted" or plan.posted_on is None or plan.posting_days is None:
        raise DomainError(f"分配方案“{plan.title}”尚未公示，公示期满后才能支付。", field="state")
    ends = plan.posted_on + datetime.timedelta(days=plan.posting_days - 1)
    if paid_on <= ends:
        raise DomainError(
            f"分配方案“{plan.title}”公示期至 {ends.isoformat()} 止，公示期满后才能支付。",
            field="paid_on",
        )
    _not_future(paid_on, "支付日期", "paid_on")
    asset = plan.asset
    payments = list(plan.payments.select_related("household").order_by("household_id", "pk"))
    credited = 0
    for payment in payments:
        _credit(payment, asset, plan, paid_on, actor)
        credited += payment.amount_fen
    _bump(DistributionPlan, plan, state="paid", paid_on=paid_on, paid_by=_who(actor), pay_key=key)
    record(
        "assets.plan.pay",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={
            "state": ["posted", "paid"],
            "paid_on": paid_on.isoformat(),
            "households": len({p.household_id for p in payments}),
            "credited_fen": credited,
        },
    )
    return plan


def _credit(
    payment: PlanPayment, asset: Asset, plan: DistributionPlan, paid_on: datetime.date, actor: Any
) -> None:
    """One payment into the household's income of `paid_on`'s year, once."""
    if payment.credited_at is not None:
        return
    field = HOUSEHOLD_USES[payment.use]
    year = paid_on.year
    # The household's lock first (do_record_income takes it too): the read and the write of
    # its income below are one step, no typed edit in between.
    Household.objects.select_for_update().filter(pk=payment.household_id).first()
    income = IncomeRecord.objects.filter(household_id=payment.household_id, year=year).first()
    amount = payment.amount_fen
    from decimal import Decimal

    add = Decimal(amount) / 100

    def current(name: str) -> Decimal:
        return (getattr(income, name) or Decimal(0)) if income is not None else Decimal(0)

    if field == "wage_income":
        values = {"wage_income": current("wage_income") + add}
    else:
        values = {
            "transfer_income": current("transfer_income") + add,
            "other_transfer": current("other_transfer") + add,
        }
    source = (
        f"资产收益分配 方案#{plan.pk}《{plan.title}》 资产#{asset.pk} {asset.name} "
        f"到户#{payment.pk} {USES[payment.use]} {yuan(amount)} 元"
    )
    do_record_income(payment.household_id, year, values, actor=actor, source=source)
    PlanPayment.objects.filter(pk=payment.pk, credited_at__isnull=True).update(
        income_year=year, income_field=field, credited_at=timezone.now()
    )


@action
@transaction.atomic
def do_download_plan_posting(plan_id: int, *, actor: Any) -> DistributionPlan:
    """The stored posting PDF of a plan, to someone who sees it (the download is audited)."""
    from .selectors import plan_for

    plan = plan_for(actor, plan_id)
    if not plan.posting_pdf:
        raise OutOfScope("该分配方案尚未公示。")
    record(
        "assets.export.posting",
        actor=actor,
        object_type="distribution_plan",
        object_id=plan.pk,
        diff={"sha256": plan.posting_sha256},
    )
    return plan
