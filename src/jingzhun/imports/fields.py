"""What an import can read: every household and member field, its Chinese label, synonyms and kind.

Built from the registry models (their Chinese `verbose_name`s come from domain.md 2) plus the
synonyms that real registration forms use (信息采集表, 花名册, department rosters). Header cells and
code values are compared after `norm`: full-width ASCII folded, whitespace and required-field
marks removed, lower-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from django.db import models

from jingzhun.registry import choices as c
from jingzhun.registry.models import Household, IncomeRecord, Member

# Full-width ASCII (U+FF01..U+FF5E) to ASCII, and the ideographic space to a space.
_FULLWIDTH: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_MARKS: Final = re.compile(r"[*★※☆]|\((?:必填|选填|必录|可选)\)")
_UNIT: Final = re.compile(r"\([^()]*\)$")


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII (not NFKC: "①" stays what it is)."""
    return text.translate(_FULLWIDTH)


def norm(text: object) -> str:
    """The comparable form of a header cell or code value."""
    folded = fold(str(text)).replace("（", "(").replace("）", ")")
    folded = _MARKS.sub("", "".join(folded.split()))
    return folded.strip(":：").lower()


@dataclass(frozen=True)
class FieldSpec:
    """One importable column. `level` is household, member, income (the household's income for
    the year of the row: `year` column, title row or the year given with the file), or info
    (recognised, not imported)."""

    key: str
    level: str
    label: str
    kind: str  # text code codes bool int decimal date year id_number village phone account info
    table: dict[str, str] = field(default_factory=dict)
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    most: int | None = None  # for lists of codes
    required: bool = False


# Extra header labels seen on forms, by field key (the model's verbose_name and the English key
# always match too). Keep Chinese; order does not matter.
HEADER_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "household_code": ("户编号", "户编码", "户号", "家庭编号", "贫困户编号", "户代码"),
    "village": (
        "所属村",
        "村级区划代码",
        "村区划代码",
        "行政村代码",
        "行政区划代码",
        "区划代码",
        "村代码",
        "统计用区划代码",
    ),
    "group_name": ("村民小组", "组", "所在组", "小组", "自然村(组)"),
    "phone": ("联系电话", "电话", "手机号", "手机号码", "联系方式"),
    "bank_name": ("开户银行", "开户行"),
    "bank_account": ("银行账号", "银行卡号", "开户账号", "一卡通账号", "存折账号"),
    "identification_standard": ("识别标准",),
    "attribute": ("贫困户属性", "户属性", "贫困属性"),
    "main_cause": ("主要致贫原因", "致贫原因", "主要致贫"),
    "other_causes": ("其他致贫原因", "次要致贫原因"),
    "poverty_status": ("脱贫状态", "贫困户状态", "脱贫标志", "状态"),
    "household_type": ("户类型", "农户类型", "是否建档立卡", "是否建档立卡户", "是否贫困户"),
    "identified_year": ("识别年度", "识别年份", "纳入年度", "建档立卡年度"),
    "exit_year": ("脱贫年度", "脱贫年份", "计划脱贫年度"),
    "food_secure": ("不愁吃", "是否不愁吃"),
    "clothing_secure": ("不愁穿", "是否不愁穿"),
    "house_safety_grade": ("住房安全等级", "危房等级", "住房等级", "房屋安全等级"),
    "relocated": ("易地扶贫搬迁", "是否易地扶贫搬迁", "易地搬迁户"),
    "relocation_moved_in": ("搬迁已入住", "是否已入住"),
    "house_area_m2": ("住房面积", "住房面积(㎡)", "住房面积(平方米)"),
    "house_structure": ("住房结构", "房屋结构"),
    "water_quantity_ok": ("水量", "水量达标"),
    "water_quality_ok": ("水质", "水质达标"),
    "water_convenience_ok": ("用水方便程度", "用水方便"),
    "water_reliability_ok": ("供水保证率",),
    "cultivated_land_mu": ("耕地面积", "耕地面积(亩)", "耕地"),
    "irrigated_land_mu": ("有效灌溉面积", "有效灌溉面积(亩)"),
    "forest_land_mu": ("林地面积", "林地面积(亩)", "林地"),
    "grassland_mu": ("牧草地面积", "牧草地面积(亩)", "牧草地"),
    "water_surface_mu": ("水面面积", "水面面积(亩)"),
    "has_production_power": ("生产用电", "是否通生产用电"),
    "has_living_power": ("生活用电", "是否通生活用电"),
    "road_type": ("入户路类型", "入户路"),
    "distance_to_main_road_km": ("与村主干路距离", "与村主干路距离(公里)", "距村主干路距离"),
    "sanitary_toilet": ("卫生厕所", "有无卫生厕所", "是否有卫生厕所"),
    "fuel_type": ("主要燃料", "主要燃料类型", "燃料类型"),
    "in_cooperative": ("加入农民专业合作社", "是否加入农民专业合作社", "加入合作社"),
    "monitoring_category": ("监测类别", "监测对象类别", "监测对象类型"),
    "risk_types": ("风险类型", "返贫致贫风险"),
    "risk_status": ("风险状态", "风险是否消除"),
    "risk_eliminated_on": ("风险消除时间", "风险消除日期"),
    "elimination_method": ("消除方式", "风险消除方式"),
    "id_number": (
        "证件号码",
        "身份证号码",
        "身份证号",
        "公民身份号码",
        "身份证件号码",
        "证件号",
        "残疾证号",
    ),
    "name": ("姓名", "成员姓名", "家庭成员姓名"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月日", "出生年月"),
    "relation": ("与户主关系", "与户主的关系", "家庭关系"),
    "ethnicity": ("民族",),
    "education": ("文化程度", "学历"),
    "political_status": ("政治面貌",),
    "school_status": ("在校生状况", "在校生情况", "在校情况"),
    "health_status": ("健康状况", "身体状况"),
    "disability_grade": ("残疾等级", "残疾级别"),
    "labour_capacity": ("劳动能力", "劳动技能"),
    "work_status": ("务工状况", "务工情况", "务工地点"),
    "work_months": ("务工时间", "务工时间(月)", "务工月数"),
    "basic_medical_insured": (
        "城乡居民基本医疗保险",
        "参加城乡居民基本医疗保险",
        "是否参加城乡居民基本医疗保险",
        "基本医疗保险",
        "基本医保",
    ),
    "critical_illness_insured": ("大病保险", "参加大病保险", "是否参加大病保险"),
    "pension_insured": (
        "城乡居民基本养老保险",
        "参加城乡居民基本养老保险",
        "是否参加城乡居民基本养老保险",
        "基本养老保险",
    ),
    "dibao": ("享受低保", "是否享受低保", "低保"),
    "tekun": ("特困供养", "是否特困供养", "享受特困供养"),
    # Income (domain.md 2.4): the household's, for the year of the row.
    "year": ("年度", "收入年度", "核算年度", "收入所属年度"),
    "wage_income": ("工资性收入", "工资收入", "务工收入"),
    "business_income": ("生产经营性收入", "经营性收入", "家庭经营性收入", "生产经营收入"),
    "property_income": ("财产性收入", "财产收入"),
    "transfer_income": ("转移性收入", "转移收入"),
    "ecological_compensation": ("生态补偿金", "生态补偿", "生态补偿收入"),
    "dibao_payment": ("低保金", "低保收入"),
    "tekun_payment": ("特困供养金", "特困供养收入", "五保金"),
    "pension_payment": ("养老金", "养老保险金"),
    "family_planning_payment": ("计划生育金", "计划生育奖励扶助金", "计生金"),
    "other_transfer": ("其他转移性收入", "其他转移收入"),
    "business_costs": ("生产经营性支出", "生产经营支出", "经营性支出"),
    "compliant_out_of_pocket": ("合规自付支出",),
    # Recognised but not imported: derived values or row numbers.
    "head_name": ("户主姓名", "户主"),
    "head_id_number": ("户主证件号码", "户主身份证号码", "户主身份证号"),
    "household_size": ("家庭人口数", "人口数", "家庭人口", "户人数"),
    "row_number": ("序号", "编号", "行号"),
    "age": ("年龄",),
    "township_name": ("乡镇名称", "乡镇", "乡(镇)", "所在乡镇"),
    "village_name": ("村名称", "村名", "行政村", "所在村"),
}

INFO_LABELS: Final = {
    "head_name": "户主姓名",
    "head_id_number": "户主证件号码",
    "household_size": "家庭人口数",
    "row_number": "序号",
    "age": "年龄",
    "township_name": "乡镇名称",
    "village_name": "村名称",
}

# Extra value spellings per code table (the label and the code always match too).
VALUE_SYNONYMS: Final[dict[str, dict[str, str]]] = {
    "attribute": {**c.ATTRIBUTE_SYNONYMS, "一般户": "general", "低保": "dibao", "特困": "tekun"},
    "relation": {
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
    "health_status": {"大病": "serious_illness", "慢性病": "chronic"},
    "labour_capacity": {"弱劳动力": "weak", "半劳动力": "weak", "技能劳动力": "skilled"},
    "house_safety_grade": {"a": "A", "b": "B", "c": "C", "d": "D"},
    "ethnicity": {"汉": "han", "满": "manchu", "蒙古": "mongol", "回": "hui", "朝鲜": "korean"},
    "poverty_status": {
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
    "education": {"文盲": "illiterate", "半文盲": "illiterate", "中专": "vocational"},
    # 户类型 / 是否建档立卡 (issue 19): registered or an ordinary rural household. "监测户" says
    # nothing about registration (a monitored household may be either): not a spelling here.
    "household_type": {
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
}
# Columns read but not stored as such: 户类型 sets the poverty status (imports.pipeline
# `household_type_status`); exports leave them out (脱贫状态 carries the same fact).
HOUSEHOLD_TYPE: Final = {"registered": "建档立卡户", "ordinary": "一般农户"}
IMPORT_ONLY: Final = frozenset({"household_type"})

TRUE_WORDS: Final = frozenset(
    {"是", "有", "√", "✓", "1", "y", "yes", "true", "t", "达标", "已参加"}
)
FALSE_WORDS: Final = frozenset(
    {"否", "无", "×", "✗", "0", "n", "no", "false", "f", "不达标", "未参加"}
)
LIST_SEPARATORS: Final = re.compile(r"[、,，;；/|\s]+")
LIST_FIELDS: Final = {"other_causes": (c.CAUSE, 2), "risk_types": (c.RISK_TYPE, len(c.RISK_TYPE))}
KIND_BY_KEY: Final = {
    "id_number": "id_number",
    "village": "village",
    "phone": "phone",
    "bank_account": "account",
    "household_code": "code_text",
}
REQUIRED: Final = frozenset({"household_code", "village", "id_number", "name", "relation"})
HOUSEHOLD_SKIP: Final = frozenset(
    {"id", "created_at", "updated_at", "version", "deleted_at", "deleted_reason"}
    | {"township_code", "county_code", "head_name"}
)
_RECORD_SKIP: Final = frozenset(
    {"id", "created_at", "updated_at", "version", "deleted_at", "deleted_reason", "household"}
)
# membership dates are kept by the member actions (natural changes), not imported
MEMBER_SKIP: Final = _RECORD_SKIP | {"joined_on", "left_on"}
INCOME_SKIP: Final = _RECORD_SKIP | {"period_start", "period_end"}


def _spec(f: models.Field, level: str) -> FieldSpec:
    key = f.name
    label = str(f.verbose_name)
    if key in KIND_BY_KEY:
        kind = KIND_BY_KEY[key]
    elif key in LIST_FIELDS:
        kind = "codes"
    elif f.choices:
        kind = "code"
    elif isinstance(f, models.BooleanField):
        kind = "bool"
    elif isinstance(f, models.DecimalField):
        kind = "decimal"
    elif isinstance(f, (models.PositiveSmallIntegerField, models.IntegerField)):
        kind = "int"
    elif isinstance(f, models.DateField):
        kind = "date"
    else:
        kind = "text"
    table = dict(LIST_FIELDS[key][0]) if key in LIST_FIELDS else dict(f.choices or [])
    return FieldSpec(
        key=key,
        level=level,
        label=label,
        kind=kind,
        table={str(k): str(v) for k, v in table.items()},
        max_length=getattr(f, "max_length", None),
        max_digits=getattr(f, "max_digits", None),
        decimal_places=getattr(f, "decimal_places", None),
        most=LIST_FIELDS[key][1] if key in LIST_FIELDS else None,
        required=key in REQUIRED,
    )


def _build() -> dict[str, FieldSpec]:
    specs: dict[str, FieldSpec] = {}
    for f in Household._meta.get_fields():
        if isinstance(f, models.Field) and f.name not in HOUSEHOLD_SKIP:
            spec = _spec(f, "household")
            if f.name == "village":
                spec = FieldSpec("village", "household", "村级区划代码", "village", required=True)
            specs[f.name] = spec
    for f in Member._meta.get_fields():
        if isinstance(f, models.Field) and f.name not in MEMBER_SKIP:
            specs[f.name] = _spec(f, "member")
    for f in IncomeRecord._meta.get_fields():
        if isinstance(f, models.Field) and f.name not in INCOME_SKIP:
            spec = _spec(f, "income")
            if f.name == "year":
                spec = FieldSpec("year", "income", spec.label, "year")
            specs[f.name] = spec
    specs["household_type"] = FieldSpec(
        "household_type", "household", "户类型", "code", HOUSEHOLD_TYPE
    )
    for key, label in INFO_LABELS.items():
        specs[key] = FieldSpec(key, "info", label, "info")
    return specs


FIELDS: Final = _build()
INCOME_KEYS: Final = tuple(k for k, s in FIELDS.items() if s.level == "income" and k != "year")


def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, spec in FIELDS.items():
        for label in (key, spec.label, *HEADER_SYNONYMS.get(key, ())):
            index.setdefault(norm(label), key)
    return index


HEADER_INDEX: Final = _header_index()


def match_header(text: object, extra: dict[str, str] | None = None) -> str | None:
    """The field key a header cell names, or None. `extra` maps normalised labels (saved mappings)."""
    label = norm(text)
    if not label:
        return None
    if extra and label in extra:
        return extra[label]
    if label in HEADER_INDEX:
        return HEADER_INDEX[label]
    bare = _UNIT.sub("", label)  # "耕地面积(亩)" when only "耕地面积" is known, and the reverse
    if bare and bare in HEADER_INDEX:
        return HEADER_INDEX[bare]
    return None


def _value_index(key: str, spec: FieldSpec) -> dict[str, str]:
    index: dict[str, str] = {}
    for code, label in spec.table.items():
        index[norm(code)] = code
        index[norm(label)] = code
        # "因病" also as "因病致贫"; "A级" also as "A".
        if key in ("main_cause", "other_causes"):
            index[norm(label + "致贫")] = code
    table_name = "attribute" if key == "attribute" else key
    for word, code in VALUE_SYNONYMS.get(table_name, {}).items():
        index[norm(word)] = code
    return index


VALUE_INDEX: Final = {
    key: _value_index(key, spec) for key, spec in FIELDS.items() if spec.kind in ("code", "codes")
}


def assignable_fields() -> list[FieldSpec]:
    """Fields a saved column mapping may point at (household, member and income fields)."""
    return [s for s in FIELDS.values() if s.level in ("household", "member", "income")]
