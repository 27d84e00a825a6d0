"""The CSV of postings: read, refused cells named, posted all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from jingzhun.core.errors import DomainError
from jingzhun.projects.importer import COLUMNS, read_postings_csv
from jingzhun.projects.ledger import do_import_postings
from jingzhun.projects.models import Posting
from jingzhun.projects.selectors import project_balance

from .conftest import COUNTY, YUAN


def csv_of(lines: list[list[Any]], encoding: str = "utf-8") -> bytes:
    text = "\n".join(",".join(str(c) for c in line) for line in [list(COLUMNS), *lines])
    return text.encode(encoding)


def test_a_csv_of_payments_is_posted(world: Any, funded_source: Any, approved: Any) -> None:
    today = timezone.localdate().isoformat()
    data = csv_of(
        [
            [
                "k1",
                "资金支付",
                funded_source.pk,
                approved.pk,
                '"1,200.50"',
                today,
                "V1",
                "李四",
                "工资",
            ],
            ["k2", "disbursement", funded_source.pk, approved.pk, "99", today, "V2", "王五", ""],
        ],
        "gb18030",
    )
    rows = read_postings_csv(data)
    assert rows.amounts == [120_050, 9_900]
    do_import_postings(COUNTY, rows, filename="a.csv", actor=world.user("county"))
    assert project_balance(approved.pk) == 10_000 * YUAN - 120_050 - 9_900


def test_bad_cells_are_named_by_row_and_column(world: Any, funded_source: Any) -> None:
    data = csv_of(
        [
            ["k1", "转账", funded_source.pk, "", "1.234", "2026-13-01", "V1", "李四", ""],
            ["k2", "资金到账", "x", "", "-5", "2026-01-01", "", "", ""],
        ]
    )
    before = Posting.objects.count()
    with pytest.raises(DomainError) as exc:
        read_postings_csv(data)
    message = exc.value.message
    for part in (
        "第 2 行“类型”",
        "第 2 行“金额（元）”",
        "第 2 行“日期”",
        "第 3 行“资金来源编号”",
        "第 3 行“金额（元）”",
    ):
        assert part in message, message
    assert Posting.objects.count() == before


def test_a_file_without_the_columns_is_refused() -> None:
    with pytest.raises(DomainError) as exc:
        read_postings_csv(b"a,b\n1,2\n")
    assert "表头缺少列" in exc.value.message
