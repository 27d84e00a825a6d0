"""The roster (花名册): masked by default, scoped, escaped, audited; read back by LibreOffice."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden
from jingzhun.exports.actions import do_export_roster
from jingzhun.exports.roster import columns
from jingzhun.imports.fields import FIELDS, match_header
from jingzhun.registry.actions import do_update_household
from jingzhun.registry.idcard import mask
from jingzhun.registry.models import Member
from jingzhun.registry.selectors import HouseholdFilters

from .conftest import approval, lo_rows, secrets_of

FULL_ID_LIKE = r"[1-9][0-9]{16}[0-9X]"


def export(actor: Any, filters: HouseholdFilters | None = None, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    do_export_roster(filters or HouseholdFilters(), out, actor=actor, **kwargs)
    return out.getvalue()


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header = rows[1]
    return [dict(zip(header, r, strict=False)) for r in rows[2:] if any(r)]


def test_every_header_is_a_label_the_importer_reads_as_that_field() -> None:
    for masked in (True, False):
        for key in columns(masked=masked):
            assert match_header(FIELDS[key].label) == key


def test_masked_roster_as_libreoffice_reads_it(world: Any, tmp_path: Path) -> None:
    # Given the county user, who may not export unmasked data
    county = world.user("county")
    # When they export the whole county's roster
    rows = lo_rows(export(county), tmp_path)
    # Then the title row carries the watermark and the header row the importer's labels
    assert rows[0][0].startswith("贫困户花名册（导出人：county")
    assert "已脱敏" in rows[0][0]
    assert rows[1][:4] == ["序号", "户编号", "乡镇名称", "村名称"]
    assert "出生日期" not in rows[1]  # with the masked ID it would give the whole number back
    members = as_dicts(rows)
    assert len(members) == Member.objects.count() == 8
    # and every member row carries its household's columns and masked sensitive values
    zhang = next(m for m in members if m["姓名"] == "张三")
    head = Member.objects.get(name="张三")
    assert zhang["户编号"] == "H100201"
    assert zhang["村级区划代码"] == "230231100201"
    assert zhang["村名称"] == "第1镇1村"
    assert zhang["乡镇名称"] == "第1镇"
    assert zhang["证件号码"] == mask(head.id_number)
    assert zhang["健康状况"] == "***"
    assert zhang["主要致贫原因"] == "因病"
    assert zhang["与户主关系"] == "户主"
    assert zhang["家庭人口数"] == "2"
    assert zhang["联系电话"] == "139****0001"
    assert zhang["银行账号"] == "****" + head.household.bank_account[-4:]
    text = "\n".join(",".join(r) for r in rows)
    assert [s for s in secrets_of(world) if s in text] == []


def test_unmasked_roster_needs_the_permission_and_the_refusal_is_audited(world: Any) -> None:
    county = world.user("county")
    before = AuditEvent.objects.count()
    with pytest.raises(Forbidden):
        export(county, unmasked=True)
    refusal = AuditEvent.objects.get(event="exports.roster.refuse")
    assert refusal.outcome == "refused" and refusal.actor == county
    assert AuditEvent.objects.count() == before + 1
    assert not AuditEvent.objects.filter(event="exports.roster.export").exists()


def test_unmasked_roster_shows_full_values_and_is_audited(world: Any, tmp_path: Path) -> None:
    county = world.user("county")
    rows = lo_rows(export(county, unmasked=True, approval=approval(county, "roster")), tmp_path)
    assert "未脱敏" in rows[0][0]
    members = as_dicts(rows)
    head = Member.objects.get(name="张三")
    zhang = next(m for m in members if m["姓名"] == "张三")
    assert zhang["证件号码"] == head.id_number
    assert zhang["出生日期"] == "1970-01-01"
    assert zhang["健康状况"] == "长期慢性病"
    assert zhang["联系电话"] == "13900000001"
    event = AuditEvent.objects.get(event="exports.roster.export")
    assert event.diff["masked"] is False
    assert event.diff["rows"] == 8 and event.diff["households"] == 4


@pytest.mark.parametrize(
    ("username", "households"),
    [("county", 4), ("township", 2), ("village", 1), ("helper", 1), ("other_township", 2)],
)
def test_the_roster_holds_only_the_users_households(
    world: Any, tmp_path: Path, username: str, households: int
) -> None:
    from openpyxl import load_workbook

    user = world.user(username)
    ws = load_workbook(io.BytesIO(export(user))).active
    codes = {row[1] for row in ws.iter_rows(min_row=3, values_only=True)}
    assert len(codes) == households
    event = AuditEvent.objects.get(event="exports.roster.export", actor=user)
    assert event.diff["households"] == households
    assert event.diff["rows"] == 2 * households


def test_the_roster_follows_the_list_filters_and_the_audit_event_names_them(world: Any) -> None:
    from openpyxl import load_workbook

    county = world.user("county")
    head = Member.objects.get(name="李四")
    filters = HouseholdFilters(township="230231100000", q=head.id_number)
    ws = load_workbook(io.BytesIO(export(county, filters))).active
    assert {row[1] for row in ws.iter_rows(min_row=3, values_only=True)} == {"H100202"}
    event = AuditEvent.objects.get(event="exports.roster.export")
    # The search term was an ID number: the audit log keeps it masked
    assert event.diff["filter"] == {"township": "230231100000", "q": mask(head.id_number)}
    assert event.diff["rows"] == 2


def test_formula_like_values_are_escaped(world: Any, tmp_path: Path) -> None:
    # Given household fields that a spreadsheet would run as formulas
    household = world.households["230231100201"]
    do_update_household(
        household.pk,
        household.version,
        {"group_name": '=HYPERLINK("http://example.invalid","点我")', "bank_name": "-1+2"},
        actor=None,
    )
    data = export(world.user("county"))
    # Then the file holds no formula and LibreOffice shows the text with a leading apostrophe
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data)).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    rows = as_dicts(lo_rows(data, tmp_path))
    zhang = next(m for m in rows if m["姓名"] == "张三")
    assert zhang["村民小组"] == """'=HYPERLINK("http://example.invalid","点我")"""
    assert zhang["开户银行"] == "'-1+2"


def test_roles_without_household_data_may_not_export(world: Any) -> None:
    from jingzhun.access.models import User

    admin = User.objects.create_user(username="sys", password="Test-pass-2026", role="sysadmin")
    with pytest.raises(Forbidden):
        export(admin)
    assert AuditEvent.objects.filter(event="exports.roster.refuse", actor=admin).exists()


def _csv_rows(data: bytes) -> list[list[str]]:
    import csv

    assert data.startswith("\ufeff".encode())  # Excel and WPS read the BOM as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_csv_roster_has_the_xlsx_rosters_title_columns_and_escaping(
    world: Any, tmp_path: Path
) -> None:
    # Given a household whose group name a spreadsheet would run as a formula
    county = world.user("county")
    h = world.households["230231100201"]
    do_update_household(h.pk, h.version, {"group_name": "=1+2"}, actor=None)
    # When the roster is exported as CSV and as .xlsx (masked, the default)
    as_csv = _csv_rows(export(county, fmt="csv"))
    as_xlsx = lo_rows(export(county), tmp_path)
    # Then both carry the watermark, the same header and the same cells
    assert "已脱敏" in as_csv[0][0]
    assert as_csv[1] == as_xlsx[1] == [FIELDS[k].label for k in columns(masked=True)]
    assert len(as_dicts(as_csv)) == len(as_dicts(as_xlsx)) == 8
    row = next(r for r in as_dicts(as_csv) if r["村民小组"].endswith("=1+2"))
    assert row["村民小组"] == "'=1+2"
    assert not any(re.fullmatch(FULL_ID_LIKE, r["证件号码"]) for r in as_dicts(as_csv))
    events = AuditEvent.objects.filter(event="exports.roster.export").order_by("id")
    assert [(e.diff["format"], e.diff["rows"]) for e in events] == [("csv", 8), ("xlsx", 8)]


def test_an_unmasked_csv_roster_imports_back_unchanged(world: Any) -> None:
    from jingzhun.imports.pipeline import plan_import

    county = world.user("county")
    data = export(county, unmasked=True, fmt="csv", approval=approval(county, "roster"))
    plan = plan_import(data, "roster.csv", actor=county)
    assert plan.errors == [], [str(e) for e in plan.errors[:5]]
    counts = plan.counts()
    assert counts["households_new"] == counts["households_changed"] == 0
    assert counts["members_unchanged"] == 8


def test_an_unknown_roster_format_is_refused(world: Any) -> None:
    from jingzhun.core.errors import DomainError

    with pytest.raises(DomainError):
        export(world.user("county"), fmt="pdf")
