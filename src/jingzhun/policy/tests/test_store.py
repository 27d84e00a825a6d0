"""Policy files as data: every shipped file validates; hashes, lookups and version choice."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from jingzhun.policy.schema import (
    FeedCatalogueFile,
    LayerRulesFile,
    MeasureCatalogueFile,
    PointsRulesFile,
    StandardFile,
    TableFile,
)
from jingzhun.policy.store import (
    SEPARATE_FOLDERS,
    PolicyError,
    PolicyStore,
    default_root,
    load_file,
)

ROOT = default_root()
# policies/indicators holds indicator definitions (their own schema, analytics.indicators), and
# policies/scoring assessment schemes (scoring.scheme, tested in scoring/tests)
SHIPPED = sorted(
    p for p in ROOT.rglob("*.yaml") if p.relative_to(ROOT).parts[0] not in SEPARATE_FOLDERS
)
NATIONAL_EXIT = ["income", "food", "clothing", "education", "medical", "housing", "water"]
GANSU_BLOCKERS = [
    "blocker_unsafe_house",
    "blocker_dropout",
    "blocker_serious_illness",
    "blocker_transfer_only",
]


@pytest.fixture(scope="module")
def store() -> PolicyStore:
    return PolicyStore.load(ROOT)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the shipped policies/ to change."""
    dest = tmp_path / "policies"
    shutil.copytree(ROOT, dest)
    return dest


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MINIMAL_STANDARD = """\
    schema: jingzhun.policy/v1
    kind: standard
    id: household_exit
    version: "2099-01-01"
    title: 测试标准
    jurisdiction: national
    effective_from: 2099-01-01
    sources:
      s1: {title: 测试文件, issuer: 测试机关, label: official}
    criteria:
      - id: food
        label: 不愁吃
        source: s1
        holds: food_secure == true
        explain: 不愁吃：{food_secure}
    """


# ----------------------------------------------------------------------------- shipped files


def test_the_expected_files_are_shipped() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in SHIPPED}
    assert {
        "tables/poverty_line.yaml",
        "tables/monitoring_range.yaml",
        "tables/helper_quotas.yaml",
        "standards/household_exit/national-2016-04-28.yaml",
        "standards/household_exit/62-gansu-2016-04-28.yaml",
        "standards/village_exit/national-2016-04-28.yaml",
        "standards/county_exit/national-2016-04-28.yaml",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shipped_file_loads_and_validates(path: Path) -> None:
    loaded = load_file(path)
    assert len(loaded.hash) == 64
    assert loaded.doc.sources


def test_the_store_loads_all_files(store: PolicyStore) -> None:
    assert len(store.list_files()) == len(SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_value_lacks_a_source(path: Path) -> None:
    # given a shipped file
    doc = load_file(path).doc
    # then every value names a declared source that carries a label, title and issuer
    used: list[str] = []
    if isinstance(doc, TableFile):
        used = [row.source for row in doc.rows]
        for row in doc.rows:
            assert row.value is not None or row.formula or row.configurable
    elif isinstance(doc, MeasureCatalogueFile):
        used = [d.source for d in doc.departments.values()]
        used += [k.source for k in doc.kinds] + [r.source for r in doc.rules]
    elif isinstance(doc, FeedCatalogueFile):
        used = [d.source for d in doc.departments.values()]
        used += [f.source for f in doc.feeds] + [r.source for r in doc.rules]
    elif isinstance(doc, LayerRulesFile):
        used = [layer.source for layer in doc.layers]
    elif isinstance(doc, PointsRulesFile):
        used = [doc.rules_source] + [i.source for i in doc.items]
        used += [c.source for c in doc.star_criteria]
    else:
        assert isinstance(doc, StandardFile)
        used = [p.source for p in doc.parameters.values()]
        used += [v.source for v in doc.variables.values()]
        used += [f.source for f in doc.formulas.values()]
        used += [c.source for c in doc.criteria]
        assert all(c.holds.strip() and c.explain.strip() for c in doc.criteria)
    assert used
    for key in used:
        source = doc.sources[key]
        assert source.label in ("official", "press", "secondary", "reports", "unsourced")
        assert source.title and source.issuer


def test_unsourced_values_are_configurable(store: PolicyStore) -> None:
    for f in store.tables():
        assert isinstance(f.doc, TableFile)
        for row in f.doc.rows:
            if f.doc.sources[row.source].label == "unsourced":
                assert row.configurable, (f.path, row.key)


# ----------------------------------------------------------------------------- content hash


def test_content_hash_is_stable_under_formatting(tree: Path) -> None:
    # given a file re-serialised with other key order and layout
    path = tree / "tables/poverty_line.yaml"
    before = load_file(path).hash
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # effective dates would become date objects through safe_load; keep them as text
    data["effective_from"] = "2011-01-01"
    data["effective_to"] = "2020-12-31"
    path.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=True),
        encoding="utf-8",
    )
    # when it is loaded again, then the hash is the same
    assert load_file(path).hash == before
    assert load_file(path).hash == load_file(ROOT / "tables/poverty_line.yaml").hash


def test_content_hash_changes_when_a_value_changes(tree: Path) -> None:
    path = tree / "tables/poverty_line.yaml"
    before = load_file(path).hash
    text = path.read_text(encoding="utf-8")
    assert "value: 3218" in text
    path.write_text(text.replace("value: 3218", "value: 3219"), encoding="utf-8")
    after = load_file(path)
    assert after.hash != before
    assert PolicyStore.load(tree).poverty_line(2019).value == Decimal("3219")  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- table lookups


@pytest.mark.parametrize(
    ("year", "value", "label"),
    [
        (2011, "2536", "official"),
        (2016, "2952", "official"),
        (2017, "2952", "unsourced"),
        (2018, "2995", "unsourced"),
        (2019, "3218", "secondary"),
        (2020, "4000", "press"),
    ],
)
def test_national_poverty_line_by_year(
    store: PolicyStore, year: int, value: str, label: str
) -> None:
    found = store.poverty_line(year)
    assert found is not None
    assert found.value == Decimal(value)
    assert found.source.label == label


def test_national_line_applies_in_any_province(store: PolicyStore) -> None:
    found = store.poverty_line(2019, identification_standard="national", province="23")
    assert found is not None and found.value == Decimal("3218")


def test_provincial_standard_lookup(store: PolicyStore) -> None:
    # at 2010 prices the provincial lines are sourced values
    shandong = store.poverty_line(
        2016, identification_standard="provincial", province="37", price_basis="2010"
    )
    shaanxi = store.poverty_line(
        2016, identification_standard="provincial", province="61", price_basis="2010"
    )
    assert shandong is not None and shandong.value == Decimal("3000")
    assert shaanxi is not None and shaanxi.value == Decimal("2500")
    assert shandong.source.label == "secondary"
    # at current prices the conversion is a provincial parameter: configurable, unsourced
    current = store.poverty_line(2016, identification_standard="provincial", province="37")
    assert current is not None
    assert current.value is None and current.configurable and current.formula
    assert current.source.label == "unsourced"
    # a province without a provincial line has none
    assert store.poverty_line(2016, identification_standard="provincial", province="23") is None


def test_poverty_line_outside_its_years_is_refused(store: PolicyStore) -> None:
    with pytest.raises(PolicyError, match="poverty_line"):
        store.poverty_line(2025)


def test_monitoring_range_lookup(store: PolicyStore) -> None:
    yunnan = store.lookup("monitoring_range", year=2023, province="53")
    assert yunnan is not None and yunnan.value == Decimal("8050")
    assert yunnan.source.label == "official"
    other = store.lookup("monitoring_range", year=2023, province="23")
    assert other is not None and other.value is None and other.configurable
    assert other.source.label == "unsourced"
    rule_2020 = store.lookup("monitoring_range", year=2020)
    assert rule_2020 is not None and rule_2020.formula == "1.5 * poverty_line"


def test_helper_quotas_lookup(store: PolicyStore) -> None:
    leader = store.lookup("helper_quotas", county="230231", helper_kind="county_leader")
    cadre = store.lookup("helper_quotas", county="230231", helper_kind="other_cadre")
    assert leader is not None and leader.value == Decimal("8")
    assert cadre is not None and cadre.value == Decimal("6")
    assert leader.source.label == "reports"


def test_lookup_with_an_undeclared_key_is_refused(store: PolicyStore) -> None:
    with pytest.raises(PolicyError, match="没有这些键"):
        store.lookup("poverty_line", county="230231")


# ----------------------------------------------------------------------------- version choice


def test_gansu_gets_the_national_criteria_plus_its_blockers(store: PolicyStore) -> None:
    resolved = store.standard_for_year("household_exit", year=2018, province="62")
    assert resolved.criterion_ids == NATIONAL_EXIT + GANSU_BLOCKERS
    assert [f.doc.jurisdiction for f in resolved.files] == ["national", "62"]
    blockers = [c for c in resolved.criteria if c.kind == "blocker"]
    assert [c.id for c in blockers] == GANSU_BLOCKERS
    assert all(resolved.sources[c.source].label == "secondary" for c in blockers)
    assert "poverty_line" in resolved.parameters  # inherited from the national file


def test_heilongjiang_gets_the_national_standard(store: PolicyStore) -> None:
    resolved = store.standard_for_year("household_exit", year=2018, province="23")
    assert resolved.criterion_ids == NATIONAL_EXIT
    assert [f.doc.jurisdiction for f in resolved.files] == ["national"]
    gansu = store.standard_for_year("household_exit", year=2018, province="62")
    assert resolved.hash != gansu.hash


def test_national_parameters_have_the_documented_defaults(store: PolicyStore) -> None:
    params = store.standard_for_year("household_exit", year=2018).parameters
    assert params["school_age"].fields == {"min": 6, "max": 15, "reference": "08-31"}
    assert params["income_margin"].value == 0
    assert params["require_previous_year"].value is False
    assert params["require_critical_illness"].value is False
    assert params["poverty_line"].table == "poverty_line"
    assert params["counted_transfer_items"].value == [
        "ecological_compensation",
        "dibao_payment",
        "tekun_payment",
        "pension_payment",
        "family_planning_payment",
        "other_transfer",
    ]


def test_no_standard_before_its_date_of_effect(store: PolicyStore) -> None:
    with pytest.raises(PolicyError, match="household_exit"):
        store.standard("household_exit", on=date(2016, 4, 27), province="62")


def test_a_newer_national_version_is_chosen_from_its_date(tree: Path) -> None:
    # given a newer national file next to the old one (old ones are kept)
    _write(tree / "standards/household_exit/national-2099-01-01.yaml", MINIMAL_STANDARD)
    store = PolicyStore.load(tree)
    # then each date gets the version in effect on it
    old = store.standard("household_exit", on=date(2018, 6, 1), province="23")
    new = store.standard("household_exit", on=date(2099, 6, 1), province="23")
    assert old.criterion_ids == NATIONAL_EXIT
    assert new.criterion_ids == ["food"]
    assert new.files[0].doc.version == "2099-01-01"


def test_a_provincial_criterion_with_a_national_id_overrides_it(tree: Path) -> None:
    path = tree / "standards/household_exit/62-gansu-2016-04-28.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "criteria:\n",
        "criteria:\n  - id: food\n    label: 甘肃不愁吃\n    source: gansu_ten_no_exit\n"
        "    holds: food_secure == true\n    explain: 甘肃口径\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    resolved = PolicyStore.load(tree).standard_for_year("household_exit", year=2018, province="62")
    assert resolved.criterion_ids == NATIONAL_EXIT + GANSU_BLOCKERS
    food = next(c for c in resolved.criteria if c.id == "food")
    assert food.label == "甘肃不愁吃"


# ----------------------------------------------------------------------------- invalid files


def _error_for(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(PolicyError) as info:
        load_file(path, name="standards/bad.yaml")
    return info.value.message


def test_the_minimal_file_is_valid(tmp_path: Path) -> None:
    # the baseline the invalid cases below change one thing in
    path = _write(tmp_path / "ok.yaml", MINIMAL_STANDARD)
    assert load_file(path).doc.id == "household_exit"


def test_missing_source_label(tmp_path: Path) -> None:
    message = _error_for(tmp_path, MINIMAL_STANDARD.replace(", label: official", ""))
    assert message.startswith("策略文件 standards/bad.yaml 无效：")
    assert "sources.s1.label：缺少必填项" in message


def test_unknown_source_label(tmp_path: Path) -> None:
    message = _error_for(tmp_path, MINIMAL_STANDARD.replace("label: official", "label: rumour"))
    assert "standards/bad.yaml" in message and "sources.s1.label" in message


def test_unknown_key(tmp_path: Path) -> None:
    message = _error_for(
        tmp_path,
        MINIMAL_STANDARD.replace("        source: s1\n", "        source: s1\n        weight: 2\n"),
    )
    assert "策略文件 standards/bad.yaml 无效" in message
    assert "criteria[0].weight：不允许的键" in message


def test_bad_date(tmp_path: Path) -> None:
    message = _error_for(tmp_path, MINIMAL_STANDARD.replace("2099-01-01\n", "2099-13-01\n"))
    assert "effective_from：日期无效" in message


def test_criterion_without_holds(tmp_path: Path) -> None:
    message = _error_for(
        tmp_path, MINIMAL_STANDARD.replace("        holds: food_secure == true\n", "")
    )
    assert "criteria[0].holds：缺少必填项" in message


def test_criterion_with_an_undeclared_source(tmp_path: Path) -> None:
    message = _error_for(
        tmp_path, MINIMAL_STANDARD.replace("        source: s1\n", "        source: s9\n")
    )
    assert "criteria[0]" in message and "s9" in message and "未在 sources 中声明" in message


def test_wrong_schema(tmp_path: Path) -> None:
    message = _error_for(tmp_path, MINIMAL_STANDARD.replace("policy/v1", "policy/v0"))
    assert "schema：应为 jingzhun.policy/v1" in message


def test_table_row_without_a_value_must_be_configurable(tmp_path: Path) -> None:
    message = _error_for(
        tmp_path,
        """\
        schema: jingzhun.policy/v1
        kind: table
        id: t
        version: "1"
        title: 表
        jurisdiction: national
        effective_from: 2020-01-01
        unit: 元
        keys: [year]
        sources:
          s1: {title: 文件, issuer: 机关, label: unsourced}
        rows:
          - {key: {year: 2020}, source: s1}
        """,
    )
    assert "rows[0]" in message and "configurable" in message


def test_an_invalid_file_makes_the_whole_store_refuse(tree: Path) -> None:
    _write(tree / "standards/household_exit/broken.yaml", MINIMAL_STANDARD.replace("holds", "hold"))
    with pytest.raises(PolicyError, match=r"standards/household_exit/broken\.yaml"):
        PolicyStore.load(tree)


def test_two_files_with_the_same_identity_are_refused(tree: Path) -> None:
    _write(tree / "standards/household_exit/a.yaml", MINIMAL_STANDARD)
    _write(tree / "standards/household_exit/b.yaml", MINIMAL_STANDARD)
    with pytest.raises(PolicyError, match="版本相同"):
        PolicyStore.load(tree)


# ----------------------------------------------------------------------------- command


def test_policy_list_command() -> None:
    out = StringIO()
    call_command("policy", "list", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(SHIPPED)
    gansu = next(line for line in lines if "甘肃" in line)
    assert gansu.split()[:3] == ["household_exit", "2016-04-28", "62"]
    assert load_file(ROOT / "standards/household_exit/62-gansu-2016-04-28.yaml").hash[:12] in gansu


def test_an_unparsable_expression_is_refused(tmp_path: Path) -> None:
    message = _error_for(
        tmp_path, MINIMAL_STANDARD.replace("food_secure == true", "food_secure ==")
    )
    assert "criteria[0].holds：表达式无法解析" in message
