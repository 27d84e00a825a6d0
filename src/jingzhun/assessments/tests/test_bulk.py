"""Bulk assessment (DuckDB over the registry) against the per-household evaluator.

These tests commit their data (`transaction=True`): DuckDB reads the database over its own
connection, on SQLite and on PostgreSQL alike (the suite runs on both).
"""

from __future__ import annotations

import datetime
import itertools
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import VILLAGES, World, make_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jingzhun.assessments.actions import do_assess_households
from jingzhun.assessments.bulk import do_assess_bulk
from jingzhun.assessments.models import Assessment, AssessmentRun, AssessmentSummary
from jingzhun.assessments.selectors import assessment_view, criterion_counts
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import Forbidden
from jingzhun.policy.decide import CompiledStandard
from jingzhun.policy.store import PolicyStore, default_root, default_store
from jingzhun.regions.actions import RegionRow, do_load_regions
from jingzhun.registry.actions import do_record_income, do_update_household, do_update_member
from jingzhun.registry.facts import facts_for
from jingzhun.registry.models import Household, IncomeRecord, Member

pytestmark = pytest.mark.django_db(transaction=True)

VILLAGE = VILLAGES["230231100000"][0]
COMPLETE = {
    "food_secure": True,
    "clothing_secure": True,
    "house_safety_grade": "A",
    "water_quantity_ok": True,
    "water_quality_ok": True,
    "water_convenience_ok": True,
    "water_reliability_ok": True,
}


def _complete(world: World) -> Household:
    household = world.households[VILLAGE]
    county = world.user("county")
    do_update_household(household.pk, household.version, COMPLETE, actor=county)
    do_record_income(household.pk, 2019, {"wage_income": "9000"}, actor=county)
    return Household.objects.get(pk=household.pk)


def per_household(households: Any, year: int, store: PolicyStore | None = None) -> dict[int, Any]:
    """The per-household evaluator's (passed, failed, unknown) for each household."""
    store = store or default_store()
    out = {}
    compiled: dict[str | None, CompiledStandard] = {}
    for hid, facts in facts_for(households, year):
        province = str(facts["village_code"])[:2]
        if province not in compiled:
            resolved = store.standard_for_year("household_exit", year=year, province=province)
            compiled[province] = CompiledStandard(resolved, store)
        d = compiled[province].decide(facts, year=year, province=province)
        out[hid] = (d.passed, sorted(d.failed), sorted(d.unknown))
    return out


def stored(year: int) -> dict[int, Any]:
    rows = Assessment.objects.filter(year=year).order_by(
        "household_id", "-created_at", "-policy_id"
    )
    out: dict[int, Any] = {}
    for a in rows:
        out.setdefault(a.household_id, (a.passed, sorted(a.failed), sorted(a.unknown)))
    return out


def test_bulk_stores_what_the_per_household_evaluator_decides(world: World) -> None:
    household = _complete(world)
    result = do_assess_bulk("household_exit", 2019, actor=world.user("county"))
    assert (result.households, result.created, result.unchanged) == (4, 4, 0)
    assert result.passed == 1
    assert stored(2019) == per_household(Household.objects.all(), 2019)
    row = Assessment.objects.get(household=household)
    assert row.passed and row.criteria is None and row.facts is None  # compact bulk row
    run = AssessmentRun.objects.get(pk=result.run_id)
    assert (run.method, run.households, run.created, run.passed) == ("bulk", 4, 4, 1)
    assert run.finished_at is not None and len(run.snapshot_sha256) == 64
    assert AuditEvent.objects.filter(event="assessments.run", object_id=result.run_id).count() == 1
    summaries = AssessmentSummary.objects.filter(run=run)
    assert sum(s.households for s in summaries) == 4 and sum(s.passed for s in summaries) == 1
    assert sum(s.criteria["income"][3] for s in summaries) == 3  # unknown: no 2019 income
    assert _work_dirs() == []  # the run's DuckDB work file (personal data) is gone


def _work_dirs() -> list[str]:
    from django.conf import settings

    tmp = Path(settings.VAR_DIR) / "duckdb_tmp"
    return sorted(p.name for p in tmp.glob("run-*")) if tmp.exists() else []


def test_rerunning_changes_nothing_and_a_new_policy_version_keeps_the_old(
    world: World, tmp_path: Path
) -> None:
    household = _complete(world)
    first = do_assess_bulk("household_exit", 2019, actor=None)
    ids = list(
        Assessment.objects.order_by("household_id", "policy_id").values_list(
            "household_id", "policy_id", "run_id", "passed", "created_at"
        )
    )
    second = do_assess_bulk("household_exit", 2019, actor=None)
    assert (first.created, second.created, second.unchanged) == (4, 0, 4)
    assert (
        list(
            Assessment.objects.order_by("household_id", "policy_id").values_list(
                "household_id", "policy_id", "run_id", "passed", "created_at"
            )
        )
        == ids
    )
    # a higher poverty line is a new policy version: new rows, old rows kept
    policies = tmp_path / "policies"
    shutil.copytree(default_root(), policies)
    table = policies / "tables" / "poverty_line.yaml"
    table.write_text(table.read_text(encoding="utf-8").replace("3218", "9500"), encoding="utf-8")
    third = do_assess_bulk("household_exit", 2019, actor=None, store=PolicyStore.load(policies))
    assert third.created == 4
    old, new = Assessment.objects.filter(household=household).order_by("created_at")
    assert old.passed and not new.passed and new.failed == ["income"]
    assert old.policy_id != new.policy_id


def test_changed_data_is_judged_again_and_the_earlier_decision_is_kept(world: World) -> None:
    """ADR 0032: the key holds the household's data version. A household whose income was
    corrected after a run gets a new decision from the next run (the others none), in bulk and
    one by one alike, and the bulk and per-household rows of the same data are the same key."""
    household = world.households[VILLAGE]
    county = world.user("county")
    do_update_household(household.pk, household.version, COMPLETE, actor=county)
    first = do_assess_bulk("household_exit", 2019, actor=None)
    before = Assessment.objects.get(household=household)
    assert not before.passed and before.unknown == ["income"]
    assert before.household_version == Household.objects.get(pk=household.pk).version
    do_record_income(household.pk, 2019, {"wage_income": "9000"}, actor=county)
    second = do_assess_bulk("household_exit", 2019, actor=None)
    assert (first.created, second.created, second.unchanged) == (4, 1, 3)
    old, new = Assessment.objects.filter(household=household).order_by("created_at")
    assert (old.passed, new.passed) == (False, True) and old.policy_id == new.policy_id
    assert new.household_version == old.household_version + 1
    assert stored(2019) == per_household(Household.objects.all(), 2019)
    # the per-household path finds the bulk row of the same data: nothing new
    again = do_assess_households(Household.objects.all(), "household_exit", 2019, actor=None)
    assert (again.created, again.unchanged) == (0, 4)
    # a member's change moves the household's version as well
    member = Member.objects.filter(household=household).order_by("id").first()
    assert member is not None
    do_update_member(member.pk, member.version, {"name": "改名"}, actor=county)
    third = do_assess_households(Household.objects.all(), "household_exit", 2019, actor=None)
    assert (third.created, third.unchanged) == (1, 3)
    assert Assessment.objects.filter(household=household).count() == 3


def test_scope_limits_what_a_user_may_judge(world: World) -> None:
    result = do_assess_bulk("household_exit", 2019, actor=world.user("township"))
    assert result.households == 2
    assert set(Assessment.objects.values_list("household__township_code", flat=True)) == {
        "230231100000"
    }
    with pytest.raises(Forbidden):
        do_assess_bulk("household_exit", 2019, actor=world.user("helper"))
    with pytest.raises(Forbidden):
        do_assess_bulk("household_exit", 2019, actor=world.user("township"), county="522628")


def test_ordinary_households_are_not_judged_for_exit(world: World) -> None:
    # issue 19: an ordinary rural household (未建档立卡) has no exit to judge
    from jingzhun.registry.actions import do_create_household

    ordinary = do_create_household(
        "P0001",
        VILLAGE,
        {"poverty_status": "not_registered"},
        [{"id_number": make_id("230231", "19700101", 601), "name": "赵一", "relation": "head"}],
        actor=None,
    )
    result = do_assess_bulk("household_exit", 2019, actor=world.user("township"))
    assert result.households == 2
    assert not Assessment.objects.filter(household=ordinary).exists()


def test_the_card_replays_a_bulk_decision_from_its_snapshot(world: World, client: Any) -> None:
    household = _complete(world)
    do_assess_bulk("household_exit", 2019, actor=None)
    # the registry changes after the run; the card still explains the decision as it was made
    do_update_household(
        household.pk,
        Household.objects.get(pk=household.pk).version,
        {"food_secure": False},
        actor=world.user("county"),
    )
    view = assessment_view(Household.objects.get(pk=household.pk))
    assert view is not None and view.replayed and view.passed
    food = next(c for c in view.criteria if c["id"] == "food")
    assert food["result"] == "passed" and food["explanation"] == "不愁吃：是"
    income = next(c for c in view.criteria if c["id"] == "income")
    assert "人均纯收入 4,500 元" in income["explanation"]
    client.force_login(world.user("village"))
    body = client.get(f"/households/{household.pk}/").content.decode()
    assert body.count('class="criterion passed"') == 7 and "批量" in body


def test_the_replay_finds_members_in_any_row_group_in_any_order(world: World) -> None:
    # The snapshot is written in read order, not sorted (ADR 0042): a household's members may
    # lie in row groups apart from each other and out of key order.
    import duckdb
    from django.conf import settings

    from jingzhun.assessments.selectors import snapshot_facts

    household = _complete(world)
    result = do_assess_bulk("household_exit", 2019, actor=None)
    run = AssessmentRun.objects.get(pk=result.run_id)
    expected = snapshot_facts(run, household.pk)
    assert expected is not None and len(expected["members"]) == 2
    path = (Path(settings.VAR_DIR) / result.snapshot / "members.parquet").as_posix()
    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute(f"CREATE TABLE m AS SELECT * FROM read_parquet('{path}')")
        first = con.execute(
            "SELECT min(rowid) FROM m WHERE household_id = ?", [household.pk]
        ).fetchone()
        assert first is not None
        # the household's first member at the end, 5,000 rows of another household between
        con.execute(
            "COPY (SELECT * EXCLUDE (o) FROM ("
            f"SELECT *, 0 AS o FROM m WHERE rowid <> {first[0]} "
            "UNION ALL SELECT m.* REPLACE (-1 AS household_id), 1 FROM m, range(1250) "
            f"UNION ALL SELECT *, 2 FROM m WHERE rowid = {first[0]}) ORDER BY o) "
            f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)"
        )
        # row groups holding some of the household's members
        groups = con.execute(
            "SELECT count(*) FROM parquet_metadata(?) WHERE path_in_schema = 'household_id' "
            "AND CAST(stats_min AS BIGINT) <= ? AND CAST(stats_max AS BIGINT) >= ?",
            [path, household.pk, household.pk],
        ).fetchone()
    finally:
        con.close()
    assert groups is not None and groups[0] >= 2
    again = snapshot_facts(run, household.pk)
    assert again is not None
    assert sorted(map(repr, again["members"])) == sorted(map(repr, expected["members"]))
    view = assessment_view(Household.objects.get(pk=household.pk))
    assert view is not None and view.replayed and view.passed


def test_criterion_counts_follow_scope_and_latest_run(world: World, client: Any) -> None:
    _complete(world)
    do_assess_bulk("household_exit", 2019, actor=None)
    counts, newest = criterion_counts(world.user("county"), "household_exit", 2019)
    by_id = {c.id: c for c in counts}
    assert newest is not None and counts[0].id == "" and counts[0].label == "全部标准"
    assert (by_id[""].households, by_id[""].passed) == (4, 1)
    assert by_id["income"].unknown == 3 and by_id["income"].passed == 1
    assert by_id["medical"].passed == 4  # every fixture member is insured
    mine, _ = criterion_counts(world.user("village"), "household_exit", 2019)
    assert {c.id: c.households for c in mine}[""] == 1
    nothing, _ = criterion_counts(world.user("helper"), "household_exit", 2019)
    assert nothing == []
    # the county overview shows the counts per criterion
    from conftest import signed_in

    signed_in(client, world.user("county"))
    body = client.get("/?year=2019").content.decode()
    assert "2019 年贫困户退出标准判定" in body and "全部标准（可退出）" in body
    assert "25.00%" in body and "基本医疗有保障" in body


# --- property: bulk and per-household agree on generated households --------------------------

GANSU_COUNTY = "620102000000"
SCHOOL = ["", "not_student", "primary", "junior", "dropped_out", "home_taught", "exempt"]
HEALTH = ["", "healthy", "chronic", "serious_illness", "disabled"]
BIRTHS = [
    datetime.date(y, m, d)
    for y in (2003, 2004, 2012, 2013, 2014)
    for m, d in ((8, 30), (8, 31), (9, 1))
]
maybe_bool = st.sampled_from([None, True, False])
money = st.one_of(
    st.sampled_from([Decimal(0), Decimal("3218"), Decimal("6436"), Decimal("9654.03")]),
    st.decimals(min_value=0, max_value=40000, places=2),
)
member_st = st.fixed_dictionaries(
    {
        "birth_date": st.one_of(
            st.sampled_from(BIRTHS),
            st.dates(min_value=datetime.date(1940, 1, 1), max_value=datetime.date(2019, 12, 31)),
        ),
        "school_status": st.sampled_from(SCHOOL),
        "health_status": st.sampled_from(HEALTH),
        "basic_medical_insured": maybe_bool,
        "critical_illness_insured": maybe_bool,
    }
)
household_st = st.fixed_dictionaries(
    {
        "gansu": st.booleans(),
        "identification_standard": st.sampled_from(["national", "provincial"]),
        "food_secure": maybe_bool,
        "clothing_secure": maybe_bool,
        "house_safety_grade": st.sampled_from(["", "A", "B", "C", "D"]),
        "relocated": st.booleans(),
        "relocation_moved_in": maybe_bool,
        "water_quantity_ok": maybe_bool,
        "water_quality_ok": maybe_bool,
        "water_convenience_ok": maybe_bool,
        "water_reliability_ok": maybe_bool,
        "members": st.lists(member_st, min_size=0, max_size=5),
        "income": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "wage_income": money,
                    "business_income": money,
                    "property_income": st.just(Decimal(0)),
                    "transfer_income": money,
                    "business_costs": st.sampled_from([Decimal(0), Decimal("500.5")]),
                }
            ),
        ),
    }
)
_seq = itertools.count(1)


def _regions() -> dict[bool, str]:
    rows = [
        RegionRow(1, "620000000000", "甘肃省"),
        RegionRow(2, "620100000000", "兰州市"),
        RegionRow(3, GANSU_COUNTY, "城关区"),
        RegionRow(4, "620102100000", "一镇"),
        RegionRow(5, "620102100201", "一村"),
    ]
    do_load_regions(rows, actor=None, source="test")
    return {False: VILLAGE, True: "620102100201"}


def _insert(households: list[dict[str, Any]], villages: dict[bool, str]) -> None:
    """Generated households written straight to the tables (a test fixture, not a user action)."""
    for spec in households:
        n = next(_seq)
        village = villages[spec["gansu"]]
        fields = {k: v for k, v in spec.items() if k not in ("gansu", "members", "income")}
        h = Household.objects.create(
            household_code=f"P{n}",
            village_id=village,
            township_code=village[:9] + "000",
            county_code=village[:6] + "000000",
            **fields,
        )
        Member.objects.bulk_create(
            Member(
                household=h,
                # one region part per household: the serial has three digits, and households
                # accumulate over the examples (well over a hundred)
                id_number=make_id(f"{110000 + n:06d}", m["birth_date"].strftime("%Y%m%d"), i),
                name=f"成员{i}",
                sex="male",
                relation="head" if i == 0 else "son",
                **m,
            )
            for i, m in enumerate(spec["members"])
        )
        if spec["income"] is not None:
            IncomeRecord.objects.create(household=h, year=2019, **spec["income"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(households=st.lists(household_st, min_size=1, max_size=6))
def test_bulk_and_per_household_agree_on_generated_households(
    world: World, households: list[dict[str, Any]]
) -> None:
    villages = {False: VILLAGE, True: "620102100201"}
    if not Household.objects.filter(village_id=villages[True]).exists():
        from jingzhun.regions.models import Region

        if not Region.objects.filter(pk=villages[True]).exists():
            _regions()
    _insert(households, villages)
    do_assess_bulk("household_exit", 2019, actor=None)
    expected = per_household(Household.objects.all(), 2019)
    assert stored(2019) == expected
    # the Gansu households were judged with the blockers, the others without
    gansu = Household.objects.filter(county_code=GANSU_COUNTY).values_list("pk", flat=True)
    for pk in gansu:
        a = Assessment.objects.filter(household_id=pk).select_related("policy").first()
        assert a is not None and a.policy.province == "62"


def test_a_parquet_snapshot_can_be_judged_again(world: World, tmp_path: Path) -> None:
    from django.conf import settings

    _complete(world)
    first = do_assess_bulk("household_exit", 2019, actor=None)
    folder = Path(settings.VAR_DIR) / first.snapshot
    assert sorted(p.name for p in folder.iterdir()) == ["households.parquet", "members.parquet"]
    policies = tmp_path / "policies"
    shutil.copytree(default_root(), policies)
    table = policies / "tables" / "poverty_line.yaml"
    table.write_text(table.read_text(encoding="utf-8").replace("3218", "4400"), encoding="utf-8")
    store = PolicyStore.load(policies)
    again = do_assess_bulk("household_exit", 2019, actor=None, parquet=folder, store=store)
    assert (again.households, again.created) == (4, 4)
    assert AssessmentRun.objects.get(pk=again.run_id).source == "parquet"
    assert stored(2019) == per_household(Household.objects.all(), 2019, store)
    assert stored(2019)[world.households[VILLAGE].pk] == (True, [], [])  # 4,500 > 4,400


def test_duckdb_never_opens_djangos_sqlite_file_in_this_process(world: World) -> None:
    # Two SQLite libraries in one process on one file drop each other's locks (duck_child.py).
    from django.db import connection

    from jingzhun.core import duck

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL is read over the network, in process")
    con = duck.connect()
    with pytest.raises(RuntimeError, match="子进程"):
        duck.attach_database(con)
    con.close()


def test_bulk_refuses_to_run_inside_a_transaction(world: World) -> None:
    from django.db import transaction

    from jingzhun.core.errors import DomainError

    with transaction.atomic(), pytest.raises(DomainError, match="事务之外"):
        do_assess_bulk("household_exit", 2019, actor=None)


def test_a_code_outside_its_list_is_refused_naming_household_field_and_value(
    world: World,
) -> None:
    from jingzhun.core.errors import DomainError
    from jingzhun.core.models import action_writes

    household = _complete(world)
    with action_writes():  # bad data as only a direct database write could leave it
        Household.objects.filter(pk=household.pk).update(house_safety_grade="Z")
    with pytest.raises(DomainError) as refused:
        do_assess_bulk("household_exit", 2019, actor=None)
    message = str(refused.value)
    assert household.household_code in message and "house_safety_grade" in message
    assert "'Z'" in message
    member = household.members.first()
    assert member is not None
    with action_writes():
        Household.objects.filter(pk=household.pk).update(house_safety_grade="A")
        Member.objects.filter(pk=member.pk).update(health_status="糖尿病")
    # Health is encrypted and read only by standards that need it (Gansu's, ADR 0066):
    # this Heilongjiang run does not read it, so the bad code does not stop it (a run that
    # reads it refuses it: demo/tests/test_gansu_sealed_health.py).
    assert do_assess_bulk("household_exit", 2019, actor=None).households > 0
    assert _work_dirs() == []
    # The message names only a household the user may see: a bad code outside the township's
    # villages is neither read nor named.
    inside, outside = (world.households[VILLAGES[t][0]] for t in ("230231101000", "230231100000"))
    with action_writes():
        Member.objects.filter(pk=member.pk).update(health_status="")
        Household.objects.filter(pk__in=[inside.pk, outside.pk]).update(house_safety_grade="Z")
    with pytest.raises(DomainError) as refused:
        do_assess_bulk("household_exit", 2019, actor=world.user("other_township"))
    assert inside.household_code in str(refused.value)
    assert outside.household_code not in str(refused.value)


def test_assess_command_reports_counts_and_phase_times(world: World) -> None:
    from io import StringIO

    from django.core.management import call_command

    _complete(world)
    out = StringIO()
    call_command("assess", "--standard", "household_exit", "--year", "2019", stdout=out)
    text = out.getvalue()
    assert "判定 4 户：通过 1 户；新增判定 4 条" in text
    for phase in ("读取登记数据", "保存输入快照", "判定", "写入结果"):
        assert phase in text
    assert "store_rows" not in text
    again = StringIO()
    call_command("assess", "--standard", "household_exit", "--year", "2019", stdout=again)
    assert "新增判定 0 条，已有相同政策版本的判定 4 条未变" in again.getvalue()
