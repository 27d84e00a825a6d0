"""Issue 4, item 6: an unmasked roster imported again changes nothing."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

from django.core.management import call_command

from jingzhun.access.models import User
from jingzhun.audit.actions import verify_chain
from jingzhun.exports.actions import do_export_roster
from jingzhun.imports.actions import do_commit_import
from jingzhun.imports.fields import FIELDS, IMPORT_ONLY
from jingzhun.imports.pipeline import plan_import
from jingzhun.registry.actions import do_record_income, do_update_household, do_update_member
from jingzhun.registry.models import Household, IncomeRecord, Member
from jingzhun.registry.selectors import HouseholdFilters

from .conftest import approval

NOTHING_CHANGED = {"households_new": 0, "households_changed": 0, "members_new": 0}


def _versions() -> dict[str, list[tuple[int, int]]]:
    return {
        "households": sorted(Household.all_objects.values_list("pk", "version")),
        "members": sorted(Member.all_objects.values_list("pk", "version")),
        "incomes": sorted(IncomeRecord.all_objects.values_list("pk", "version")),
    }


def _round_trip(actor: Any) -> tuple[dict[str, int], Any]:
    out = io.BytesIO()
    summary = do_export_roster(
        HouseholdFilters(), out, actor=actor, unmasked=True, approval=approval(actor, "roster")
    )
    data = out.getvalue()
    plan = plan_import(data, "roster.xlsx", actor=actor)
    assert plan.errors == [], [str(e) for e in plan.errors[:5]]
    assert plan.new_block is not None  # read by the columnar path, income columns included
    # Every household and member field was read from a column (none left out of the comparison)
    # (import-only columns such as 户类型 are carried by 脱贫状态)
    fields = {
        k
        for k, s in FIELDS.items()
        if s.level in ("household", "member", "income") and k not in IMPORT_ONLY
    }
    assert fields <= set(plan.layouts[0].keys)
    assert plan.notices == []
    # The latest year's income of every household that has one was read, and found unchanged
    year = IncomeRecord.objects.order_by("-year").values_list("year", flat=True).first()
    read = {(p.household_id, i.year, i.kind) for p in plan.plans for i in p.incomes}
    assert read == {
        (h, year, "unchanged")
        for h in IncomeRecord.objects.filter(year=year).values_list("household_id", flat=True)
    }
    counts = plan.counts()
    assert counts["members_unchanged"] == summary.rows
    outcome = do_commit_import(data, "roster.xlsx", actor=actor)
    return counts, outcome


def test_an_unmasked_roster_of_the_world_imports_back_unchanged(world: Any) -> None:
    # Given households and members with every kind of field filled in
    h = world.households["230231100201"]
    do_update_household(
        h.pk,
        h.version,
        {
            "group_name": "三组",
            "bank_name": "农村信用社",
            "other_causes": ["lack_capital", "lack_skills"],
            "exit_year": 2019,
            "food_secure": True,
            "clothing_secure": False,
            "house_safety_grade": "B",
            "relocated": True,
            "relocation_moved_in": True,
            "house_area_m2": Decimal("63.50"),
            "house_structure": "brick_concrete",
            "water_quantity_ok": True,
            "cultivated_land_mu": Decimal("12.25"),
            "distance_to_main_road_km": Decimal("0.8"),
            "road_type": "hardened",
            "fuel_type": "firewood",
            "monitoring_category": "edge",
            "risk_types": ["illness", "schooling"],
            "risk_status": "eliminated",
            "risk_eliminated_on": datetime.date(2022, 6, 30),
            "elimination_method": "by_assistance",
        },
        actor=None,
        by_workflow=True,  # exit and monitoring fields are cases' outcomes
    )
    head = Member.objects.get(name="张三")
    do_update_member(
        head.pk,
        head.version,
        {
            "ethnicity": "han",
            "education": "junior",
            "political_status": "masses",
            "health_status": "disabled",
            "disability_grade": 2,
            "labour_capacity": "weak",
            "work_status": "local",
            "work_months": 6,
            "critical_illness_insured": False,
            "pension_insured": True,
            "dibao": True,
            "tekun": False,
        },
        actor=None,
    )
    do_record_income(
        h.pk,
        2019,
        {
            "wage_income": Decimal("12000.50"),
            "business_income": 3000,
            "property_income": 0,
            "transfer_income": 2400,
            "ecological_compensation": 200,
            "dibao_payment": 1800,
            "pension_payment": Decimal("400.25"),
            "other_transfer": 0,
            "business_costs": 800,
            "compliant_out_of_pocket": 1500,
        },
        actor=None,
    )
    do_record_income(world.households["230231100202"].pk, 2019, {"wage_income": 900}, actor=None)
    do_record_income(world.households["230231100202"].pk, 2018, {"wage_income": 700}, actor=None)
    county = world.user("county")
    before = _versions()
    # When the county user exports the roster unmasked and imports the file again
    counts, outcome = _round_trip(county)
    # Then the dry run and the commit find nothing new and nothing changed
    assert {k: counts[k] for k in NOTHING_CHANGED} == NOTHING_CHANGED
    assert counts["members_changed"] == 0
    assert counts["households_unchanged"] == 4
    assert outcome.committed
    assert _versions() == before
    assert verify_chain() is None


def test_an_unmasked_roster_of_a_small_demo_county_imports_back_unchanged(db: Any) -> None:
    call_command(
        "demo",
        "--county",
        "230623",
        "--scale",
        "0.02",
        "--password",
        "Test-pass-2026",
        "--no-serve",
        "--no-progress",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    county = User.objects.get(username="county")
    assert Household.objects.count() > 20
    before = _versions()
    counts, outcome = _round_trip(county)
    assert {k: counts[k] for k in NOTHING_CHANGED} == NOTHING_CHANGED
    assert counts["members_changed"] == 0
    assert counts["households_unchanged"] == Household.objects.count()
    assert outcome.committed
    assert _versions() == before
