"""The fund ledger: double entry in fen, idempotency keys, balances never negative, vouchers,
reversals, bulk import all or nothing, reconciliation."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.projects.ledger import (
    KeyConflict,
    PostingRows,
    do_allocate_funds,
    do_disburse_funds,
    do_import_postings,
    do_receive_funds,
    do_reverse_posting,
)
from jingzhun.projects.models import Account, Posting, PostingBatch
from jingzhun.projects.selectors import project_balance, reconciliation, source_balance

from .conftest import COUNTY, YUAN, plan_project

TODAY = timezone.localdate


def counts() -> tuple[int, int, list[int]]:
    return (
        Posting.objects.count(),
        AuditEvent.objects.count(),
        list(Account.objects.order_by("pk").values_list("balance_fen", flat=True)),
    )


def pay(world: Any, project: Any, source: Any, fen: int, key: str, voucher: str, **kw: Any) -> Any:
    return do_disburse_funds(
        project.pk,
        source.pk,
        fen,
        TODAY(),
        key=key,
        voucher=voucher,
        payee="某建筑公司",
        actor=kw.pop("actor", world.user("county")),
        **kw,
    )


def test_money_flows_from_receipt_to_payment_and_the_books_balance(
    world: Any, funded_source: Any, approved: Any
) -> None:
    pay(world, approved, funded_source, 3_000 * YUAN, "pay-1", "付-001")
    pay(world, approved, funded_source, 1_234_56, "pay-2", "付-002", actor=world.user("township"))
    assert project_balance(approved.pk) == 10_000 * YUAN - 3_000 * YUAN - 1_234_56
    assert source_balance(funded_source.pk) == (40_000 * YUAN, project_balance(approved.pk))
    report = reconciliation(world.user("county"), COUNTY)
    assert report.ok and report.total_balance_fen == 0 and report.postings == 4
    row = report.sources[0]
    assert (row.received_fen, row.allocated_fen, row.disbursed_fen) == (
        50_000 * YUAN,
        10_000 * YUAN,
        4_234_56,
    )
    events = AuditEvent.objects.filter(event__startswith="funds.posting.").count()
    assert events == 4


def test_the_same_key_returns_the_same_posting_and_other_content_is_refused(
    world: Any, funded_source: Any, approved: Any
) -> None:
    first = pay(world, approved, funded_source, 100 * YUAN, "pay-x", "付-100")
    before = counts()
    again = pay(world, approved, funded_source, 100 * YUAN, "pay-x", "付-100")
    assert again.pk == first.pk and counts() == before
    with pytest.raises(KeyConflict):
        pay(world, approved, funded_source, 200 * YUAN, "pay-x", "付-101")
    assert counts() == before


def test_an_overspend_is_refused_in_chinese_and_nothing_is_written(
    world: Any, funded_source: Any, approved: Any
) -> None:
    before = counts()
    with pytest.raises(DomainError) as exc:
        pay(world, approved, funded_source, 10_000 * YUAN + 1, "pay-over", "付-900")
    assert "余额不足" in exc.value.message and "10,000.00" in exc.value.message
    assert counts() == before


def test_a_disbursement_to_an_unapproved_project_is_refused(world: Any, funded_source: Any) -> None:
    planned = plan_project(world, funded_source)
    do_allocate_funds(
        planned.pk, funded_source.pk, 100 * YUAN, TODAY(), key="a-p", actor=world.user("county")
    )
    before = counts()
    with pytest.raises(DomainError) as exc:
        pay(world, planned, funded_source, 50 * YUAN, "pay-u", "付-u")
    assert "未经批复" in exc.value.message and exc.value.field == "project"
    assert counts() == before


def test_a_duplicate_voucher_is_refused(world: Any, funded_source: Any, approved: Any) -> None:
    pay(world, approved, funded_source, 10 * YUAN, "pay-v1", "付-777")
    before = counts()
    with pytest.raises(DomainError) as exc:
        pay(world, approved, funded_source, 20 * YUAN, "pay-v2", "付-777")
    assert "凭证号“付-777”已经使用过" in exc.value.message and exc.value.field == "voucher"
    assert counts() == before


def test_allocation_above_the_funding_plan_is_refused(
    world: Any, funded_source: Any, approved: Any
) -> None:
    before = counts()
    with pytest.raises(DomainError) as exc:
        do_allocate_funds(
            approved.pk, funded_source.pk, 1, TODAY(), key="a-2", actor=world.user("county")
        )
    assert "超出资金计划" in exc.value.message
    assert counts() == before


def test_a_reversal_undoes_a_payment_once_and_keeps_the_original(
    world: Any, funded_source: Any, approved: Any
) -> None:
    p = pay(world, approved, funded_source, 500 * YUAN, "pay-r", "付-r")
    back = do_reverse_posting(p.pk, "金额录错", key="rev-1", actor=world.user("county"))
    assert back.reverses_id == p.pk and back.debit_id == p.credit_id
    assert project_balance(approved.pk) == 10_000 * YUAN
    assert Posting.objects.filter(pk=p.pk).exists()
    with pytest.raises(DomainError):
        do_reverse_posting(p.pk, "再次", key="rev-2", actor=world.user("county"))
    with pytest.raises(DomainError):
        do_reverse_posting(back.pk, "冲正的冲正", key="rev-3", actor=world.user("county"))
    # the voucher stays used: a new payment needs a new voucher
    with pytest.raises(DomainError):
        pay(world, approved, funded_source, 400 * YUAN, "pay-r2", "付-r")
    assert reconciliation(world.user("county"), COUNTY).ok


def test_postings_cannot_be_changed_or_deleted_and_the_database_keeps_balances_non_negative(
    world: Any, funded_source: Any, approved: Any
) -> None:
    p = Posting.objects.first()
    assert p is not None
    with pytest.raises(PermissionError):
        Posting.objects.filter(pk=p.pk).update(amount_fen=1)
    with pytest.raises(PermissionError):
        Posting.objects.filter(pk=p.pk).delete()
    with pytest.raises(PermissionError):
        p.delete()
    p.amount_fen = 2
    with pytest.raises(PermissionError):
        p.save()
    account = Account.objects.get(kind="project")
    account.balance_fen = -1
    with pytest.raises(IntegrityError), transaction.atomic():
        account.save()


def test_roles_and_scope(world: Any, funded_source: Any, approved: Any) -> None:
    with pytest.raises(Forbidden):
        pay(world, approved, funded_source, 1, "k1", "v1", actor=world.user("village"))
    with pytest.raises(OutOfScope):  # another township's staff do not see the project
        pay(world, approved, funded_source, 1, "k2", "v2", actor=world.user("other_township"))
    with pytest.raises(Forbidden):
        do_receive_funds(funded_source.pk, 1, TODAY(), key="k3", actor=world.user("township"))
    with pytest.raises(Forbidden):
        do_receive_funds(funded_source.pk, 1, TODAY(), key="k4", actor=world.user("auditor"))


def rows_for(
    project: Any, source: Any, n: int, *, prefix: str = "b", amount: int = 100
) -> PostingRows:
    rows = PostingRows()
    for i in range(n):
        rows.keys.append(f"{prefix}-{i}")
        rows.kinds.append("disbursement")
        rows.source_ids.append(source.pk)
        rows.project_ids.append(project.pk)
        rows.amounts.append(amount)
        rows.dates.append(TODAY())
        rows.vouchers.append(f"{prefix}-V{i:05d}")
        rows.payees.append(f"农户{i}")
        rows.memos.append("公益岗位工资")
    return rows


def test_a_bulk_import_posts_every_row_once_and_a_rerun_writes_nothing(
    world: Any, funded_source: Any, approved: Any
) -> None:
    rows = rows_for(approved, funded_source, 300)
    result = do_import_postings(COUNTY, rows, filename="2026.csv", actor=world.user("county"))
    assert result.created and result.batch.rows == 300
    assert Posting.objects.filter(batch=result.batch).count() == 300
    assert project_balance(approved.pk) == 10_000 * YUAN - 300 * 100
    assert AuditEvent.objects.filter(event="funds.postings.import").count() == 1
    before = counts()
    again = do_import_postings(COUNTY, rows, actor=world.user("county"))
    assert not again.created and again.batch.pk == result.batch.pk and counts() == before
    assert reconciliation(world.user("county"), COUNTY).ok
    # the ids drawn by the bulk path leave the ORM path working afterwards
    pay(world, approved, funded_source, 1, "after-bulk", "付-after")


def test_a_bulk_import_with_one_bad_row_writes_nothing_and_names_the_row(
    world: Any, funded_source: Any, approved: Any
) -> None:
    rows = rows_for(approved, funded_source, 50)
    rows.amounts[9] = 0
    rows.vouchers[20] = rows.vouchers[3]
    before = counts()
    with pytest.raises(DomainError) as exc:
        do_import_postings(COUNTY, rows, actor=world.user("county"))
    assert "第 11 行“金额”" in exc.value.message
    assert "第 22 行“凭证号”" in exc.value.message and "第 5 行重复" in exc.value.message
    assert counts() == before and not PostingBatch.objects.exists()


def test_a_bulk_import_refuses_the_row_that_overspends_and_vouchers_already_used(
    world: Any, funded_source: Any, approved: Any
) -> None:
    rows = rows_for(approved, funded_source, 3, amount=4_000 * YUAN)
    before = counts()
    with pytest.raises(DomainError) as exc:
        do_import_postings(COUNTY, rows, actor=world.user("county"))
    assert "第 4 行“金额”：余额不足" in exc.value.message
    assert counts() == before
    pay(world, approved, funded_source, 1, "single", "b-V00001")
    rows = rows_for(approved, funded_source, 3)
    before = counts()
    with pytest.raises(DomainError) as exc:
        do_import_postings(COUNTY, rows, actor=world.user("county"))
    assert "第 3 行“凭证号”：“b-V00001”已经使用过" in exc.value.message
    assert counts() == before


def test_bulk_rows_for_an_unapproved_project_are_refused(world: Any, funded_source: Any) -> None:
    planned = plan_project(world, funded_source)
    rows = rows_for(planned, funded_source, 2)
    with pytest.raises(DomainError) as exc:
        do_import_postings(COUNTY, rows, actor=world.user("county"))
    assert "第 2 行“项目”" in exc.value.message and "未经批复" in exc.value.message


def test_dates_in_the_future_are_refused(world: Any, funded_source: Any) -> None:
    with pytest.raises(DomainError) as exc:
        do_receive_funds(
            funded_source.pk,
            1,
            TODAY() + datetime.timedelta(days=5),
            key="f",
            actor=world.user("county"),
        )
    assert exc.value.field == "on_date"
