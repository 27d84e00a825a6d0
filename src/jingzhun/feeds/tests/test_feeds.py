"""Department feeds (issue 22 items 1-3, 6, 8): golden rosters with planted hits matched on the
blind index, the expected alerts, red-line flags holding up approval, no duplicate on a second
run, and scope."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import pytest
from conftest import COUNTY, VILLAGES, World, make_id

from jingzhun.core.errors import DomainError, Forbidden
from jingzhun.feeds import actions, selectors
from jingzhun.feeds.models import Alert, FeedBatch, FeedRow
from jingzhun.feeds.roster import normalise_id
from jingzhun.imports.tests import hostile
from jingzhun.registry.models import id_index
from jingzhun.workflows.models import Case

from .conftest import FULLWIDTH, csv_bytes, head_id, medical_roster, x_id
from .test_exact import check_duckdb_matches_as_the_database

V1 = VILLAGES["230231100000"][0]  # township 100
V2 = VILLAGES["230231100000"][1]  # township 100
V3 = VILLAGES["230231101000"][0]  # township 101
V4 = VILLAGES["230231101000"][1]  # township 101
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def load(world: World, code: str, data: bytes, user: str = "county") -> FeedBatch:
    submitted = actions.do_submit_roster(
        code, "roster.csv", data, actor=world.user(user), origin="upload"
    )
    assert submitted.created
    done = actions.run_pending()
    assert [b.pk for b in done] == [submitted.batch.pk]
    return done[0]


# --- normalising (pure) ---------------------------------------------------------------------------


def test_a_15_digit_full_width_or_lower_case_id_normalises_to_the_18_digit_number() -> None:
    number = head_id(2)
    assert normalise_id(number[:6] + number[8:17]).number == number
    assert normalise_id(number[:6] + number[8:17]).converted_15
    assert normalise_id(number.translate(FULLWIDTH)).number == number
    x = x_id()
    assert normalise_id(f" {x.lower()[:9]} {x.lower()[9:]}\u3000").number == x
    assert not normalise_id(number).converted_15


def test_missing_and_damaged_ids_carry_a_reason() -> None:
    assert normalise_id(None).problem == "证件号码为空"
    assert normalise_id("  ").number is None
    damaged = head_id(1)[:17] + ("0" if head_id(1)[17] != "0" else "1")
    outcome = normalise_id(damaged)
    assert outcome.number is None and "校验位" in outcome.problem


# --- loading and matching -------------------------------------------------------------------------


def test_golden_roster_matches_planted_hits_on_the_blind_index(
    feeds_world: World, settings: Any
) -> None:
    settings.FEEDS_EXACT = {**settings.FEEDS_EXACT, "duckdb_rows": 10**9}  # in the database
    # 王五's name as another spelling: his ID matches, the name differs
    data = medical_roster().replace("王五".encode(), "王伍".encode())
    batch = load(feeds_world, "medical_spending", data, user="medic")
    assert batch.status == "done", batch.error
    assert (batch.rows_total, batch.matched, batch.unmatched, batch.invalid) == (7, 4, 1, 2)
    rows = {r.name: r for r in FeedRow.objects.filter(batch=batch)}
    assert [n for n, r in rows.items() if r.name_differs] == ["王伍"]
    rows["王五"] = rows.pop("王伍")
    h = feeds_world.households
    assert rows["张三"].household_id == h[V1].pk
    assert rows["李四"].household_id == h[V2].pk and rows["李四"].converted_15
    assert rows["钱八"].household_id == h["x"].pk
    assert rows["王五"].household_id == h[V3].pk
    assert rows["路人"].status == "unmatched" and rows["路人"].household_id is None
    assert rows["无号"].status == "invalid" and rows["无号"].id_problem == "证件号码为空"
    assert rows["错号"].status == "invalid" and "校验位" in rows["错号"].id_problem
    # no ID number is kept: the blind index and a masked form only
    assert rows["张三"].id_index == id_index(head_id(1))
    assert rows["张三"].id_masked == head_id(1)[:6] + "*" * 8 + head_id(1)[-4:]
    assert rows["李四"].values == {"out_of_pocket": "30000.50", "settled_on": "2026-11-04"}
    assert rows["钱八"].values["out_of_pocket"] == "21000"
    assert rows["钱八"].values["settled_on"] == "2026-11-05"
    stored = json.dumps(list(FeedRow.objects.values_list("values", "id_masked", "id_index")))
    assert head_id(1) not in stored and x_id() not in stored
    # the uploaded file (IDs in the clear) is gone
    assert not actions.upload_path(batch.pk).exists()
    # the DuckDB path (feeds.exact, both matchers) matches the same rows
    check_duckdb_matches_as_the_database(batch, settings)


def test_the_same_roster_twice_is_stored_once(feeds_world: World) -> None:
    first = load(feeds_world, "medical_spending", medical_roster(), user="medic")
    again = actions.do_submit_roster(
        "medical_spending", "again.csv", medical_roster(), actor=feeds_world.user("medic")
    )
    assert not again.created and again.batch.pk == first.pk
    assert FeedBatch.objects.count() == 1 and actions.run_pending() == []


def test_a_roster_without_an_id_column_fails_with_the_reason_and_keeps_no_rows(
    feeds_world: World,
) -> None:
    batch = load(feeds_world, "medical_spending", csv_bytes([["姓名", "个人自付"], ["张三", "1"]]))
    assert batch.status == "failed"
    assert "证件号码" in batch.error and FeedRow.objects.count() == 0


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (hostile.zip_bomb, "疑似压缩炸弹"),
        (hostile.declared_dimension, "声明的范围为 A1:XFD1048576"),
        (lambda: b"PK\x03\x04" + b"\x00" * 200, "文件已损坏"),
    ],
)
def test_hostile_files_are_refused_by_the_imports_checks(
    feeds_world: World, build: Any, expected: str
) -> None:
    batch = load(feeds_world, "medical_spending", build())
    assert batch.status == "failed" and expected in batch.error
    assert FeedRow.objects.count() == 0 and not actions.upload_path(batch.pk).exists()


def test_only_the_feeds_liaison_or_county_staff_may_load(feeds_world: World) -> None:
    with pytest.raises(Forbidden):
        actions.do_submit_roster(
            "vehicles", "r.csv", b"x", actor=feeds_world.user("medic"), origin="upload"
        )
    with pytest.raises(Forbidden):
        actions.do_submit_roster(
            "vehicles", "r.csv", b"x", actor=feeds_world.user("township"), origin="upload"
        )
    assert FeedBatch.objects.count() == 0


# --- screening ------------------------------------------------------------------------------------

EXPECTED_MEDICAL = [
    {
        "household_code": "H100201",
        "rule": "medical_spending",
        "source": "medical_spending",
        "kind": "warning",
    },
    {
        "household_code": "H100202",
        "rule": "medical_spending",
        "source": "medical_spending",
        "kind": "warning",
    },
    {
        "household_code": "HX101201",
        "rule": "medical_spending",
        "source": "medical_spending",
        "kind": "warning",
    },
]


def test_screening_raises_the_expected_warnings_and_opens_monitoring_cases(
    feeds_world: World,
) -> None:
    load(feeds_world, "medical_spending", medical_roster(), user="medic")
    result = actions.do_screen_county(COUNTY, actor=feeds_world.user("county"))
    assert [r.as_json() for r in result.raised] == EXPECTED_MEDICAL
    cases = Case.objects.filter(kind="monitoring").order_by("household__household_code")
    assert [c.route for c in cases] == ["department_warning"] * 3
    assert all(c.risk_types == ["illness"] for c in cases)
    assert all(c.due_on == c.opened_on + datetime.timedelta(days=15) for c in cases)
    assert {a.case_id for a in Alert.objects.all()} == {c.pk for c in cases}


def test_a_second_run_raises_no_duplicate(feeds_world: World) -> None:
    load(feeds_world, "medical_spending", medical_roster(), user="medic")
    county = feeds_world.user("county")
    actions.do_screen_county(COUNTY, actor=county)
    # the same rows again in next month's roster (another file): still one alert per household
    later = medical_roster() + b'\n"x","' + make_id("230231", "19900101", 55).encode() + b'","1"'
    load(feeds_world, "medical_spending", later, user="medic")
    again = actions.do_screen_county(COUNTY, actor=county)
    assert again.raised == []
    assert Alert.objects.count() == 3 and Case.objects.filter(kind="monitoring").count() == 3


def test_screen_command_prints_the_alerts_as_json(feeds_world: World, tmp_path: Any) -> None:
    from django.core.management import call_command

    path = tmp_path / "医保.csv"
    path.write_bytes(medical_roster())
    out = io.StringIO()
    call_command("feeds", "load", "medical_spending", str(path), stdout=out, stderr=io.StringIO())
    assert "匹配 4，未匹配 1，证件号码无效或缺失 2" in out.getvalue()
    out = io.StringIO()
    call_command("feeds", "rows", str(FeedBatch.objects.get().pk), stdout=out)
    listed = out.getvalue().splitlines()
    assert [line.split()[0] for line in listed] == ["7", "8", "9"]
    assert "证件号码为空" in listed[1] and "校验位" in listed[2]
    out = io.StringIO()
    call_command("screen", "--county", COUNTY, "--json", stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue()) == EXPECTED_MEDICAL
    out = io.StringIO()
    call_command("screen", "--county", COUNTY, "--json", stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue()) == []


def test_warning_conditions_on_the_member_age_and_labour(feeds_world: World) -> None:
    h = feeds_world.households
    child = make_id("230231", "20100601", 2)  # the daughter in village 100201
    school = csv_bytes(
        [["身份证号", "姓名", "学籍状态"], [child, "张小", "辍学"], [head_id(2), "李四", "辍学"]]
    )
    load(feeds_world, "school", school)
    register = csv_bytes(
        [["身份证号", "姓名", "变动类型"], [x_id(), "钱八", "死亡"], [head_id(3), "王五", "死亡"]]
    )
    load(feeds_world, "household_register", register)
    result = actions.do_screen_county(
        COUNTY, actor=feeds_world.user("county"), today=datetime.date(2025, 1, 1)
    )
    found = {(r.household_code, r.rule) for r in result.raised}
    # the 14-year-old dropout, not the adult; the ordinary labourer's death, not the head
    # whose labour capacity is unknown
    assert found == {(h[V1].household_code, "dropout"), ("HX101201", "labourer_death")}


# --- red lines ------------------------------------------------------------------------------------


def test_a_red_line_flag_holds_up_approval_until_resolved(feeds_world: World) -> None:
    from jingzhun.workflows.actions import CaseDetails, do_open_case
    from jingzhun.workflows.tests.conftest import move, walk
    from jingzhun.workflows.transitions import FLOWS

    w = feeds_world
    vehicles = csv_bytes(
        [
            ["身份证号", "姓名", "号牌号码", "车辆价值(元)"],
            [x_id(), "钱八", "黑B12345", ""],  # no value: flagged for an explanation
            [head_id(1), "张三", "黑B00001", "20000"],  # below the value: no flag
        ]
    )
    load(w, "vehicles", vehicles, user="police")
    result = actions.do_screen_county(COUNTY, actor=w.user("county"))
    assert [(r.household_code, r.rule, r.kind) for r in result.raised] == [
        ("HX101201", "vehicle", "red_line")
    ]
    from jingzhun.access.models import RegionGrant, User

    village3 = User.objects.create_user(username="v3", password="Test-pass-2026", role="village")
    RegionGrant.objects.create(user=village3, region_id=V3)
    actors = {
        "village": village3,
        "township": User.objects.get(username="other_township"),
        "county": w.user("county"),
    }
    case = do_open_case(w.households["x"].pk, "identification", CaseDetails(), actor=village3)
    path = FLOWS["identification"].required_path()
    case = walk(case, path[: path.index("approve")], actors)
    with pytest.raises(DomainError, match="未处理的部门比对红线"):
        move(case, "approve", w.user("county"))
    alert = Alert.objects.get(rule="vehicle")
    with pytest.raises(DomainError, match="附证据"):
        actions.do_resolve_alert(
            alert.pk, alert.version, "explained", "车辆已报废", actor=actors["township"]
        )
    with pytest.raises(DomainError):  # out of scope: township 100 does not see this household
        actions.do_resolve_alert(
            alert.pk, alert.version, "removed", "比对有误", actor=w.user("township")
        )
    actions.do_resolve_alert(
        alert.pk,
        alert.version,
        "explained",
        "车辆已于 2025 年报废，附注销证明",
        actor=actors["township"],
        evidence_name="注销证明.png",
        evidence=PNG,
    )
    case = move(case, "approve", w.user("county"))
    assert case.state == "approved"


# --- scope ----------------------------------------------------------------------------------------


def test_a_township_sees_only_its_alerts_and_a_liaison_only_their_feeds_rows(
    feeds_world: World,
) -> None:
    w = feeds_world
    load(w, "medical_spending", medical_roster(), user="medic")
    load(w, "vehicles", csv_bytes([["身份证号", "姓名"], [head_id(4), "赵六"]]), user="police")
    actions.do_screen_county(COUNTY, actor=w.user("county"))
    township = {a.household.household_code for a in selectors.alerts_for(w.user("township"))}
    other = {a.household.household_code for a in selectors.alerts_for(w.user("other_township"))}
    assert township == {"H100201", "H100202"}
    assert other == {"HX101201", "H101202"}
    assert not selectors.alerts_for(w.user("medic")).exists()
    medic_rows = selectors.rows_for(w.user("medic"))
    assert {r.batch.source.code for r in medic_rows} == {"medical_spending"}
    assert medic_rows.count() == 7
    assert {r.batch.source.code for r in selectors.rows_for(w.user("police"))} == {"vehicles"}
    assert not selectors.rows_for(w.user("township")).exists()


def test_screening_is_county_staff_only_and_in_scope(feeds_world: World) -> None:
    with pytest.raises(Forbidden):
        actions.do_screen_county(COUNTY, actor=feeds_world.user("township"))
    with pytest.raises(DomainError):
        actions.do_screen_county("230231", actor=feeds_world.user("county"))


def test_income_below_the_monitoring_range_opens_an_edge_case(
    feeds_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decimal import Decimal

    from jingzhun.registry.actions import do_record_income

    h = feeds_world.households
    county = feeds_world.user("county")
    do_record_income(h[V1].pk, 2025, {"wage_income": 12000}, actor=county)  # 6,000 a person
    do_record_income(h[V2].pk, 2025, {"wage_income": 30000}, actor=county)  # 15,000 a person
    # the shipped table leaves 2021-2025 to the provinces: nothing is raised
    assert actions.monitoring_range("23", 2025) is None
    assert actions.do_screen_county(COUNTY, actor=county).raised == []
    # a province's value for the year: the household below it is found
    monkeypatch.setattr(
        actions,
        "monitoring_range",
        lambda province, year: Decimal("8700") if year == 2025 else None,
    )
    result = actions.do_screen_county(COUNTY, actor=county)
    assert [(r.household_code, r.rule) for r in result.raised] == [
        (h[V1].household_code, "income_below_range")
    ]
    case = Case.objects.get(household=h[V1], kind="monitoring")
    assert case.monitoring_category == "edge" and case.risk_types == ["income_drop"]


def test_the_shipped_range_of_a_province_is_read(feeds_world: World) -> None:
    from decimal import Decimal

    assert actions.monitoring_range("53", 2023) == Decimal("8050")


@pytest.mark.django_db(transaction=True)  # DuckDB reads committed rows
def test_a_batch_matched_again_in_bulk_finds_what_the_load_found(feeds_world: World) -> None:
    from jingzhun.audit.models import AuditEvent
    from jingzhun.feeds.bulk_match import do_match_batch

    batch = load(feeds_world, "medical_spending", medical_roster(), user="medic")
    before = sorted(
        FeedRow.objects.filter(batch=batch).values_list("pk", "status", "member_id", "household_id")
    )
    FeedRow.objects.filter(batch=batch, status="matched").update(
        status="unmatched", member=None, household=None, match_method=""
    )
    # the Spark engine runs the same statement (tests/test_spark_engine.py)
    result = do_match_batch(batch.pk, actor=None, engine="duckdb")
    assert (result["found"], result["matched"], result["unmatched"]) == (4, 4, 1)
    after = sorted(
        FeedRow.objects.filter(batch=batch).values_list("pk", "status", "member_id", "household_id")
    )
    assert after == before
    assert (
        AuditEvent.objects.filter(event="feeds.batch.match", object_id=str(batch.pk)).count() == 1
    )
    with pytest.raises(Forbidden):
        do_match_batch(batch.pk, actor=feeds_world.user("county"))
