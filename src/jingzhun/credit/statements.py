"""A bank's monthly statement (.xlsx / .csv) imported on the task queue to reconcile repayments
(issue 23 item 3; core/jobs.py pattern, ADR 0049).

`do_submit_statement` stores the upload and queues `run_statement_job`; the worker reads the file
through the contained reader (`imports.reader.read_sheets`), finds the header (借据号/贷款账号,
还款日期, 本金, 利息; 流水号 optional) and checks every row first: a hostile file (a missing
column, text in an amount, a bad date, a loan of another county) fails the whole job with the
row and the column named, nothing written. Then, in one transaction, each row whose loan is
found posts a repayment with a key derived from the row (the bank's serial, or the county,
loan, date, amounts and the occurrence in the file), so a re-import posts nothing twice; rows
without a loan of the county, or whose principal exceeds the outstanding balance, go to the
reconciliation report with their row number and the reason in Chinese.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django_tasks import task

from jingzhun.audit.actions import record
from jingzhun.core.checks import require_role
from jingzhun.core.errors import DomainError, Forbidden
from jingzhun.core.jobs import enqueue_after_commit, run_queued, worker_name
from jingzhun.core.models import action
from jingzhun.imports.fields import norm
from jingzhun.imports.reader import UnreadableFile, read_sheets
from jingzhun.projects.money import MAX_FEN

from .actions import Payment, _post_repayment, _text
from .choices import STATEMENT_WRITERS
from .models import Loan, StatementImport
from .scope import check_county

log = logging.getLogger(__name__)

MAX_BYTES: Final = 5 * 1024 * 1024
MAX_ROWS: Final = 50_000
HEADER_ROWS: Final = 10
COLUMNS: Final = {
    "contract": ("借据号", ("借据号", "借据编号", "贷款账号", "贷款帐号", "合同号", "借款合同号")),
    "date": ("还款日期", ("还款日期", "交易日期", "还款时间", "日期")),
    "principal": ("本金", ("本金", "还款本金", "归还本金", "本金金额", "本金(元)", "本金（元）")),
    "interest": ("利息", ("利息", "还款利息", "归还利息", "利息金额", "利息(元)", "利息（元）")),
    "serial": ("流水号", ("流水号", "交易流水号", "银行流水号")),
}
REQUIRED: Final = ("contract", "date", "principal", "interest")


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "credit"


def upload_path(job_id: int) -> Path:
    return upload_dir() / f"statement-{job_id}.upload"


def job_files(job_ids: Iterable[int]) -> list[Path]:
    return [upload_path(i) for i in job_ids]


@action
@transaction.atomic
def do_submit_statement(
    county_code: str, bank_name: str, filename: str, data: bytes, *, actor: Any
) -> StatementImport:
    """Store a bank statement and queue its import (county staff of that county)."""
    require_role(actor, STATEMENT_WRITERS, "导入银行对账单（由县级导入）")
    if actor is not None:
        check_county(actor, county_code)
    bank = _text(bank_name, "bank_name", "银行", 50)
    if not data:
        raise DomainError("文件为空。", field="file")
    if len(data) > MAX_BYTES:
        raise DomainError(
            f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请按月拆分后导入。", field="file"
        )
    job = StatementImport.objects.create(
        county_code=county_code,
        bank_name=bank,
        filename=str(filename or "statement")[:200],
        sha256=hashlib.sha256(data).hexdigest(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    upload_dir().mkdir(parents=True, exist_ok=True)
    path = upload_path(job.pk)
    path.write_bytes(data)
    path.chmod(0o600)
    record(
        "credit.statement.submit",
        actor=actor,
        object_type="statement_import",
        object_id=job.pk,
        diff={"county": county_code, "bank": bank, "bytes": len(data), "sha256": job.sha256},
    )
    enqueue_after_commit(run_statement_job, job.pk)
    return job


@task()
def run_statement_job(job_id: int) -> str:
    """The queue's task: import statement `job_id` (`jingzhun worker`)."""
    job = run_statement(job_id)
    return job.status if job is not None else "taken"


def run_pending() -> list[StatementImport]:
    """Import every queued statement in this process (tests, by hand)."""
    return run_queued(StatementImport.objects.filter(status=StatementImport.QUEUED), run_statement)


@dataclass(frozen=True)
class Row:
    number: int
    contract: str
    paid_on: datetime.date
    principal_fen: int
    interest_fen: int
    serial: str


def run_statement(job_id: int) -> StatementImport | None:
    if not StatementImport.take(job_id, worker_name()):
        return None
    job = StatementImport.objects.select_related("created_by").get(pk=job_id)
    path = upload_path(job_id)
    try:
        rows = read_rows(path.read_bytes(), job_id)
        _check_counties(job.county_code, rows)
        results = _post(job, rows)
    except Exception as exc:  # kept on the job, shown on the page
        if not isinstance(exc, DomainError):
            log.exception("statement import %s failed", job_id)
        StatementImport.fail(
            job_id, exc if isinstance(exc, DomainError) else f"对账单处理失败：{type(exc).__name__}"
        )
    else:
        StatementImport.finish(job_id, **results)
    finally:
        path.unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def _columns(cells: list[Any]) -> dict[str, int]:
    names = [norm(str(c or "")) for c in cells]
    found: dict[str, int] = {}
    for key, (_label, synonyms) in COLUMNS.items():
        wanted = {norm(s) for s in synonyms}
        for i, name in enumerate(names):
            if name in wanted:
                found[key] = i
                break
    return found


def _amount(value: Any, number: int, label: str) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        raise DomainError(f"第 {number} 行“{label}”：“{value}”不是有效的金额（元）。", field=label)
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        amount = Decimal(text.strip().replace(",", "").replace("，", "").replace("¥", ""))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(
            f"第 {number} 行“{label}”：“{str(value)[:30]}”不是有效的金额（元）。", field=label
        ) from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise DomainError(
            f"第 {number} 行“{label}”：“{str(value)[:30]}”应为不小于零、最多两位小数的金额（元）。",
            field=label,
        )
    fen = int(amount * 100)
    if fen >= MAX_FEN:
        raise DomainError(f"第 {number} 行“{label}”：金额过大。", field=label)
    return fen


def _date(value: Any, number: int) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise DomainError(
            f"第 {number} 行“还款日期”：“{text[:30]}”不是有效的日期（应为 YYYY-MM-DD）。",
            field="还款日期",
        ) from exc


def read_rows(data: bytes, job_id: int | None = None) -> list[Row]:
    """The statement's rows, every cell checked; a bad file raises DomainError naming the row
    and the column (nothing is written before all rows pass)."""
    try:
        sheets = read_sheets(data)
    except UnreadableFile as exc:
        raise DomainError(f"无法读取对账单：{exc.message}", field="file") from exc
    if not sheets:
        raise DomainError("对账单中没有工作表。", field="file")
    found: dict[str, int] = {}
    rows: list[Row] = []
    header_seen = False
    for number, cells in sheets[0].rows():
        if not header_seen:
            found = _columns(cells)
            if all(k in found for k in REQUIRED):
                header_seen = True
            elif number > HEADER_ROWS:
                break
            continue
        if not any(str(c or "").strip() for c in cells):
            continue

        def cell(key: str, cells: list[Any] = cells, found: dict[str, int] = found) -> Any:
            i = found.get(key)
            return cells[i] if i is not None and i < len(cells) else None

        contract = str(cell("contract") or "").strip()
        if isinstance(cell("contract"), float) and float(cell("contract")).is_integer():
            contract = str(int(cell("contract")))
        if not contract or len(contract) > 40:
            raise DomainError(f"第 {number} 行“借据号”：为空或超过 40 个字符。", field="借据号")
        row = Row(
            number=number,
            contract=contract,
            paid_on=_date(cell("date"), number),
            principal_fen=_amount(cell("principal"), number, "本金"),
            interest_fen=_amount(cell("interest"), number, "利息"),
            serial=str(cell("serial") or "").strip()[:60],
        )
        if row.principal_fen == 0 and row.interest_fen == 0:
            raise DomainError(f"第 {number} 行：本金和利息都为零。", field="本金")
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise DomainError(f"对账单超过 {MAX_ROWS} 行，请按月拆分后导入。", field="file")
        if job_id is not None and len(rows) % 500 == 0:
            StatementImport.objects.filter(pk=job_id).update(rows_done=len(rows))
    if not header_seen:
        missing = [COLUMNS[k][0] for k in REQUIRED if k not in found]
        raise DomainError(
            f"对账单前 {HEADER_ROWS} 行中找不到表头：缺少列 {'、'.join(missing) or '借据号、还款日期、本金、利息'}。",
            field="file",
        )
    if job_id is not None:
        StatementImport.objects.filter(pk=job_id).update(rows_total=len(rows), rows_done=0)
    return rows


def _check_counties(county_code: str, rows: list[Row]) -> None:
    """A row naming another county's loan (and none of this county) refuses the file."""
    contracts = {r.contract for r in rows}
    ours = set(
        Loan.objects.filter(county_code=county_code, contract_no__in=contracts).values_list(
            "contract_no", flat=True
        )
    )
    foreign = set(
        Loan.objects.filter(contract_no__in=contracts - ours)
        .exclude(county_code=county_code)
        .values_list("contract_no", flat=True)
    )
    for r in rows:
        if r.contract in foreign:
            raise DomainError(
                f"第 {r.number} 行“借据号”：贷款 {r.contract} 不属于本县，整份对账单未导入。",
                field="借据号",
            )


def row_key(county_code: str, r: Row, occurrence: int) -> str:
    basis = (
        f"{county_code}|{r.contract}|serial|{r.serial}"
        if r.serial
        else f"{county_code}|{r.contract}|{r.paid_on}|{r.principal_fen}|{r.interest_fen}|{occurrence}"
    )
    return "stmt:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


@action
@transaction.atomic
def _post(job: StatementImport, rows: list[Row]) -> dict[str, Any]:
    """Post the checked rows in one transaction (all or nothing), under each loan's row lock."""
    actor = job.created_by
    if actor is not None and (not actor.is_active or actor.role not in STATEMENT_WRITERS):
        raise Forbidden("上传人已无权导入银行对账单。")
    loans = {
        loan.contract_no: loan
        for loan in Loan.objects.select_for_update()
        .filter(county_code=job.county_code, contract_no__in={r.contract for r in rows})
        .order_by("pk")
    }
    seen: Counter[tuple[Any, ...]] = Counter()
    report: list[dict[str, Any]] = []
    posted = already = 0
    for i, r in enumerate(rows, 1):
        ident = (r.contract, r.paid_on, r.principal_fen, r.interest_fen)
        seen[ident] += 1
        loan = loans.get(r.contract)
        if loan is None:
            report.append(
                {
                    "row": r.number,
                    "contract": r.contract,
                    "reason": f"本县没有借据号为 {r.contract} 的贷款",
                }
            )
            continue
        try:
            _repayment, new = _post_repayment(
                loan,
                Payment(r.paid_on, r.principal_fen, r.interest_fen),
                key=row_key(job.county_code, r, seen[ident]),
                actor=actor,
                statement=job,
                row=r.number,
            )
        except DomainError as exc:
            report.append({"row": r.number, "contract": r.contract, "reason": exc.message})
            continue
        if new:
            posted += 1
        else:
            already += 1
            report.append(
                {
                    "row": r.number,
                    "contract": r.contract,
                    "reason": "已入账（重复导入，未重复记账）",
                }
            )
        if i % 500 == 0:
            StatementImport.objects.filter(pk=job.pk).update(rows_done=i)
    unmatched = sum(1 for x in report if not x["reason"].startswith("已入账"))
    record(
        "credit.statement.import",
        actor=actor,
        object_type="statement_import",
        object_id=job.pk,
        diff={"rows": len(rows), "posted": posted, "already": already, "unmatched": unmatched},
    )
    return {
        "rows_total": len(rows),
        "rows_done": len(rows),
        "posted": posted,
        "already": already,
        "unmatched": unmatched,
        "report": report[:2000],
    }
