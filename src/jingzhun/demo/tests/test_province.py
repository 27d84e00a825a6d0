"""The demo province (issue 25 item 3): real county codes, the one-county path per county,
province and prefecture accounts that see their counties, and the Parquet stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from jingzhun.access.scoping import scope_households
from jingzhun.core.errors import DomainError
from jingzhun.demo.province import (
    ProvinceSpec,
    county_specs,
    do_generate_demo_province,
    write_parquet,
)
from jingzhun.regions.models import Region
from jingzhun.registry.models import Household

from .conftest import PASSWORD


def test_county_specs_calibrated_first_then_real_counties() -> None:
    specs = county_specs("23", 5)
    assert [s.code for s, _f in specs] == ["230231", "230223", "230623", "230123", "230124"]
    assert [s.name for s, _f in specs][3:] == ["依兰县", "方正县"]
    assert specs[3][0].prefecture == ("230100", "哈尔滨市")
    assert specs[0][1] == 1.0 and 0.6 <= specs[3][1] <= 1.4
    assert [s.code for s, _f in county_specs("23", 2)] == ["230231", "230223"]


def test_county_specs_refusals() -> None:
    with pytest.raises(DomainError, match="没有校准的演示县"):
        county_specs("11", 2)
    with pytest.raises(DomainError, match="正整数"):
        county_specs("23", 0)
    with pytest.raises(DomainError, match="少于要求"):
        county_specs("23", 10_000)


@pytest.mark.django_db
def test_province_generated_with_accounts_that_see_their_counties() -> None:
    result = do_generate_demo_province(
        ProvinceSpec("23", counties=4, scale=0.01, seed=2, password=PASSWORD)
    )
    counties = ["230231000000", "230223000000", "230623000000", "230123000000"]
    assert [c.county_code for c in result.counties] == counties
    assert {h for h in Household.objects.values_list("county_code", flat=True).distinct()} == set(
        counties
    )
    levels = dict(
        Region.objects.filter(level__in=("province", "prefecture")).values_list("code", "name")
    )
    assert levels == {
        "230000000000": "黑龙江省",
        "230200000000": "齐齐哈尔市",
        "230600000000": "大庆市",
        "230100000000": "哈尔滨市",
    }
    assert Region.objects.get(code="230123000000").parent_id == "230100000000"
    accounts = {a.username: a for a in result.accounts}
    assert accounts["county"].scope_code == "230231000000"
    assert accounts["province"].scope_code == "230000000000"
    assert accounts["prefecture"].scope_code == "230200000000"
    from jingzhun.access.models import User

    province, prefecture = (
        User.objects.get(username="province"),
        User.objects.get(username="prefecture"),
    )
    assert province.role == prefecture.role == "auditor"  # read-only above the county
    seen = scope_households(province, Household.objects.all())
    assert seen.count() == Household.objects.count() == result.households
    by_prefecture = scope_households(prefecture, Household.objects.all())
    assert set(by_prefecture.values_list("county_code", flat=True).distinct()) == {
        "230231000000",
        "230223000000",
    }


def test_parquet_stream_partitioned_by_province_and_county(tmp_path: Path) -> None:
    import duckdb

    written = write_parquet(ProvinceSpec("23", counties=2, scale=0.01, chunk_size=97), tmp_path)
    assert written["households"] > 97  # several chunks, appended as row groups
    glob = (tmp_path / "members" / "*" / "*" / "*.parquet").as_posix()
    rows = duckdb.sql(
        f"SELECT province, county, count(*), min(birth_date) FROM read_parquet('{glob}', "
        "hive_partitioning = true, hive_types = {'province': VARCHAR, 'county': VARCHAR}) "
        "GROUP BY ALL ORDER BY county"
    ).fetchall()
    assert [(p, c) for p, c, _n, _b in rows] == [("23", "230223"), ("23", "230231")]
    assert sum(n for _p, _c, n, _b in rows) == written["members"]
    assert all(hasattr(b, "year") for *_r, b in rows)  # dates, not day numbers
    households = (tmp_path / "households" / "*" / "*" / "*.parquet").as_posix()
    counties = duckdb.sql(
        f"SELECT DISTINCT county_code FROM read_parquet('{households}') ORDER BY 1"
    ).fetchall()
    assert counties == [("230223000000",), ("230231000000",)]
    # ids run on across counties: unique in the province, and members point at their county's
    # households (a join on the ids alone gives each member one household)
    for table in ("households", "members", "status_changes", "incomes"):
        files = (tmp_path / table / "*" / "*" / "*.parquet").as_posix()
        n, distinct = duckdb.sql(
            f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{files}')"
        ).fetchone()
        assert n == distinct == written[table], table
    members = (tmp_path / "members" / "*" / "*" / "*.parquet").as_posix()
    crossed = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{members}', hive_partitioning = true) m "
        f"JOIN read_parquet('{households}', hive_partitioning = true) h "
        "ON h.id = m.household_id WHERE h.county <> m.county"
    ).fetchone()
    assert crossed == (0,)
