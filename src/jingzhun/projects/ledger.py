"""The fund ledger (issue 23 item 2; ADR 0074): double entry in integer fen.

Every posting moves `amount_fen` from one account (credit) to another (debit) of the same county:
- receipt (资金到账): the county's `receipts` account → a fund source's account;
- allocation (资金下达): a source's account → the project's account for that source, never above
  the project's funding plan for the source, only to a project in the annual plan or later;
- disbursement (资金支付): a project's account → the county's `spent` account, with a voucher
  (unique in the county) and a payee, only from an approved project;
- reversal (冲正): the same amount back the other way; each posting is reversed at most once.

Each posting is an action with an idempotency key: the same key with the same content returns
the posting already made (a retried request), with other content it is refused. The accounts
touched are locked (`select_for_update`, in primary-key order; SQLite's IMMEDIATE transactions
serialise writers) before the balance is read, so two disbursements racing for the last yuan
are serialised and the second finds the money gone. A CHECK constraint keeps the balances of
every account but `receipts` at or above zero as a last line. Nothing is updated or deleted:
postings are append-only, corrections are reversals.

`do_import_postings` posts a whole file (a year of a county's disbursements) in one action: the
rows are checked set-wise and in order against the locked balances, then written with
`core.bulk.BulkWriter` (COPY on PostgreSQL); one audit event names the batch and its SHA-256,
every posting points at its batch. A rerun of the same file writes nothing.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from jingzhun.audit.actions import record
from jingzhun.core.bulk import BulkWriter, reserve_ids
from jingzhun.core.checks import MAX_KEY, business_date, clean_key, require_role
from jingzhun.core.errors import DomainError, OutOfScope
from jingzhun.core.models import action
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household

from . import lifecycle
from .actions import clean, project_locked
from .choices import DISBURSERS, FUND_WRITERS, POSTING_KINDS, POSTING_SIDES, SOURCE_KINDS
from .models import Account, FundSource, Posting, PostingBatch, Project, ProjectFunding
from .money import check_fen, yuan
from .scope import check_county

MAX_IMPORT_ROWS: Final = 2_000_000
MAX_ERRORS_SHOWN: Final = 20


class KeyConflict(DomainError):
    status = 409


def county_account(county_code: str, kind: str) -> Account:
    account, _ = Account.objects.get_or_create(county_code=county_code, kind=kind)
    return account


def source_account(source: FundSource) -> Account:
    account, _ = Account.objects.get_or_create(
        county_code=source.county_code, kind="source", source=source
    )
    return account


def project_account(project: Project, source: FundSource, *, create: bool) -> Account | None:
    account = Account.objects.filter(kind="project", project=project, source=source).first()
    if account is None and create:
        account = Account.objects.create(
            county_code=project.county_code, kind="project", project=project, source=source
        )
    return account


def net_allocated(project_id: int, source_id: int) -> int:
    """Allocations from the source to the project, less their reversals."""
    account = Account.objects.filter(kind="project", project_id=project_id, source_id=source_id)
    acc = account.first()
    if acc is None:
        return 0
    inflow = Posting.objects.filter(debit=acc, kind="allocation").aggregate(s=Sum("amount_fen"))
    back = Posting.objects.filter(credit=acc, kind="reversal", reverses__kind="allocation")
    out = back.aggregate(s=Sum("amount_fen"))
    return int(inflow["s"] or 0) - int(out["s"] or 0)


# --- fund sources ----------------------------------------------------------------------------


@action
@transaction.atomic
def do_create_fund_source(
    county_code: str, year: int, kind: str, name: str, *, document: str = "", actor: Any
) -> FundSource:
    """The county registers a fund source of a year (its ledger account is opened with it)."""
    require_role(actor, FUND_WRITERS, "登记资金来源（由县级登记）")
    county = Region.objects.filter(pk=str(county_code), level="county").first()
    if county is None:
        raise DomainError(f"“{county_code}”不是本系统中的县级区划。", field="county")
    if actor is not None:
        check_county(actor, county.code)
    if kind not in SOURCE_KINDS:
        raise DomainError(
            f"资金类别“{kind}”不在目录中，应为：{'、'.join(SOURCE_KINDS.values())}。", field="kind"
        )
    if isinstance(year, bool) or not isinstance(year, int) or not 2014 <= year <= 2100:
        raise DomainError("年度应为 2014 至 2100 之间的整数。", field="year")
    name = clean(name, "name", "资金名称", 100, required=True)
    document = clean(document, "document", "文号", 100)
    if FundSource.objects.filter(county_code=county.code, year=year, name=name).exists():
        raise DomainError(f"{year} 年已有名为“{name}”的资金来源。", field="name")
    source = FundSource.objects.create(
        county_code=county.code, year=year, kind=kind, name=name, document=document
    )
    source_account(source)
    county_account(county.code, "receipts")
    county_account(county.code, "spent")
    record(
        "funds.source.create",
        actor=actor,
        object_type="fund_source",
        object_id=source.pk,
        diff={
            "county": county.code,
            "year": year,
            "kind": kind,
            "name": name,
            "document": document,
        },
    )
    return source


# --- single postings -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What one posting says, before it is written."""

    kind: str
    credit: Account
    debit: Account
    amount_fen: int
    on_date: datetime.date
    key: str
    project: Project | None = None
    voucher: str = ""
    payee: str = ""
    memo: str = ""
    reverses: Posting | None = None


def _same(existing: Posting, e: Entry) -> bool:
    return (
        existing.kind == e.kind
        and existing.amount_fen == e.amount_fen
        and existing.credit_id == e.credit.pk
        and existing.debit_id == e.debit.pk
        and existing.voucher == e.voucher
    )


def _account_name(account: Account) -> str:
    if account.kind == "project" and account.project is not None and account.source is not None:
        return f"项目“{account.project.name}”的“{account.source.name}”资金"
    if account.kind == "source" and account.source is not None:
        return f"资金来源“{account.source.name}”的未分配资金"
    return account.kind_label


def _post(e: Entry, *, actor: Any) -> Posting:
    """Lock both accounts (primary-key order), honour the idempotency key, check the balance,
    write the posting and both balances, audit. Runs inside the caller's action."""
    locked = {
        a.pk: a
        for a in Account.objects.select_for_update()
        .filter(pk__in=[e.credit.pk, e.debit.pk])
        .order_by("pk")
    }
    existing = Posting.objects.filter(key=e.key).first()
    if existing is not None:
        if _same(existing, e):
            return existing
        raise KeyConflict(
            f"幂等键“{e.key}”已用于另一笔记账（#{existing.pk}），请换一个键。", field="key"
        )
    credit = locked[e.credit.pk]
    if credit.kind != "receipts" and credit.balance_fen < e.amount_fen:
        raise DomainError(
            f"余额不足：{_account_name(credit)}余额 {yuan(credit.balance_fen)} 元，"
            f"本次{POSTING_KINDS[e.kind]} {yuan(e.amount_fen)} 元。",
            field="amount",
        )
    try:
        with transaction.atomic():
            posting = Posting.objects.create(
                county_code=credit.county_code,
                key=e.key,
                kind=e.kind,
                amount_fen=e.amount_fen,
                debit=e.debit,
                credit=e.credit,
                project=e.project,
                on_date=e.on_date,
                voucher=e.voucher,
                payee=e.payee,
                memo=e.memo,
                reverses=e.reverses,
                posted_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        # another transaction took the voucher or the reversal between our check and insert
        if (
            e.voucher
            and Posting.objects.filter(
                county_code=credit.county_code, kind="disbursement", voucher=e.voucher
            ).exists()
        ):
            raise DomainError(
                f"凭证号“{e.voucher}”已经使用过，不能重复支付。", field="voucher"
            ) from exc
        raise DomainError(
            "该笔记账与已有记账冲突（重复冲正或重复幂等键），未写入。", field="key"
        ) from exc
    Account.objects.filter(pk=e.credit.pk).update(balance_fen=F("balance_fen") - e.amount_fen)
    Account.objects.filter(pk=e.debit.pk).update(balance_fen=F("balance_fen") + e.amount_fen)
    record(
        f"funds.posting.{e.kind}",
        actor=actor,
        object_type="posting",
        object_id=posting.pk,
        diff={
            "key": e.key,
            "amount_fen": e.amount_fen,
            "credit": e.credit.pk,
            "debit": e.debit.pk,
            "project": e.project.pk if e.project else None,
            "voucher": e.voucher,
            "payee": e.payee,
            "reverses": e.reverses.pk if e.reverses else None,
        },
    )
    return posting


def _source(source_id: int, actor: Any) -> FundSource:
    source = FundSource.objects.filter(pk=source_id).first()
    if source is None:
        raise OutOfScope("未找到该资金来源，或您无权访问。")
    if actor is not None:
        try:
            check_county(actor, source.county_code)
        except OutOfScope as exc:
            raise OutOfScope("未找到该资金来源，或您无权访问。") from exc
    return source


@action
@transaction.atomic
def do_receive_funds(
    source_id: int,
    amount_fen: int,
    on_date: datetime.date,
    *,
    key: str,
    memo: str = "",
    actor: Any,
) -> Posting:
    """Money of a fund source arrives in the county (资金到账)."""
    require_role(actor, FUND_WRITERS, "登记资金到账（由县级登记）")
    source = _source(source_id, actor)
    entry = Entry(
        "receipt",
        county_account(source.county_code, "receipts"),
        source_account(source),
        check_fen(amount_fen),
        business_date(on_date, slack_days=1),
        clean_key(key),
        memo=clean(memo, "memo", "摘要", 200),
    )
    return _post(entry, actor=actor)


def _funding_line(project: Project, source: FundSource) -> int:
    line = ProjectFunding.objects.filter(project=project, source=source).first()
    return line.planned_fen if line else 0


@action
@transaction.atomic
def do_allocate_funds(
    project_id: int,
    source_id: int,
    amount_fen: int,
    on_date: datetime.date,
    *,
    key: str,
    memo: str = "",
    actor: Any,
) -> Posting:
    """Allocate money of a source to a project of the annual plan (资金下达), within the
    project's funding plan for that source."""
    require_role(actor, FUND_WRITERS, "下达项目资金（由县级下达）")
    project = project_locked(project_id, actor)
    source = _source(source_id, actor)
    if source.county_code != project.county_code:
        raise DomainError("资金来源与项目不在同一个县。", field="source")
    if project.state not in lifecycle.ALLOCATABLE:
        raise DomainError(
            f"项目当前为“{project.state_label}”，纳入年度计划后才能下达资金。", field="project"
        )
    amount_fen = check_fen(amount_fen)
    planned = _funding_line(project, source)
    already = net_allocated(project.pk, source.pk)
    if already + amount_fen > planned:
        raise DomainError(
            f"超出资金计划：项目“{project.name}”来自“{source.name}”的计划 {yuan(planned)} 元，"
            f"已下达 {yuan(already)} 元，本次 {yuan(amount_fen)} 元。",
            field="amount",
        )
    account = project_account(project, source, create=True)
    assert account is not None
    entry = Entry(
        "allocation",
        source_account(source),
        account,
        amount_fen,
        business_date(on_date, slack_days=1),
        clean_key(key),
        project=project,
        memo=clean(memo, "memo", "摘要", 200),
    )
    return _post(entry, actor=actor)


@action
@transaction.atomic
def do_disburse_funds(
    project_id: int,
    source_id: int,
    amount_fen: int,
    on_date: datetime.date,
    *,
    key: str,
    voucher: str,
    payee: str,
    household_id: int | None = None,
    memo: str = "",
    actor: Any,
) -> Posting:
    """Pay out of an approved project's money from one source (资金支付), with a voucher number
    (never used before in the county) and the payee. County staff, or the township's staff for a
    project of their township."""
    require_role(actor, DISBURSERS, "支付项目资金")
    project = project_locked(project_id, actor)
    source = FundSource.objects.filter(pk=source_id, county_code=project.county_code).first()
    if source is None:
        raise DomainError("资金来源不存在，或不属于该项目所在县。", field="source")
    if project.state not in lifecycle.PAYABLE:
        raise DomainError(
            f"项目“{project.name}”当前为“{project.state_label}”，未经批复的项目不能支付资金。",
            field="project",
        )
    voucher = clean(voucher, "voucher", "凭证号", 50, required=True)
    payee = clean(payee, "payee", "收款人", 100, required=True)
    if household_id is not None:
        household = Household.objects.filter(pk=household_id).first()
        if household is None or household.county_code != project.county_code:
            raise DomainError("收款农户不在项目所在县。", field="household")
        payee = payee or household.head_name
    if (
        Posting.objects.filter(
            county_code=project.county_code, kind="disbursement", voucher=voucher
        ).exists()
        and not Posting.objects.filter(key=str(key).strip(), voucher=voucher).exists()
    ):
        raise DomainError(f"凭证号“{voucher}”已经使用过，不能重复支付。", field="voucher")
    account = project_account(project, source, create=False)
    if account is None:
        raise DomainError(
            f"余额不足：项目“{project.name}”没有来自“{source.name}”的已下达资金。", field="amount"
        )
    entry = Entry(
        "disbursement",
        account,
        county_account(project.county_code, "spent"),
        check_fen(amount_fen),
        business_date(on_date, slack_days=1),
        clean_key(key),
        project=project,
        voucher=voucher,
        payee=payee,
        memo=clean(memo, "memo", "摘要", 200),
    )
    return _post(entry, actor=actor)


@action
@transaction.atomic
def do_reverse_posting(posting_id: int, reason: str, *, key: str, actor: Any) -> Posting:
    """Correct a posting by posting the same amount back (冲正); the original stays."""
    require_role(actor, FUND_WRITERS, "冲正记账（由县级办理）")
    original = Posting.objects.filter(pk=posting_id).select_related("credit", "debit").first()
    if original is None:
        raise OutOfScope("未找到该笔记账，或您无权访问。")
    if actor is not None:
        try:
            check_county(actor, original.county_code)
        except OutOfScope as exc:
            raise OutOfScope("未找到该笔记账，或您无权访问。") from exc
    reason = clean(reason, "reason", "冲正理由", 200, required=True)
    key = clean_key(key)
    if original.kind == "reversal":
        raise DomainError("冲正记账不能再冲正；如需恢复，请重新记账。", field="posting")
    done = Posting.objects.filter(reverses=original).first()
    if done is not None and done.key != key:
        raise DomainError(f"该笔记账已于 #{done.pk} 冲正，不能重复冲正。", field="posting")
    entry = Entry(
        "reversal",
        original.debit,
        original.credit,
        original.amount_fen,
        timezone.localdate(),
        key,
        project=original.project,
        memo=f"冲正 #{original.pk}：{reason}",
        reverses=original,
    )
    return _post(entry, actor=actor)


# --- bulk import -----------------------------------------------------------------------------


@dataclass
class PostingRows:
    """Rows to import, as columns (row n of the file is index n - 1 + `first_row`)."""

    keys: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    source_ids: list[int] = field(default_factory=list)
    project_ids: list[int | None] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    dates: list[datetime.date] = field(default_factory=list)
    vouchers: list[str] = field(default_factory=list)
    payees: list[str] = field(default_factory=list)
    memos: list[str] = field(default_factory=list)
    first_row: int = 2  # the header is row 1

    def __len__(self) -> int:
        return len(self.keys)

    def digest(self) -> str:
        h = hashlib.sha256()
        for column in (
            self.keys,
            self.kinds,
            self.source_ids,
            self.project_ids,
            self.amounts,
            self.dates,
            self.vouchers,
            self.payees,
            self.memos,
        ):
            h.update("\x1f".join(map(str, column)).encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()


@dataclass(frozen=True)
class ImportResult:
    batch: PostingBatch
    created: bool  # False: this file was imported before; nothing written


class Problems:
    def __init__(self, first_row: int) -> None:
        self.first_row = first_row
        self.items: list[str] = []
        self.count = 0

    def add(self, i: int, column: str, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS_SHOWN:
            self.items.append(f"第 {i + self.first_row} 行“{column}”：{message}")

    def raise_if_any(self) -> None:
        if self.count:
            more = (
                f"（共 {self.count} 处问题，仅列出前 {len(self.items)} 处）"
                if self.count > len(self.items)
                else ""
            )
            raise DomainError(
                "导入未执行，没有写入任何记账：" + "；".join(self.items) + more, field="rows"
            )


def _check_rows(rows: PostingRows, problems: Problems) -> None:
    n = len(rows)
    columns = (
        rows.kinds,
        rows.source_ids,
        rows.project_ids,
        rows.amounts,
        rows.dates,
        rows.vouchers,
        rows.payees,
        rows.memos,
    )
    if any(len(c) != n for c in columns):
        raise DomainError("导入数据各列的行数不一致。", field="rows")
    if n == 0:
        raise DomainError("文件中没有记账行。", field="rows")
    if n > MAX_IMPORT_ROWS:
        raise DomainError(
            f"一次最多导入 {MAX_IMPORT_ROWS:,} 笔记账（文件有 {n:,} 笔）。", field="rows"
        )
    today = timezone.localdate()
    seen_keys: dict[str, int] = {}
    seen_vouchers: dict[str, int] = {}
    for i in range(n):
        kind, key, amount = rows.kinds[i], rows.keys[i], rows.amounts[i]
        if kind not in POSTING_SIDES:
            problems.add(i, "类型", f"“{kind}”应为资金到账、资金下达或资金支付。")
            continue
        if not key or len(key) > MAX_KEY:
            problems.add(i, "幂等键", f"须为 1 至 {MAX_KEY} 个字符。")
        elif key in seen_keys:
            problems.add(i, "幂等键", f"与第 {seen_keys[key] + rows.first_row} 行重复。")
        else:
            seen_keys[key] = i
        if type(amount) is not int or amount <= 0 or amount >= 10**15:
            problems.add(i, "金额", "应为大于零的金额。")
        d = rows.dates[i]
        if not isinstance(d, datetime.date) or d.year < 2014 or d > today:
            problems.add(i, "日期", "应在 2014 年以后，且不晚于今天。")
        if kind != "receipt" and rows.project_ids[i] is None:
            problems.add(i, "项目", "资金下达和支付须填写项目。")
        if kind == "disbursement":
            voucher = rows.vouchers[i]
            if not voucher or len(voucher) > 50:
                problems.add(i, "凭证号", "资金支付须填写凭证号（不超过 50 个字符）。")
            elif voucher in seen_vouchers:
                problems.add(
                    i,
                    "凭证号",
                    f"“{voucher}”与第 {seen_vouchers[voucher] + rows.first_row} 行重复。",
                )
            else:
                seen_vouchers[voucher] = i
            if not rows.payees[i] or len(rows.payees[i]) > 100:
                problems.add(i, "收款人", "资金支付须填写收款人（不超过 100 个字）。")
        if len(rows.memos[i]) > 200:
            problems.add(i, "摘要", "不能超过 200 个字。")


def _chunks(values: Sequence[Any], size: int = 5000) -> Any:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _find_conflicts(county: str, rows: PostingRows, problems: Problems) -> None:
    """After the insert was refused by a unique index: which rows reuse a key or a voucher."""
    index = {k: i for i, k in enumerate(rows.keys)}
    for chunk in _chunks(rows.keys):
        for key in Posting.objects.filter(key__in=list(chunk)).values_list("key", flat=True):
            problems.add(index[key], "幂等键", f"“{key}”已经记过账。")
    vouchers = {v: i for i, v in enumerate(rows.vouchers) if rows.kinds[i] == "disbursement"}
    for chunk in _chunks(list(vouchers)):
        used = Posting.objects.filter(
            county_code=county, kind="disbursement", voucher__in=list(chunk)
        ).values_list("voucher", flat=True)
        for voucher in used:
            problems.add(vouchers[voucher], "凭证号", f"“{voucher}”已经使用过，不能重复支付。")


@action
@transaction.atomic
def do_import_postings(
    county_code: str, rows: PostingRows, *, filename: str = "", actor: Any
) -> ImportResult:
    """Post a file of receipts, allocations and disbursements of one county in one action: all
    or nothing. Refused rows are named (row, column, reason) and nothing is written."""
    require_role(actor, FUND_WRITERS, "导入记账（由县级导入）")
    if actor is not None:
        check_county(actor, county_code)
    digest = rows.digest()
    done = PostingBatch.objects.filter(sha256=digest).first()
    if done is not None:
        return ImportResult(done, created=False)
    problems = Problems(rows.first_row)
    _check_rows(rows, problems)
    problems.raise_if_any()
    n = len(rows)

    # projects and sources of the county, with the accounts the rows touch
    project_ids = {p for p in rows.project_ids if p is not None}
    projects = {
        p.pk: p
        for chunk in _chunks(sorted(project_ids))
        for p in Project.objects.filter(pk__in=list(chunk), county_code=county_code)
    }
    sources = {s.pk: s for s in FundSource.objects.filter(county_code=county_code)}
    receipts = county_account(county_code, "receipts")
    spent = county_account(county_code, "spent")
    source_accounts = {
        a.source_id: a.pk for a in Account.objects.filter(county_code=county_code, kind="source")
    }
    project_accounts = {
        (a.project_id, a.source_id): a.pk
        for a in Account.objects.filter(county_code=county_code, kind="project")
    }
    needed = {
        (rows.project_ids[i], rows.source_ids[i])
        for i in range(n)
        if rows.kinds[i] == "allocation"
        and rows.project_ids[i] in projects
        and rows.source_ids[i] in sources
    } - set(project_accounts)
    for project_id, source_id in sorted(needed):
        acc = Account.objects.create(
            county_code=county_code, kind="project", project_id=project_id, source_id=source_id
        )
        project_accounts[(project_id, source_id)] = acc.pk

    credit: list[int] = [0] * n
    debit: list[int] = [0] * n
    for i in range(n):
        kind, sid, pid = rows.kinds[i], rows.source_ids[i], rows.project_ids[i]
        if sid not in sources:
            problems.add(i, "资金来源", f"编号 {sid} 不是本县的资金来源。")
            continue
        if kind == "receipt":
            credit[i], debit[i] = receipts.pk, source_accounts[sid]
            continue
        project = projects.get(pid)
        if project is None:
            problems.add(i, "项目", f"编号 {pid} 不是本县的项目。")
            continue
        if kind == "allocation":
            if project.state not in lifecycle.ALLOCATABLE:
                problems.add(
                    i, "项目", f"“{project.name}”为“{project.state_label}”，不能下达资金。"
                )
                continue
            credit[i], debit[i] = source_accounts[sid], project_accounts[(pid, sid)]
        else:
            if project.state not in lifecycle.PAYABLE:
                problems.add(
                    i, "项目", f"“{project.name}”为“{project.state_label}”，未经批复不能支付。"
                )
                continue
            account = project_accounts.get((pid, sid))
            if account is None:
                problems.add(i, "金额", f"项目“{project.name}”没有来自该来源的已下达资金。")
                continue
            credit[i], debit[i] = account, spent.pk
    problems.raise_if_any()

    # balances in file order, from the locked accounts' current balances
    touched = sorted(set(credit) | set(debit))
    balance = {
        pk: bal
        for chunk in _chunks(touched)
        for pk, bal in Account.objects.select_for_update()
        .filter(pk__in=list(chunk))
        .order_by("pk")
        .values_list("pk", "balance_fen")
    }
    plan = {
        (f.project_id, f.source_id): f.planned_fen
        for f in ProjectFunding.objects.filter(project_id__in=list(projects))
    }
    allocating = {
        (rows.project_ids[i], rows.source_ids[i]) for i in range(n) if rows.kinds[i] == "allocation"
    }
    allocated = {key: net_allocated(*key) for key in allocating}  # type: ignore[arg-type]
    allocated_now: dict[tuple[int, int], int] = defaultdict(int)
    negative_ok = receipts.pk
    for i in range(n):
        amount, c = rows.amounts[i], credit[i]
        left = balance[c] - amount
        if left < 0 and c != negative_ok:
            problems.add(
                i,
                "金额",
                f"余额不足：该账户此时余额 {yuan(balance[c])} 元，本笔 {yuan(amount)} 元。",
            )
            continue
        if rows.kinds[i] == "allocation":
            pair = (rows.project_ids[i], rows.source_ids[i])
            total = allocated.get(pair, 0) + allocated_now[pair] + amount  # type: ignore[index]
            if total > plan.get(pair, 0):
                problems.add(i, "金额", f"超出资金计划（计划 {yuan(plan.get(pair, 0))} 元）。")
                continue
            allocated_now[pair] += amount  # type: ignore[index]
        balance[c] = left
        balance[debit[i]] += amount
    problems.raise_if_any()

    total = sum(rows.amounts)
    batch = PostingBatch.objects.create(
        county_code=county_code,
        sha256=digest,
        filename=filename[:200],
        rows=n,
        total_fen=total,
        imported_by=actor if getattr(actor, "pk", None) else None,
    )
    now = timezone.now().astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    actor_id = getattr(actor, "pk", None)
    try:
        with transaction.atomic(), BulkWriter() as writer:
            ids = reserve_ids(writer, Posting, n)
            writer.write(
                Posting,
                {
                    "id": ids,
                    "county_code": [county_code] * n,
                    "key": rows.keys,
                    "kind": rows.kinds,
                    "amount_fen": rows.amounts,
                    "debit_id": debit,
                    "credit_id": credit,
                    "project_id": rows.project_ids,
                    "on_date": rows.dates,
                    "voucher": rows.vouchers,
                    "payee": rows.payees,
                    "memo": rows.memos,
                    "reverses_id": [None] * n,
                    "batch_id": [batch.pk] * n,
                    "posted_by_id": [actor_id] * n,
                    "posted_at": [now] * n,
                },
            )
            writer.reset_sequences([Posting])
    except Exception as exc:  # the driver's own error: COPY and executemany bypass Django's
        if not any(c.__name__ in ("IntegrityError", "UniqueViolation") for c in type(exc).__mro__):
            raise
        _find_conflicts(county_code, rows, problems)
        problems.raise_if_any()
        raise
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Account._meta.db_table} SET balance_fen = %s WHERE id = %s",
            [(balance[pk], pk) for pk in touched],
        )
    by_kind: dict[str, int] = defaultdict(int)
    for kind, amount in zip(rows.kinds, rows.amounts, strict=True):
        by_kind[kind] += amount
    record(
        "funds.postings.import",
        actor=actor,
        object_type="posting_batch",
        object_id=batch.pk,
        diff={
            "county": county_code,
            "rows": n,
            "total_fen": total,
            "sha256": digest,
            "filename": filename[:200],
            "by_kind_fen": dict(by_kind),
            "first_posting": ids[0],
            "last_posting": ids[-1],
        },
    )
    return ImportResult(batch, created=True)
