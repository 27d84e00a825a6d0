from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from jingzhun.audit.models import AuditEvent
from jingzhun.regions.models import Region, RegionPopulation

GOOD = """统计用区划代码,名称,贫困村,深度贫困,农村人口,年度
230000000000,黑龙江省,,,,
230200000000,齐齐哈尔市,,,,
230231000000,拜泉县,,,,
230231100000,拜泉镇,,,,
230231100201,永丰村,是,否,1200,2019
230231100202,兴华村,否,否,900,2019
"""


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "regions.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.django_db
def test_load_builds_the_tree_with_levels_parents_and_flags(tmp_path: Path) -> None:
    call_command("regions", "load", str(write(tmp_path, GOOD)))
    village = Region.objects.get(code="230231100201")
    assert village.level == "village"
    assert village.parent_id == "230231100000"
    assert village.is_poor_village and not village.is_deep_poverty
    assert Region.objects.get(code="230231000000").parent_id == "230200000000"
    assert not Region.objects.get(code="230231000000").is_western
    assert RegionPopulation.objects.get(region_id="230231100202", year=2019).rural_population == 900
    assert AuditEvent.objects.filter(event="regions.load").count() == 1


@pytest.mark.django_db
def test_gbk_file_with_english_headers_loads(tmp_path: Path) -> None:
    text = "code,name,is_deep_poverty\n150000000000,内蒙古自治区,\n150500000000,通辽市,\n150522000000,科尔沁左翼后旗,\n"
    call_command("regions", "load", str(write(tmp_path, text, "gbk")))
    assert Region.objects.get(code="150522000000").name == "科尔沁左翼后旗"
    assert Region.objects.get(code="150522000000").is_western


@pytest.mark.django_db
def test_bad_rows_are_reported_and_nothing_is_loaded(tmp_path: Path) -> None:
    bad = (
        GOOD
        + "2302311002,坏代码,,,,\n230231101201,无上级村,,,,\n230231100203,,,,,\n230231100000,乡镇不能是贫困村,是,,,\n"
    )
    err = __import__("io").StringIO()
    with pytest.raises(CommandError, match="5 处错误"):
        call_command("regions", "load", str(write(tmp_path, bad)), stderr=err)
    report = err.getvalue()
    assert "第 8 行" in report and "12 位数字" in report
    assert "第 9 行" in report and "230231101000" in report
    assert "第 10 行" in report and "名称不能为空" in report
    assert "第 11 行" in report and "只有村级区划" in report and "与第 5 行重复" in report
    assert Region.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_missing_code_column_is_a_clear_error(tmp_path: Path) -> None:
    err = __import__("io").StringIO()
    with pytest.raises(CommandError):
        call_command("regions", "load", str(write(tmp_path, "名称\n拜泉县\n")), stderr=err)
    assert "缺少必需的列：区划代码" in err.getvalue()


@pytest.mark.django_db
def test_reloading_updates_in_place(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    call_command("regions", "load", str(path))
    path.write_text(GOOD.replace("永丰村,是", "永丰新村,否"), encoding="utf-8")
    call_command("regions", "load", str(path))
    village = Region.objects.get(code="230231100201")
    assert village.name == "永丰新村" and not village.is_poor_village
    assert Region.objects.count() == 6
