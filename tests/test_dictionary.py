"""The data dictionary (registry.dictionary) against the models and every consumer (issue 19).

Each surface a field's `appears` names must show it, and each consumer must show only
dictionary fields: the importer's header matching, the import template (read back), the roster,
the card, the facts, the API's schemas, the web's edit forms and household card, the indicator
inputs and the rule language's member fields. A field added to a model without a dictionary
entry, or dropped by a consumer, fails here.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import models
from django.utils import timezone
from openpyxl import load_workbook

from jingzhun.core import fieldcrypt
from jingzhun.registry import dictionary as d
from jingzhun.registry.models import Household, IncomeRecord, Member

MODELS: dict[str, type[models.Model]] = {
    "household": Household,
    "member": Member,
    "income": IncomeRecord,
}
SRC = Path(__file__).resolve().parents[1] / "src" / "jingzhun"
# The model calls the village 所属村; files and the dictionary call its column 村级区划代码.
LABEL_DIFFERS = {"village"}


def surface(name: str, record: str | None = None) -> set[str]:
    return set(d.keys(record, on=name))


def out_key(key: str) -> str:
    return d.OUT_KEYS.get(key, key)


# --- the dictionary against the models ------------------------------------------------------


@pytest.mark.parametrize("record", d.RECORDS)
def test_every_model_field_is_in_the_dictionary_or_internal(record: str) -> None:
    model = MODELS[record]
    columns = {f.name for f in model._meta.concrete_fields}
    stored = set(d.keys(record, stored=True))
    assert columns - d.INTERNAL[record] - stored == set(), "model fields without a dictionary entry"
    assert stored - columns == set(), "dictionary fields marked stored that the model lacks"
    assert stored & d.INTERNAL[record] == set()


@pytest.mark.parametrize("entry", d.fields(stored=True), ids=lambda f: f.key)
def test_each_stored_field_agrees_with_its_model_column(entry: d.Field) -> None:
    column = MODELS[entry.record]._meta.get_field(entry.key)
    assert isinstance(column, models.Field)
    if entry.key not in LABEL_DIFFERS:
        assert str(column.verbose_name) == entry.label
    if isinstance(column, models.ForeignKey):
        assert entry.rule == "region_code"
        return
    kinds = {
        models.BooleanField: {"boolean"},
        models.DecimalField: {"decimal", "money"},
        models.PositiveSmallIntegerField: {"integer", "year"},
        models.DateField: {"date"},
        models.JSONField: {"codes"},
        models.CharField: {"text", "identifier", "code"},
    }
    # an encrypted column (core.fieldcrypt, PII-2) is a CharField holding a token: the
    # dictionary's limit is the plaintext's
    kind = models.CharField if isinstance(column, models.CharField) else type(column)
    if isinstance(column, fieldcrypt.EncryptedIntegerField):  # an int sealed as its text
        kind = models.PositiveSmallIntegerField
        assert (entry.low, entry.high) == (column.min_value, column.max_value)
    assert entry.kind in kinds[kind]
    if isinstance(column, models.CharField) and kind is models.CharField:
        assert entry.max_length == getattr(column, "plain_max_length", column.max_length)
    if isinstance(column, models.DecimalField):
        assert (entry.max_digits, entry.decimal_places) == (
            column.max_digits,
            column.decimal_places,
        )
    if entry.kind == "code":
        assert dict(entry.table or {}) == dict(column.choices or [])
    if not column.editable:
        assert not entry.editable


def test_sensitive_fields_are_the_masked_ones() -> None:
    from jingzhun.registry.masking import SENSITIVE_FIELDS

    assert d.SENSITIVE == SENSITIVE_FIELDS


def test_ranges_and_rules_validate() -> None:
    grade, months = d.FIELDS["disability_grade"], d.FIELDS["work_months"]
    assert (grade.low, grade.high, months.low, months.high) == (1, 4, 0, 12)
    assert grade.problem(5) and not grade.problem(4) and months.problem(13)
    assert d.FIELDS["phone"].problem("call me") and not d.FIELDS["phone"].problem("13912345678")
    assert d.FIELDS["village"].problem("23023110") and not d.FIELDS["village"].problem(
        "230231100201"
    )
    assert d.FIELDS["other_causes"].problem(["illness", "schooling", "disaster"])
    assert d.FIELDS["attribute"].problem("nonsense") and not d.FIELDS["attribute"].problem("dibao")


def test_workflow_owned_fields_are_not_editable() -> None:
    owned = {
        "poverty_status",
        "identification_standard",
        "identified_year",
        "exit_year",
        "monitoring_category",
        "risk_types",
        "risk_status",
        "risk_eliminated_on",
        "elimination_method",
    }
    assert owned & d.EDITABLE["household"] == set()
    assert "head_name" not in d.EDITABLE["household"]  # follows the head member


# --- the consumers ----------------------------------------------------------------------------


def test_import_header_matching_covers_the_dictionary() -> None:
    from jingzhun.imports.fields import FIELDS, VALUE_INDEX, match_header, norm

    assert set(FIELDS) == surface("import")
    for entry in d.fields(on="import"):
        for header in (entry.key, entry.label, *entry.synonyms):
            assert match_header(header) == entry.key, header
        for spelling, code in entry.spellings.items():
            assert VALUE_INDEX[entry.key][norm(spelling)] == code
        assert FIELDS[entry.key].required == entry.required
        assert (FIELDS[entry.key].level == "info") == entry.derived


def test_the_import_template_has_a_column_for_each_template_field() -> None:
    from jingzhun.imports.fields import match_header
    from jingzhun.imports.template import HOUSEHOLD_SHEET, MEMBER_SHEET, build_template

    wb = load_workbook(io.BytesIO(build_template()))
    keys = set()
    for sheet in (HOUSEHOLD_SHEET, MEMBER_SHEET):
        headers = [c.value for c in next(wb[sheet].iter_rows(max_row=1))]
        keys |= {match_header(h) for h in headers}
    assert keys - {"household_code"} == surface("template") - {"household_code"}
    assert "household_code" in keys


def test_the_roster_has_a_column_for_each_roster_field() -> None:
    from jingzhun.exports.roster import columns

    assert set(columns(masked=False)) == surface("roster")
    assert set(columns(masked=True)) == surface("roster") - {"birth_date"}


def test_the_card_shows_each_card_field() -> None:
    from jingzhun.exports import card

    first = {"household_code", "village", "head_name", "household_size"}  # the first lines
    shown = (
        set(card.BASIC)
        | set(card.CONDITIONS)
        | set(card.MEMBER_COLUMNS)
        | {k for k, _ in card.INCOME_LINES}
        | first
    )
    assert shown == surface("card")
    source = (SRC / "exports" / "card.py").read_text(encoding="utf-8")
    for label in ("户编号", "所属村", "户主姓名", "家庭人口数"):
        assert f'("{label}",' in source  # the first lines are written


def test_facts_carry_each_facts_field(world: Any) -> None:
    from jingzhun.registry.actions import do_record_income
    from jingzhun.registry.facts import household_facts

    household = next(iter(world.households.values()))
    year = timezone.localdate().year - 1
    do_record_income(household.pk, year, {"wage_income": "100"}, actor=None)
    household = Household.objects.get(pk=household.pk)
    facts = household_facts(household, year, unmasked=True)
    member = facts["members"][0]
    income = facts["income"]
    assert set(facts) - {"members", "income"} == {
        out_key(k) for k in surface("facts", "household")
    } | {"year"}
    assert set(member) == surface("facts", "member")
    assert set(income) == surface("facts", "income")


def test_the_policy_engine_reads_the_policy_fields() -> None:
    from jingzhun.policy.interpreter import DEFAULT_MEMBER_FIELDS

    assert surface("policy", "member") == DEFAULT_MEMBER_FIELDS
    # rules read the facts: the household and income fields they carry
    for record in ("household", "income"):
        assert surface("policy", record) == surface("facts", record)


def _schema_keys(schema: Any) -> set[str]:
    names = set(schema.model_fields)
    return {n for n in names if not n.endswith(("_label", "_labels"))}


def test_the_api_answers_carry_each_api_field() -> None:
    from jingzhun.api import schemas as s

    answered = {
        "household": _schema_keys(s.HouseholdDetail),
        "member": _schema_keys(s.MemberOut),
        "income": _schema_keys(s.IncomeOut),
    }
    names = {out_key(f.key): f.key for f in d.FIELDS_LIST}
    for record, keys in answered.items():
        expected = {out_key(k) for k in surface("api", record)}
        assert expected <= keys, f"{record}: the API leaves out {expected - keys}"
        # every dictionary field the answer carries is marked "api"
        carried = {names[k] for k in keys if k in names and d.FIELDS[names[k]].record == record}
        assert carried <= surface("api", record)
    # code fields carry their label beside the code (a masked one has nothing to label)
    for f in d.fields(on="api"):
        if f.kind == "code" and not f.sensitive:
            assert f"{f.key}_label" in set().union(
                s.HouseholdDetail.model_fields, s.MemberOut.model_fields
            )


def test_the_api_patch_accepts_exactly_the_editable_fields() -> None:
    from jingzhun.api import schemas as s

    assert set(s.HouseholdChanges.model_fields) == d.EDITABLE["household"]
    assert set(s.MemberChanges.model_fields) == d.EDITABLE["member"]


def test_the_edit_forms_have_each_form_field(world: Any) -> None:
    from jingzhun.web.forms import HouseholdEditForm, MemberEditForm
    from jingzhun.web.views import INCOME_FORM_LINES

    household = next(iter(world.households.values()))
    member = household.members.exclude(relation="head").first() or household.members.first()
    assert member is not None and member.relation != "head"
    shown = set(HouseholdEditForm(None, household=household).fields) - {"version"}
    # a sensitive field that holds a value gets a box to clear it (`clear_<field>`)
    assert {f for f in shown if f.startswith("clear_")} <= {f"clear_{k}" for k in shown}
    shown = {f for f in shown if not f.startswith("clear_")}
    assert shown == surface("form", "household")
    member_form = {
        f for f in MemberEditForm(None, member=member).fields if not f.startswith("clear_")
    } - {"version"}
    # a corrected ID number is `new_id_number` (sex and birth date follow from it)
    member_form = (member_form - {"new_id_number"}) | {"id_number"}
    assert member_form == surface("form", "member")
    # the income form is one year's (the page's `year`) items
    assert {k for k, _, _ in INCOME_FORM_LINES} | {"year"} == surface("form", "income")
    for f in d.fields(on="form"):
        assert f.editable or f.key == "year", f.key  # the income year is the page's key


DETAIL = SRC / "web" / "templates" / "web" / "household_detail.html"


def test_the_household_card_shows_each_detail_field(world: Any) -> None:
    from conftest import signed_in
    from django.test import Client

    from jingzhun.registry.actions import do_update_household
    from jingzhun.web.views import INCOME_LINES

    household = next(iter(world.households.values()))
    changes = {"monitoring_category": "edge", "risk_status": "not_eliminated"}
    do_update_household(household.pk, household.version, changes, actor=None, by_workflow=True)
    client = signed_in(Client(), world.user("county"))
    response = client.get(f"/households/{household.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    context = response.context
    used = set()
    for section in ("basic", "condition", "monitoring"):
        for row in context[f"{section}_rows"]:
            used.add(row["key"])
            assert f"<dt>{row['label']}</dt>" in html  # rendered
    # the member table (one column per field) and the income table (one line per item)
    template = DETAIL.read_text(encoding="utf-8")
    used |= set(re.findall(r"\bm\.([a-z_0-9]+)\b", template)) - {"pk"}
    used |= set(re.findall(r'field="([a-z_]+)"', template))  # masked values behind "查看"
    used |= {k for k, _, _ in INCOME_LINES} | ({"year"} if "income.years" in template else set())
    expected = surface("detail")
    assert expected - used == set(), f"the card page leaves out {expected - used}"
    assert used <= expected, f"not marked detail: {used - expected}"


def test_the_indicators_read_each_indicator_field() -> None:
    from jingzhun.analytics.compute import RAW_TABLES
    from jingzhun.analytics.indicators import (
        DERIVED_HOUSEHOLD_FIELDS,
        HOUSEHOLD_FIELDS,
        MEMBER_FIELDS,
    )

    assert set(HOUSEHOLD_FIELDS) - set(DERIVED_HOUSEHOLD_FIELDS) == surface(
        "indicator", "household"
    )
    assert set(MEMBER_FIELDS) == surface("indicator", "member")
    read = {c for c, _ in RAW_TABLES["hh"]} | {c for c, _ in RAW_TABLES["mm"]}
    assert set(d.keys(on="indicator", stored=True)) <= read


# --- the PATCH hole (issue 19): workflow-owned fields only change through their cases ---------


@pytest.mark.parametrize(
    "changes",
    [
        {"exit_year": 2020},
        {"identified_year": 2016},
        {"monitoring_category": "edge"},
        {"risk_status": "eliminated"},
        {"identification_standard": "provincial"},
        {"head_name": "某某"},
    ],
)
def test_people_cannot_edit_workflow_owned_fields(world: Any, changes: dict[str, Any]) -> None:
    from jingzhun.core.errors import DomainError
    from jingzhun.registry.actions import do_update_household

    household = next(iter(world.households.values()))
    with pytest.raises(DomainError):
        do_update_household(household.pk, household.version, changes, actor=world.user("county"))
    stored = Household.objects.get(pk=household.pk)
    assert stored.version == household.version
    for key, value in changes.items():
        assert getattr(stored, key) != value


def test_a_workflow_writes_its_own_fields(world: Any) -> None:
    from jingzhun.registry.actions import do_update_household

    household = next(iter(world.households.values()))
    updated = do_update_household(
        household.pk,
        household.version,
        {"monitoring_category": "edge", "risk_status": "not_eliminated"},
        actor=world.user("county"),
        by_workflow=True,
    )
    assert (updated.monitoring_category, updated.risk_status) == ("edge", "not_eliminated")
