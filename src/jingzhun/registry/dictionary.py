"""The data dictionary (issue 19 item 1): every household, member and income field, once.

Pure Python (no Django: an import-linter contract keeps it so), so that the policy engine, the
indicators and the importer can read it as well as the Django side. Each `Field` says what a
field is (key, record, Chinese and English label, kind, unit, code table, limits, validation
rule), how forms name it (header synonyms and code spellings the importer accepts), whether it is
required on import, sensitive (masked wherever it leaves the database), editable by people
(the household and member edit pages and the API's PATCH; the others are set by workflows or
derived), and where it appears (`appears`: the surfaces below).

Everything that lists fields derives from here: import header matching and code spellings
(imports.fields), the import template, the roster, card and facts exports (registry.facts), the
API's schemas and answers, the web's edit forms and household card, the indicator inputs
(analytics.indicators / compute) and the rule language's member variables (policy.interpreter).
`tests/test_dictionary.py` proves every consumer covers it and the models agree with it.

Recipe (AGENTS.md "Add a registry field"): the model field, a migration, then one `Field` here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

from . import choices as c
from .contact import bank_account_problem, phone_problem
from .idcard import check as check_id

RECORDS: Final = ("household", "member", "income")
KINDS: Final = frozenset(
    {
        "text",  # free text (max_length)
        "identifier",  # digits kept as text: codes, ID numbers, phone and account numbers
        "code",  # one code of `table`
        "codes",  # a list of codes of `table` (at most `most`)
        "boolean",
        "integer",
        "year",  # an income year (registry.models.income_year_problem)
        "decimal",  # areas and distances: max_digits/decimal_places, >= 0
        "money",  # yuan with fen: Decimal(12, 2), >= 0
        "date",
    }
)
SURFACES: Final = frozenset(
    {
        "import",  # header matching (imports.fields); derived fields are recognised, not read
        "template",  # the import template's columns (imports.template)
        "roster",  # the roster export (exports.roster)
        "card",  # the household card export (exports.card)
        "facts",  # household facts (registry.facts, exports.facts)
        "api",  # the API's answers (api.schemas HouseholdDetail, MemberOut, IncomeOut)
        "form",  # the web's edit forms (household, member, income)
        "detail",  # the web's household card (web.views.household_detail)
        "indicator",  # indicator conditions (analytics.indicators, compute.RAW_TABLES)
        "policy",  # the rule language's member variables / facts the rules read
    }
)
SECTIONS: Final = ("basic", "conditions", "monitoring")  # household fields on the cards


def _region_code_problem(text: str) -> str:
    return "" if re.fullmatch(r"\d{12}", text) else "应为 12 位统计用区划代码"


def _id_number_problem(text: str) -> str:
    result = check_id(text)
    return "" if result.valid else str(result.error)


# Named validation rules: value (as text) -> Chinese reason, "" when valid. Pure Python.
RULES: Final[Mapping[str, Callable[[str], str]]] = MappingProxyType(
    {
        "id_number": _id_number_problem,  # registry.idcard (GB 11643 check digit, birth date)
        "phone": phone_problem,  # registry.contact
        "bank_account": bank_account_problem,  # registry.contact (Luhn for card numbers)
        "region_code": _region_code_problem,
    }
)


@dataclass(frozen=True)
class Field:
    """One field of the registry (or a value derived from it that forms carry)."""

    key: str
    record: str  # household | member | income
    label: str  # Chinese: the model's verbose_name, the import template's header
    label_en: str  # the English label (en locale)
    kind: str
    appears: frozenset[str]
    synonyms: tuple[str, ...] = ()  # further header labels seen on forms
    unit: str = ""
    table: Mapping[str, str] | None = None  # code table (registry.choices)
    spellings: Mapping[str, str] = field(default_factory=dict)  # more spellings -> code
    most: int | None = None  # for a list of codes
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    low: int | None = None  # integer range (inclusive)
    high: int | None = None
    rule: str = ""  # a key of RULES
    required: bool = False  # on import: a row without it is refused
    sensitive: bool = False  # masked wherever it leaves the database (registry.masking)
    editable: bool = False  # by people: edit pages and the API's PATCH (else workflows own it)
    stored: bool = True  # a column of the record's model (else derived or import-only)
    derived: bool = False  # computed, never typed: recognised on import, not read
    section: str = ""  # household fields: basic / conditions / monitoring (cards)
    part_of: str = ""  # an income item counted inside another (transfer items)
    net: str = ""  # income: "add" or "sub" in the net income, "" not counted
    note: str = ""  # what the import template says beyond the label

    def shows_on(self, surface: str) -> bool:
        return surface in self.appears

    def problem(self, value: Any) -> str:
        """Why `value` (already of the field's type, or text) breaks the field's rules; ""
        when it does not. Empty values are the caller's concern (`required`)."""
        if value in (None, ""):
            return ""
        if self.rule:
            return RULES[self.rule](str(value))
        if self.kind in ("code", "codes"):
            assert self.table is not None
            codes = value if self.kind == "codes" else [value]
            unknown = [str(v) for v in codes if v not in self.table]
            if unknown:
                return f"“{'、'.join(unknown)}”不是有效的{self.label}代码"
            if self.most is not None and len(codes) > self.most:
                return f"{self.label}最多 {self.most} 项"
            return ""
        if self.kind in ("integer", "year", "decimal", "money"):
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                return "应为数字"
            if number < 0:
                return "不能为负数"
            if self.low is not None and number < self.low:
                return f"{self.label}应在 {self.low}–{self.high} 之间"
            if self.high is not None and number > self.high:
                return f"{self.label}应在 {self.low}–{self.high} 之间"
            return ""
        if self.kind in ("text", "identifier") and len(str(value)) > (self.max_length or 10**9):
            return f"内容过长：最多 {self.max_length} 个字"
        return ""


def _set(*names: str) -> frozenset[str]:
    unknown = set(names) - SURFACES
    assert not unknown, unknown
    return frozenset(names)


# Most household and member fields appear on these surfaces; each field adds or removes some.
_ALL = ("import", "template", "roster", "card", "facts", "api", "policy")
_ON: Final = _set(*_ALL)


def _on(*extra: str, without: Iterable[str] = ()) -> frozenset[str]:
    return (_ON | _set(*extra)) - frozenset(without)


def _cause_spellings() -> dict[str, str]:
    # "因病" also as "因病致贫"
    return {label + "致贫": code for code, label in c.CAUSE.items()}


# 户类型 / 是否建档立卡 (issue 19): read on import, never stored as such (it sets the status).
HOUSEHOLD_TYPE: Final = {"registered": "建档立卡户", "ordinary": "一般农户"}

_H: Final = "household"
_M: Final = "member"
_I: Final = "income"


FIELDS_LIST: Final[tuple[Field, ...]] = (
    # --- household (domain.md 2.2) ----------------------------------------------------------
    Field(
        "household_code", _H, "户编号", "Household code", "identifier",
        _set("import", "template", "roster", "card", "facts", "api", "detail", "policy"),
        synonyms=("户编号", "户编码", "户号", "家庭编号", "贫困户编号", "户代码"),
        max_length=32, required=True, section="basic",
        note="每户唯一；已登记的户按户编号更新，新的户编号新增一户",
    ),
    Field(
        "village", _H, "村级区划代码", "Village code", "identifier",
        _set("import", "template", "roster", "card", "facts", "api", "detail", "policy"),
        synonyms=("所属村", "村级区划代码", "村区划代码", "行政村代码", "行政区划代码", "区划代码",
                  "村代码", "统计用区划代码"),
        max_length=12, rule="region_code", required=True, editable=True, section="basic",
        note="该户所在村的区划代码，须在本人管理范围内",
    ),
    Field(
        "group_name", _H, "村民小组", "Villager group", "text", _on("form", "detail"),
        synonyms=("村民小组", "组", "所在组", "小组", "自然村(组)"),
        max_length=50, editable=True, section="basic",
    ),
    Field(
        "head_name", _H, "户主姓名", "Head of household", "text",
        _set("import", "roster", "card", "facts", "api", "detail", "policy"),
        synonyms=("户主姓名", "户主"), max_length=50, derived=True, section="basic",
    ),
    Field(
        "phone", _H, "联系电话", "Phone", "identifier",
        _on("form", "detail", without=("facts", "policy")),
        synonyms=("联系电话", "电话", "手机号", "手机号码", "联系方式"),
        max_length=20, rule="phone", sensitive=True, editable=True, section="basic",
    ),
    Field(
        "bank_name", _H, "开户银行", "Bank", "text",
        _on("form", "detail", without=("facts", "policy")),
        synonyms=("开户银行", "开户行"), max_length=50, editable=True, section="basic",
    ),
    Field(
        "bank_account", _H, "银行账号", "Bank account", "identifier",
        _on("form", "detail", without=("facts", "policy")),
        synonyms=("银行账号", "银行卡号", "开户账号", "一卡通账号", "存折账号"),
        max_length=32, rule="bank_account", sensitive=True, editable=True, section="basic",
    ),
    Field(
        "identification_standard", _H, "识别标准", "Identification standard", "code",
        _on("detail", "indicator"), synonyms=("识别标准",), table=c.IDENTIFICATION_STANDARD,
        max_length=12, section="basic",
    ),
    Field(
        "attribute", _H, "贫困户属性", "Household type", "code", _on("form", "detail", "indicator"),
        synonyms=("贫困户属性", "户属性", "贫困属性"), table=c.ATTRIBUTE,
        spellings={**c.ATTRIBUTE_SYNONYMS, "一般户": "general", "低保": "dibao", "特困": "tekun"},
        max_length=12, editable=True, section="basic",
    ),
    Field(
        "main_cause", _H, "主要致贫原因", "Main cause of poverty", "code",
        _on("form", "detail", "indicator"), synonyms=("主要致贫原因", "致贫原因", "主要致贫"),
        table=c.CAUSE, spellings=_cause_spellings(), max_length=20, editable=True,
        section="basic",
    ),
    Field(
        "other_causes", _H, "其他致贫原因", "Other causes of poverty", "codes",
        _on("form", "detail"), synonyms=("其他致贫原因", "次要致贫原因"), table=c.CAUSE,
        spellings=_cause_spellings(), most=2, editable=True, section="basic",
    ),
    Field(
        "poverty_status", _H, "脱贫状态", "Poverty status", "code", _on("detail"),
        synonyms=("脱贫状态", "贫困户状态", "脱贫标志", "状态"), table=c.POVERTY_STATUS,
        spellings={
            # The national system's numeric export codes (domain.md 7).
            "0": "not_exited",
            "1": "exited_with_policy",
            "3": "returned",
            "4": "exited_no_policy",
            "已脱贫（享受政策）": "exited_with_policy",
            "已脱贫（不再享受政策）": "exited_no_policy",
            "未建档立卡": "not_registered",
            "一般农户": "not_registered",
        },
        max_length=20, section="basic",
    ),
    Field(
        "household_type", _H, "户类型", "Registered or ordinary", "code",
        _set("import", "template"),
        synonyms=("户类型", "农户类型", "是否建档立卡", "是否建档立卡户", "是否贫困户"),
        table=HOUSEHOLD_TYPE,
        # "监测户" says nothing about registration (a monitored household may be either).
        spellings={
            "是": "registered",
            "否": "ordinary",
            "贫困户": "registered",
            "建档立卡贫困户": "registered",
            "脱贫户": "registered",
            "已脱贫户": "registered",
            "未脱贫户": "registered",
            "返贫户": "registered",
            "脱贫不稳定户": "registered",
            "未建档立卡": "ordinary",
            "非建档立卡户": "ordinary",
            "非贫困户": "ordinary",
            "未建档立卡户": "ordinary",
            "边缘易致贫户": "ordinary",
        },
        stored=False, note="建档立卡户或一般农户（未建档立卡），与“脱贫状态”须一致；可不填",
    ),
    Field(
        "identified_year", _H, "识别年度", "Year identified", "integer",
        _on("detail", "indicator"), synonyms=("识别年度", "识别年份", "纳入年度", "建档立卡年度"),
        unit="年", low=1949, high=2100, section="basic",
    ),
    Field(
        "exit_year", _H, "脱贫年度", "Year exited", "integer", _on("detail", "indicator"),
        synonyms=("脱贫年度", "脱贫年份", "计划脱贫年度"), unit="年", low=1949, high=2100,
        section="basic",
    ),
    Field(
        "food_secure", _H, "不愁吃", "Enough food", "boolean", _on("form", "detail", "indicator"),
        synonyms=("不愁吃", "是否不愁吃"), editable=True, section="conditions",
    ),
    Field(
        "clothing_secure", _H, "不愁穿", "Enough clothing", "boolean",
        _on("form", "detail", "indicator"), synonyms=("不愁穿", "是否不愁穿"), editable=True,
        section="conditions",
    ),
    Field(
        "house_safety_grade", _H, "住房安全等级", "Housing safety grade", "code",
        _on("form", "detail", "indicator"),
        synonyms=("住房安全等级", "危房等级", "住房等级", "房屋安全等级"), table=c.HOUSE_GRADE,
        spellings={"a": "A", "b": "B", "c": "C", "d": "D"}, max_length=1, editable=True,
        section="conditions",
    ),
    Field(
        "relocated", _H, "易地扶贫搬迁", "Relocated", "boolean", _on("form", "detail", "indicator"),
        synonyms=("易地扶贫搬迁", "是否易地扶贫搬迁", "易地搬迁户"), editable=True,
        section="conditions",
    ),
    Field(
        "relocation_moved_in", _H, "搬迁已入住", "Moved into the new home", "boolean",
        _on("form", "detail", "indicator"), synonyms=("搬迁已入住", "是否已入住"), editable=True,
        section="conditions",
    ),
    Field(
        "house_area_m2", _H, "住房面积(平方米)", "Floor area (m²)", "decimal", _on("form", "detail"),
        synonyms=("住房面积", "住房面积(㎡)", "住房面积(平方米)"), unit="平方米", max_digits=10, decimal_places=2,
        editable=True, section="conditions",
    ),
    Field(
        "house_structure", _H, "住房结构", "House structure", "code", _on("form", "detail"),
        synonyms=("住房结构", "房屋结构"), table=c.HOUSE_STRUCTURE, max_length=16, editable=True,
        section="conditions",
    ),
    Field(
        "water_quantity_ok", _H, "水量达标", "Water quantity adequate", "boolean",
        _on("form", "detail", "indicator"), synonyms=("水量", "水量达标"), editable=True,
        section="conditions",
    ),
    Field(
        "water_quality_ok", _H, "水质达标", "Water quality adequate", "boolean",
        _on("form", "detail", "indicator"), synonyms=("水质", "水质达标"), editable=True,
        section="conditions",
    ),
    Field(
        "water_convenience_ok", _H, "用水方便程度达标", "Water access convenient", "boolean",
        _on("form", "detail", "indicator"), synonyms=("用水方便程度", "用水方便"), editable=True,
        section="conditions",
    ),
    Field(
        "water_reliability_ok", _H, "供水保证率达标", "Water supply reliable", "boolean",
        _on("form", "detail", "indicator"), synonyms=("供水保证率",), editable=True,
        section="conditions",
    ),
    Field(
        "cultivated_land_mu", _H, "耕地面积(亩)", "Cultivated land (mu)", "decimal",
        _on("form", "detail"), synonyms=("耕地面积", "耕地面积(亩)", "耕地"), unit="亩", max_digits=10, decimal_places=2,
        editable=True, section="conditions",
    ),
    Field(
        "irrigated_land_mu", _H, "有效灌溉面积(亩)", "Irrigated land (mu)", "decimal",
        _on("form", "detail"), synonyms=("有效灌溉面积", "有效灌溉面积(亩)"), unit="亩", max_digits=10, decimal_places=2,
        editable=True, section="conditions",
    ),
    Field(
        "forest_land_mu", _H, "林地面积(亩)", "Forest land (mu)", "decimal", _on("form", "detail"),
        synonyms=("林地面积", "林地面积(亩)", "林地"), unit="亩", max_digits=10, decimal_places=2, editable=True,
        section="conditions",
    ),
    Field(
        "grassland_mu", _H, "牧草地面积(亩)", "Grassland (mu)", "decimal", _on("form", "detail"),
        synonyms=("牧草地面积", "牧草地面积(亩)", "牧草地"), unit="亩", max_digits=10, decimal_places=2, editable=True,
        section="conditions",
    ),
    Field(
        "water_surface_mu", _H, "水面面积(亩)", "Water surface (mu)", "decimal",
        _on("form", "detail"), synonyms=("水面面积", "水面面积(亩)"), unit="亩", max_digits=10, decimal_places=2,
        editable=True, section="conditions",
    ),
    Field(
        "has_production_power", _H, "通生产用电", "Power for production", "boolean",
        _on("form", "detail"), synonyms=("生产用电", "是否通生产用电"), editable=True,
        section="conditions",
    ),
    Field(
        "has_living_power", _H, "通生活用电", "Power for living", "boolean", _on("form", "detail"),
        synonyms=("生活用电", "是否通生活用电"), editable=True, section="conditions",
    ),
    Field(
        "road_type", _H, "入户路类型", "Access road", "code", _on("form", "detail"),
        synonyms=("入户路类型", "入户路"), table=c.ROAD_TYPE, max_length=12, editable=True,
        section="conditions",
    ),
    Field(
        "distance_to_main_road_km", _H, "与村主干路距离(公里)",
        "Distance to the village main road (km)", "decimal", _on("form", "detail"),
        synonyms=("与村主干路距离", "与村主干路距离(公里)", "距村主干路距离"), unit="公里",
        max_digits=10, decimal_places=2, editable=True, section="conditions",
    ),
    Field(
        "sanitary_toilet", _H, "卫生厕所", "Sanitary toilet", "boolean",
        _on("form", "detail", "indicator"), synonyms=("卫生厕所", "有无卫生厕所", "是否有卫生厕所"),
        editable=True, section="conditions",
    ),
    Field(
        "fuel_type", _H, "主要燃料类型", "Main fuel", "code", _on("form", "detail"),
        synonyms=("主要燃料", "主要燃料类型", "燃料类型"), table=c.FUEL_TYPE, max_length=12,
        editable=True, section="conditions",
    ),
    Field(
        "in_cooperative", _H, "加入农民专业合作社", "Member of a farmers' cooperative", "boolean",
        _on("form", "detail"),
        synonyms=("加入农民专业合作社", "是否加入农民专业合作社", "加入合作社"), editable=True,
        section="conditions",
    ),
    Field(
        "monitoring_category", _H, "监测类别", "Monitoring category", "code",
        _on("detail", "indicator"), synonyms=("监测类别", "监测对象类别", "监测对象类型"),
        table=c.MONITORING_CATEGORY, max_length=20, section="monitoring",
    ),
    Field(
        "risk_types", _H, "风险类型", "Risk types", "codes", _on("detail"),
        synonyms=("风险类型", "返贫致贫风险"), table=c.RISK_TYPE, most=len(c.RISK_TYPE),
        section="monitoring",
    ),
    Field(
        "risk_status", _H, "风险状态", "Risk status", "code", _on("detail", "indicator"),
        synonyms=("风险状态", "风险是否消除"), table=c.RISK_STATUS, max_length=16,
        section="monitoring",
    ),
    Field(
        "risk_eliminated_on", _H, "风险消除时间", "Risk eliminated on", "date", _on("detail"),
        synonyms=("风险消除时间", "风险消除日期"), section="monitoring",
    ),
    Field(
        "elimination_method", _H, "消除方式", "Elimination method", "code", _on("detail"),
        synonyms=("消除方式", "风险消除方式"), table=c.ELIMINATION_METHOD, max_length=16,
        section="monitoring",
    ),
    # Derived values forms carry: recognised on import, never read from a file.
    Field(
        "household_size", _H, "家庭人口数", "Household size", "integer",
        _set("import", "roster", "card"), synonyms=("家庭人口数", "人口数", "家庭人口", "户人数"),
        unit="人", stored=False, derived=True,
    ),
    Field(
        "head_id_number", _H, "户主证件号码", "Head's ID number", "identifier", _set("import"),
        synonyms=("户主证件号码", "户主身份证号码", "户主身份证号"), stored=False, derived=True,
        sensitive=True,
    ),
    Field(
        "row_number", _H, "序号", "No.", "integer", _set("import", "roster"),
        synonyms=("序号", "编号", "行号"), stored=False, derived=True,
    ),
    Field(
        "township_name", _H, "乡镇名称", "Township", "text", _set("import", "roster"),
        synonyms=("乡镇名称", "乡镇", "乡(镇)", "所在乡镇"), stored=False, derived=True,
    ),
    Field(
        "village_name", _H, "村名称", "Village", "text", _set("import", "roster", "api"),
        synonyms=("村名称", "村名", "行政村", "所在村"), stored=False, derived=True,
    ),
    # --- member (domain.md 2.3) -------------------------------------------------------------
    Field(
        "id_number", _M, "证件号码", "ID number", "identifier", _on("form", "detail"),
        synonyms=("证件号码", "身份证号码", "身份证号", "公民身份号码", "身份证件号码", "证件号",
                  "残疾证号"),
        max_length=20, rule="id_number", required=True, sensitive=True, editable=True,
        note="每人只能出现一次，一人只能属于一户",
    ),
    Field(
        "name", _M, "姓名", "Name", "text", _on("form", "detail"),
        synonyms=("姓名", "成员姓名", "家庭成员姓名"), max_length=50, required=True,
        editable=True,
    ),
    Field(
        "sex", _M, "性别", "Sex", "code", _on("detail", "indicator"), synonyms=("性别",),
        table=c.SEX, max_length=6, editable=True,
        note="可不填，由证件号码得出；填写时须与证件号码一致",
    ),
    Field(
        "birth_date", _M, "出生日期", "Date of birth", "date", _on(without=("api",)),
        synonyms=("出生日期", "出生年月日", "出生年月"), editable=True,
        note="可不填，由证件号码得出；填写时须与证件号码一致",
    ),
    Field(
        "age", _M, "年龄", "Age", "integer", _set("import", "roster", "card", "api", "detail",
                                                  "indicator"),
        synonyms=("年龄",), unit="岁", stored=False, derived=True,
    ),
    Field(
        "relation", _M, "与户主关系", "Relation to head", "code",
        _on("form", "detail", "indicator"), synonyms=("与户主关系", "与户主的关系", "家庭关系"),
        table=c.RELATION,
        spellings={
            "本人": "head",
            "户主本人": "head",
            "妻": "spouse",
            "妻子": "spouse",
            "夫": "spouse",
            "丈夫": "spouse",
            "之妻": "spouse",
            "之夫": "spouse",
            "子": "son",
            "儿子": "son",
            "长子": "son",
            "次子": "son",
            "三子": "son",
            "女": "daughter",
            "女儿": "daughter",
            "长女": "daughter",
            "次女": "daughter",
            "三女": "daughter",
            "女婿": "son_in_law",
            "儿媳": "daughter_in_law",
            "孙子": "grandchild",
            "孙女": "grandchild",
            "外孙子": "grandchild",
            "外孙女": "grandchild",
            "之孙子": "grandchild",
            "之孙女": "grandchild",
            "父亲": "parent",
            "母亲": "parent",
            "之父": "parent",
            "之母": "parent",
            "公公": "parent_in_law",
            "婆婆": "parent_in_law",
            "岳父": "parent_in_law",
            "岳母": "parent_in_law",
            "祖父": "grandparent",
            "祖母": "grandparent",
            "兄弟姐妹": "sibling",
            "兄": "sibling",
            "弟": "sibling",
            "姐": "sibling",
            "妹": "sibling",
        },
        max_length=16, required=True, editable=True,
        note="每户有且只有一名“户主”；新户的户主也要在成员表中填一行",
    ),
    Field(
        "ethnicity", _M, "民族", "Ethnicity", "code", _on("form"), synonyms=("民族",),
        table=c.ETHNICITY,
        spellings={"汉": "han", "满": "manchu", "蒙古": "mongol", "回": "hui", "朝鲜": "korean"},
        max_length=12, editable=True,
    ),
    Field(
        "education", _M, "文化程度", "Education", "code", _on("form", "detail"),
        synonyms=("文化程度", "学历"), table=c.EDUCATION,
        spellings={"文盲": "illiterate", "半文盲": "illiterate", "中专": "vocational"},
        max_length=12, editable=True,
    ),
    Field(
        "political_status", _M, "政治面貌", "Political affiliation", "code",
        _on("form", without=("card",)), synonyms=("政治面貌",), table=c.POLITICAL_STATUS,
        max_length=16, editable=True,
    ),
    Field(
        "school_status", _M, "在校生状况", "School status", "code",
        _on("form", "detail", "indicator"), synonyms=("在校生状况", "在校生情况", "在校情况"),
        table=c.SCHOOL_STATUS, max_length=24, editable=True,
    ),
    Field(
        "health_status", _M, "健康状况", "Health", "code", _on("form", "detail", "indicator"),
        synonyms=("健康状况", "身体状况"), table=c.HEALTH_STATUS,
        spellings={"大病": "serious_illness", "慢性病": "chronic"}, max_length=16,
        sensitive=True, editable=True,
    ),
    Field(
        "disability_grade", _M, "残疾等级", "Disability grade", "integer",
        _on("form", without=("api",)), synonyms=("残疾等级", "残疾级别"), unit="级", low=1,
        high=4, sensitive=True, editable=True, note="1 至 4 级",
    ),
    Field(
        "labour_capacity", _M, "劳动能力", "Labour capacity", "code",
        _on("form", "detail", "indicator"), synonyms=("劳动能力", "劳动技能"),
        table=c.LABOUR_CAPACITY,
        spellings={"弱劳动力": "weak", "半劳动力": "weak", "技能劳动力": "skilled"},
        max_length=12, editable=True,
    ),
    Field(
        "work_status", _M, "务工状况", "Work status", "code", _on("form", "detail", "indicator"),
        synonyms=("务工状况", "务工情况", "务工地点"), table=c.WORK_STATUS, max_length=12,
        editable=True,
    ),
    Field(
        "work_months", _M, "务工时间(月)", "Months of work away", "integer", _on("form", "detail"),
        synonyms=("务工时间", "务工时间(月)", "务工月数"), unit="月", low=0, high=12,
        editable=True,
    ),
    Field(
        "basic_medical_insured", _M, "参加城乡居民基本医疗保险",
        "Basic medical insurance for rural and urban residents", "boolean",
        _on("form", "detail", "indicator"),
        synonyms=("城乡居民基本医疗保险", "参加城乡居民基本医疗保险",
                  "是否参加城乡居民基本医疗保险", "基本医疗保险", "基本医保"),
        editable=True,
    ),
    Field(
        "critical_illness_insured", _M, "参加大病保险", "Critical illness insurance", "boolean",
        _on("form", "detail", "indicator"), synonyms=("大病保险", "参加大病保险", "是否参加大病保险"),
        editable=True,
    ),
    Field(
        "pension_insured", _M, "参加城乡居民基本养老保险",
        "Basic pension insurance for rural and urban residents", "boolean",
        _on("form", "detail", "indicator"),
        synonyms=("城乡居民基本养老保险", "参加城乡居民基本养老保险",
                  "是否参加城乡居民基本养老保险", "基本养老保险"),
        editable=True,
    ),
    Field(
        "dibao", _M, "享受低保", "Receives minimum living allowance (dibao)", "boolean",
        _on("form", "indicator"), synonyms=("享受低保", "是否享受低保", "低保"), editable=True,
    ),
    Field(
        "tekun", _M, "特困供养", "Supported as extremely poor (tekun)", "boolean",
        _on("form", "indicator"), synonyms=("特困供养", "是否特困供养", "享受特困供养"),
        editable=True,
    ),
    # --- income (domain.md 2.4): the household's, for one accounting year --------------------
    Field(
        "year", _I, "年度", "Year", "year", _on("detail", "form", without=("card",)),
        synonyms=("年度", "收入年度", "核算年度", "收入所属年度"), unit="年",
        note="本行收入所属年度；不填时见上方“收入年度”规则",
    ),
    Field(
        "wage_income", _I, "工资性收入", "Wage income", "money", _on("form", "detail"),
        synonyms=("工资性收入", "工资收入", "务工收入"), unit="元", max_digits=12, decimal_places=2, editable=True,
        net="add",
    ),
    Field(
        "business_income", _I, "生产经营性收入", "Business income", "money",
        _on("form", "detail"),
        synonyms=("生产经营性收入", "经营性收入", "家庭经营性收入", "生产经营收入"), unit="元",
        max_digits=12, decimal_places=2, editable=True, net="add",
    ),
    Field(
        "property_income", _I, "财产性收入", "Property income", "money", _on("form", "detail"),
        synonyms=("财产性收入", "财产收入"), unit="元", max_digits=12, decimal_places=2, editable=True, net="add",
    ),
    Field(
        "transfer_income", _I, "转移性收入", "Transfer income", "money", _on("form", "detail"),
        synonyms=("转移性收入", "转移收入"), unit="元", max_digits=12, decimal_places=2, editable=True, net="add",
        note="含生态补偿金、低保金、特困供养金、养老金、计划生育金等各项",
    ),
    Field(
        "ecological_compensation", _I, "生态补偿金", "Ecological compensation", "money",
        _on("form", "detail"), synonyms=("生态补偿金", "生态补偿", "生态补偿收入"), unit="元",
        max_digits=12, decimal_places=2, editable=True, part_of="transfer_income",
    ),
    Field(
        "dibao_payment", _I, "低保金", "Dibao payments", "money", _on("form", "detail"),
        synonyms=("低保金", "低保收入"), unit="元", max_digits=12, decimal_places=2, editable=True,
        part_of="transfer_income",
    ),
    Field(
        "tekun_payment", _I, "特困供养金", "Tekun support payments", "money",
        _on("form", "detail"), synonyms=("特困供养金", "特困供养收入", "五保金"), unit="元",
        max_digits=12, decimal_places=2, editable=True, part_of="transfer_income",
    ),
    Field(
        "pension_payment", _I, "养老金", "Pension", "money", _on("form", "detail"),
        synonyms=("养老金", "养老保险金"), unit="元", max_digits=12, decimal_places=2, editable=True,
        part_of="transfer_income",
    ),
    Field(
        "family_planning_payment", _I, "计划生育金", "Family planning payments", "money",
        _on("form", "detail"), synonyms=("计划生育金", "计划生育奖励扶助金", "计生金"), unit="元",
        max_digits=12, decimal_places=2, editable=True, part_of="transfer_income",
    ),
    Field(
        "other_transfer", _I, "其他转移性收入", "Other transfers", "money", _on("form", "detail"),
        synonyms=("其他转移性收入", "其他转移收入"), unit="元", max_digits=12, decimal_places=2, editable=True,
        part_of="transfer_income",
    ),
    Field(
        "business_costs", _I, "生产经营性支出", "Business costs", "money", _on("form", "detail"),
        synonyms=("生产经营性支出", "生产经营支出", "经营性支出"), unit="元", max_digits=12, decimal_places=2,
        editable=True, net="sub",
    ),
    Field(
        # not a business cost: outside the net income, read by the monitoring rules
        "compliant_out_of_pocket", _I, "合规自付支出", "Compliant out-of-pocket spending",
        "money", _on("form", without=("card",)), synonyms=("合规自付支出",), unit="元", max_digits=12, decimal_places=2,
        editable=True,
    ),
    Field(
        "period_start", _I, "核算期开始", "Accounting period from", "date",
        _set("facts", "api", "policy"), editable=True,
    ),
    Field(
        "period_end", _I, "核算期结束", "Accounting period to", "date",
        _set("facts", "api", "policy"), editable=True,
    ),
)  # fmt: skip

FIELDS: Final[Mapping[str, Field]] = MappingProxyType({f.key: f for f in FIELDS_LIST})
assert len(FIELDS) == len(FIELDS_LIST), "a key twice in the dictionary"
assert all(f.kind in KINDS and f.record in RECORDS for f in FIELDS_LIST)
assert all(f.appears <= SURFACES for f in FIELDS_LIST)

# Model columns that are no field of the dictionary: bookkeeping, kept by the actions.
INTERNAL: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "household": frozenset(
            {"id", "created_at", "updated_at", "version", "deleted_at", "deleted_reason"}
            | {"township_code", "county_code"}  # the village code's ancestors
        ),
        # membership dates are kept by the member actions (natural changes, ADR 0055)
        "member": frozenset(
            {"id", "created_at", "updated_at", "version", "deleted_at", "deleted_reason"}
            | {"household", "joined_on", "left_on"}
            | {"id_number_index"}  # the keyed blind index of id_number (PII-2, core.fieldcrypt)
        ),
        "income": frozenset(
            {"id", "created_at", "updated_at", "version", "deleted_at", "deleted_reason"}
            | {"household"}
        ),
    }
)


def fields(
    record: str | None = None,
    *,
    on: str | None = None,
    stored: bool | None = None,
    section: str | None = None,
) -> tuple[Field, ...]:
    """The dictionary's fields in order, optionally of one record, on one surface, stored or
    not, of one card section."""
    return tuple(
        f
        for f in FIELDS_LIST
        if (record is None or f.record == record)
        and (on is None or on in f.appears)
        and (stored is None or f.stored == stored)
        and (section is None or f.section == section)
    )


def keys(record: str | None = None, **kwargs: Any) -> tuple[str, ...]:
    return tuple(f.key for f in fields(record, **kwargs))


# Where facts and the API name a field otherwise (the village by its code beside its name).
OUT_KEYS: Final[Mapping[str, str]] = MappingProxyType({"village": "village_code"})
SENSITIVE: Final = frozenset(f.key for f in FIELDS_LIST if f.sensitive and f.stored)
EDITABLE: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {r: frozenset(f.key for f in FIELDS_LIST if f.record == r and f.editable) for r in RECORDS}
)
INCOME_AMOUNTS: Final = tuple(f.key for f in FIELDS_LIST if f.kind == "money")
LIST_CODES: Final[Mapping[str, tuple[Mapping[str, str], int]]] = MappingProxyType(
    {f.key: (f.table, f.most) for f in FIELDS_LIST if f.kind == "codes" and f.table and f.most}
)
# Coded fields store "" when no code was recorded: null (unknown) in facts and rules.
CODED: Final = frozenset(f.key for f in FIELDS_LIST if f.kind == "code" and f.stored)
