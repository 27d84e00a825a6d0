"""Request and response shapes of the JSON API, and the functions that fill the responses.

Responses are built field by field from the models (no automatic model-to-schema mapping), so a
new model field never reaches the API unreviewed. Sensitive values go out masked (PII-1): ID
numbers as first 6 + last 4, phones 3 + 4, bank accounts last 4, health status as "***";
disability grade is not sent at all. Code fields carry their Chinese label beside the code.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.db import models
from django.utils import timezone
from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    create_model,
)

from jingzhun.regions.codes import LEVEL_LABELS, LEVELS, is_western
from jingzhun.regions.models import Region
from jingzhun.registry import choices as c
from jingzhun.registry import dictionary
from jingzhun.registry.actions import HOUSEHOLD_EDITABLE, MEMBER_EDITABLE
from jingzhun.registry.idcard import mask as mask_id_number
from jingzhun.registry.masking import age_on, mask_bank_account, mask_phone, mask_value
from jingzhun.registry.models import Household, IncomeRecord, Member
from jingzhun.registry.selectors import RegistryStats

MAX_ID = 2**63 - 1  # the largest primary key both databases store; larger ids are a 422
MAX_PAGE = 500
MAX_OFFSET = 1_000_000_000
# 15 or more digits, spaces allowed between them: an ID number or a bank account. Such a query
# never goes into a URL (PII-3); the same pattern is in the OpenAPI document as a `not`.
LONG_NUMBER = r"(?:\d\s*){14}\d"
REGION_CODE = r"^\d{12}$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as bad input, not a 500


def _json_integer(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer but not true or "3": accept and refuse the same.
    if isinstance(value, bool | str):
        raise ValueError("应为整数")
    return value


# Constraints go before the validator, or pydantic leaves them out of the JSON schema.
PageLimit = Annotated[int, Field(ge=1, le=MAX_PAGE), BeforeValidator(_json_integer)]
PageOffset = Annotated[int, Field(ge=0, le=MAX_OFFSET), BeforeValidator(_json_integer)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_json_integer)]


def label(table: Mapping[str, str], code: str | None) -> str:
    """The Chinese label of a code ("" for no code; an unknown code is shown as itself)."""
    return table.get(code, code) if code else ""


def labels(table: Mapping[str, str], values: Iterable[str] | None) -> list[str]:
    return [label(table, v) for v in values or []]


def _code_pattern(table: Mapping[str, str]) -> str:
    return "^(" + "|".join(sorted(table)) + ")?$"


def _code_filter(table: Mapping[str, str], description: str) -> Any:
    return Field(
        "",
        description=description,
        pattern=_code_pattern(table),
        json_schema_extra={"enum": ["", *table]},
    )


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# --- errors ---------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str = Field(description="中文错误说明")
    field: str | None = Field(None, description="出错的字段（如有）")


class ValidationErrorOut(Schema):
    detail: list[dict[str, Any]] = Field(description="参数校验错误（pydantic 格式）")


# Responses each route documents (the API fuzz, api/tests/test_fuzz.py, checks that answers match).
# Every route may answer 403: administrators are refused the whole API (AUTHZ-3), and a session
# without its CSRF token is refused on writes.
READ = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
LIST = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}
WRITE = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ValidationErrorOut,
}


# --- query and body parameters --------------------------------------------------------------


class Paging(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"每页条数，最多 {MAX_PAGE}")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="跳过的条数")


class _HouseholdFilterFields(Schema):
    township: str = Field("", pattern=r"^(\d{12})?$", description="乡镇区划代码（12 位）")
    village: str = Field("", pattern=r"^(\d{12})?$", description="村区划代码（12 位）")
    status: str = _code_filter(c.POVERTY_STATUS, "脱贫状态代码")
    attribute: str = _code_filter(c.ATTRIBUTE, "贫困户属性代码")
    cause: str = _code_filter(c.CAUSE, "主要致贫原因代码")


AFTER_DESCRIPTION = (
    "按户编号翻页：只列户编号在此之后的户（上一页返回的 next_after）。深页请用它代替 offset："
    "offset 须先读过前面的每一户。与 offset 同用时拒绝（400）"
)


class HouseholdFilterParams(_HouseholdFilterFields, Paging):
    after: str = Field("", max_length=32, pattern=NO_NUL, description=AFTER_DESCRIPTION)
    q: str = Field(
        "",
        max_length=100,
        pattern=NO_NUL,
        description=(
            "户编号、户主或成员姓名。含 15 位以上连续数字（证件号码、银行账号）时拒绝（400），"
            "请改用 POST /api/households/search"
        ),
        json_schema_extra={"not": {"pattern": LONG_NUMBER}},
    )


class HouseholdSearchIn(_HouseholdFilterFields):
    """The same filters in a POST body, so a full ID number never appears in a URL (PII-3)."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(
        "", max_length=100, pattern=NO_NUL, description="户编号、户主或成员姓名，或完整证件号码"
    )
    limit: PageLimit = Field(50, description=f"每页条数，最多 {MAX_PAGE}")
    offset: PageOffset = Field(0, description="跳过的条数")
    after: str = Field("", max_length=32, pattern=NO_NUL, description=AFTER_DESCRIPTION)


class RegionFilterParams(Paging):
    parent: str = Field("", pattern=r"^(\d{12})?$", description="上级区划代码：只列其直接下级")
    level: str = Field(
        "",
        pattern="^(" + "|".join(LEVELS) + ")?$",
        json_schema_extra={"enum": ["", *LEVELS]},
        description="级别：province/prefecture/county/township/village",
    )


class StatsParams(Schema):
    region: str = Field(
        "", pattern=r"^(\d{12})?$", description="区划代码；默认为您的第一个授权区划"
    )
    year: int | None = Field(
        None,
        ge=1980,
        le=2100,
        description="年度（年末口径）；默认为已计算指标的最近年度（不晚于今年）；帮扶责任人默认今年",
    )


# --- PATCH /households/{id}: typed changes built from the editable model fields ---------------


class _ChangesBase(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})


# Patterns of the numbers kept as text, by the dictionary's validation rule (the actions apply
# the rule itself: check digit, Luhn, phone formats).
_TEXT_PATTERNS = {
    "phone": r"^[0-9+\- ]*$",
    "bank_account": r"^[0-9]*$",
    "id_number": r"^[0-9Xx]*$",
}


def _change_type(name: str, model: type[models.Model] = Household) -> Any:
    """The pydantic type of one editable Household (or Member) field, mirroring the model's own
    limits."""
    if name == "village":
        return Annotated[str, StringConstraints(pattern=REGION_CODE)]
    entry = dictionary.FIELDS[name]
    if name in dictionary.LIST_CODES:
        table, most = dictionary.LIST_CODES[name]
        return Annotated[list[Literal[tuple(table)]], Field(max_length=most)]  # type: ignore[misc]
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    kind: Any
    if isinstance(field, models.CharField) and field.choices:
        codes = [str(value) for value, _ in field.choices]
        kind = Literal[tuple([*codes, ""] if field.blank else codes)]
    elif isinstance(field, models.CharField):
        kind = Annotated[
            str,
            StringConstraints(
                strip_whitespace=True,
                # an encrypted field's column holds the token: the plaintext's limit
                max_length=getattr(field, "plain_max_length", None) or field.max_length,
                pattern=_TEXT_PATTERNS.get(entry.rule, NO_NUL),
            ),
        ]
    elif isinstance(field, models.BooleanField):
        kind = StrictBool
    elif isinstance(field, models.DecimalField):
        kind = _measure(field)
    elif isinstance(field, models.PositiveSmallIntegerField):
        low = 0 if entry.low is None else entry.low
        high = 32767 if entry.high is None else entry.high
        kind = Annotated[int, Field(ge=low, le=high), BeforeValidator(_json_integer)]
    elif isinstance(field, models.DateField):
        kind = datetime.date
    else:  # a new kind of field: decide its API type here before it becomes editable
        raise TypeError(f"no API type for {model.__name__}.{name} ({type(field).__name__})")
    return kind | None if field.null else kind


def _measure(field: models.DecimalField[Any, Any]) -> Any:
    """An area or distance: a number >= 0 that fits the column, rounded to its decimal places."""
    places = int(field.decimal_places or 0)
    whole = int(field.max_digits or 0) - places
    step = Decimal(1).scaleb(-places)
    largest = Decimal(10**whole) - step
    return Annotated[
        Decimal,
        Field(ge=0, le=largest),
        AfterValidator(lambda value: value.quantize(step, rounding=ROUND_HALF_UP)),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number", "minimum": 0, "maximum": float(largest)},
                    {
                        "type": "string",
                        "pattern": rf"^\d{{1,{whole}}}(\.\d{{1,{places}}})?$",
                    },
                ]
            }
        ),
    ]


# The dictionary's editable fields (registry.dictionary): status changes go through their own
# action (history, reason, date), and the fields the workflows own (identification, exit year,
# monitoring, risk) through their cases, never through PATCH.
def _build_changes_schema() -> type[Schema]:
    fields: dict[str, Any] = {
        name: (_change_type(name), Field(None, title=dictionary.FIELDS[name].label))
        for name in sorted(HOUSEHOLD_EDITABLE)
    }
    return create_model("HouseholdChanges", __base__=_ChangesBase, **fields)


def _build_member_changes_schema() -> type[Schema]:
    fields: dict[str, Any] = {
        name: (_change_type(name, Member), Field(None, title=dictionary.FIELDS[name].label))
        for name in sorted(MEMBER_EDITABLE)
    }
    return create_model("MemberChanges", __base__=_ChangesBase, **fields)


if TYPE_CHECKING:
    HouseholdChanges = Schema
    MemberChanges = Schema
else:
    HouseholdChanges = _build_changes_schema()
    MemberChanges = _build_member_changes_schema()


class HouseholdPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    version: Version = Field(description="读取时的版本号（乐观锁）")
    changes: HouseholdChanges = Field(description="要修改的字段；只发送要改的字段")


class MemberPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    version: Version = Field(description="读取时成员的版本号（乐观锁）")
    changes: MemberChanges = Field(
        description=(
            "要修改的字段；只发送要改的字段。更正证件号码时，性别和出生日期须与新号码一致"
            "（不发送则按新号码更正）"
        )
    )


# --- responses ------------------------------------------------------------------------------


class RegionOut(Schema):
    code: str
    name: str
    level: str
    level_label: str
    parent_code: str | None
    is_poor_village: bool
    is_deep_poverty: bool
    is_western: bool


class RegionPage(Schema):
    count: int
    items: list[RegionOut]


def region_out(region: Region) -> dict[str, Any]:
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "level_label": label(LEVEL_LABELS, region.level),
        "parent_code": region.parent_id,
        "is_poor_village": region.is_poor_village,
        "is_deep_poverty": region.is_deep_poverty,
        "is_western": is_western(region.code),
    }


class HouseholdSummary(Schema):
    id: int
    household_code: str
    head_name: str
    village_code: str
    village_name: str
    township_code: str
    county_code: str
    group_name: str
    poverty_status: str
    poverty_status_label: str
    attribute: str
    attribute_label: str
    main_cause: str
    main_cause_label: str
    identification_standard: str
    identification_standard_label: str
    monitoring_category: str
    monitoring_category_label: str
    identified_year: int | None
    exit_year: int | None
    phone: str = Field(description="联系电话（脱敏：前 3 位 + 后 4 位）")
    version: int


class HouseholdPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[HouseholdSummary]
    next_after: str = Field(description="下一页的 after（本页最后一户的户编号）；没有下一页时为空")


class MemberOut(Schema):
    id: int
    household_id: int
    name: str
    id_number: str = Field(description="证件号码（脱敏：前 6 位 + 后 4 位）")
    sex: str
    sex_label: str
    birth_year: int = Field(
        description="出生年份。完整出生日期即证件号码中被隐去的 8 位，与脱敏证件号码一同给出会还原号码，故不提供"
    )
    age: int = Field(description="周岁（按今天计算）")
    relation: str
    relation_label: str
    ethnicity: str
    ethnicity_label: str
    education: str
    education_label: str
    political_status: str
    political_status_label: str
    school_status: str
    school_status_label: str
    health_status: str = Field(description="健康状况属敏感信息，始终脱敏为 ***（未填写时为空）")
    labour_capacity: str
    labour_capacity_label: str
    work_status: str
    work_status_label: str
    work_months: int | None
    basic_medical_insured: bool | None
    critical_illness_insured: bool | None
    pension_insured: bool | None
    dibao: bool | None
    tekun: bool | None
    version: int


class IncomeOut(Schema):
    year: int
    wage_income: float
    business_income: float
    property_income: float
    transfer_income: float
    ecological_compensation: float | None
    dibao_payment: float | None
    tekun_payment: float | None
    pension_payment: float | None
    family_planning_payment: float | None
    other_transfer: float | None
    business_costs: float
    compliant_out_of_pocket: float | None
    net_income: float = Field(description="家庭纯收入（计算值）")
    period_start: datetime.date | None
    period_end: datetime.date | None
    version: int = Field(0, description="收入记录的版本号（修改时用于乐观锁）")


class HouseholdIncomeOut(IncomeOut):
    household_id: int
    household_size: int = Field(description="家庭人口（在册成员数）")
    per_capita_net_income: float | None = Field(
        description="年人均纯收入（计算值）= 家庭纯收入 ÷ 家庭人口"
    )


# An amount as sent: a JSON number or a numeric string (a string that is not a number is
# refused by the action with a Chinese message naming the item); null or left out: not given.
Amount = Annotated[
    Decimal | str | None, Field(description="金额（元），不能为负，最多两位小数；null 为未填")
]


class IncomeIn(Schema):
    """A year's income as a whole (PUT): an item left out or null is not given (a main item
    then counts as 0, an optional transfer item as unrecorded)."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[int, Field(ge=0, le=2**31 - 1), BeforeValidator(_json_integer)] = Field(
        description="读取时收入记录的版本号（乐观锁）；该年度尚无记录时为 0"
    )
    wage_income: Amount = None
    business_income: Amount = None
    property_income: Amount = None
    transfer_income: Amount = None
    ecological_compensation: Amount = None
    dibao_payment: Amount = None
    tekun_payment: Amount = None
    pension_payment: Amount = None
    family_planning_payment: Amount = None
    other_transfer: Amount = None
    business_costs: Amount = None
    compliant_out_of_pocket: Amount = None
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None


class HouseholdDetail(HouseholdSummary):
    bank_name: str
    bank_account: str = Field(description="银行账号（脱敏：只显示后 4 位）")
    other_causes: list[str]
    other_causes_labels: list[str]
    food_secure: bool | None
    clothing_secure: bool | None
    house_safety_grade: str
    house_safety_grade_label: str
    relocated: bool
    relocation_moved_in: bool | None
    house_area_m2: float | None
    house_structure: str
    house_structure_label: str
    water_quantity_ok: bool | None
    water_quality_ok: bool | None
    water_convenience_ok: bool | None
    water_reliability_ok: bool | None
    water_safe: bool | None
    cultivated_land_mu: float | None
    irrigated_land_mu: float | None
    forest_land_mu: float | None
    grassland_mu: float | None
    water_surface_mu: float | None
    has_production_power: bool | None
    has_living_power: bool | None
    road_type: str
    road_type_label: str
    distance_to_main_road_km: float | None
    sanitary_toilet: bool | None
    fuel_type: str
    fuel_type_label: str
    in_cooperative: bool | None
    risk_types: list[str]
    risk_types_labels: list[str]
    risk_status: str
    risk_status_label: str
    risk_eliminated_on: datetime.date | None
    elimination_method: str
    elimination_method_label: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    members: list[MemberOut]
    incomes: list[IncomeOut]


def household_summary(h: Household) -> dict[str, Any]:
    return {
        "id": h.pk,
        "household_code": h.household_code,
        "head_name": h.head_name,
        "village_code": h.village_id,
        "village_name": h.village.name,
        "township_code": h.township_code,
        "county_code": h.county_code,
        "group_name": h.group_name,
        "poverty_status": h.poverty_status,
        "poverty_status_label": label(c.POVERTY_STATUS, h.poverty_status),
        "attribute": h.attribute,
        "attribute_label": label(c.ATTRIBUTE, h.attribute),
        "main_cause": h.main_cause,
        "main_cause_label": label(c.CAUSE, h.main_cause),
        "identification_standard": h.identification_standard,
        "identification_standard_label": label(
            c.IDENTIFICATION_STANDARD, h.identification_standard
        ),
        "monitoring_category": h.monitoring_category,
        "monitoring_category_label": label(c.MONITORING_CATEGORY, h.monitoring_category),
        "identified_year": h.identified_year,
        "exit_year": h.exit_year,
        "phone": mask_phone(h.phone),
        "version": h.version,
    }


def household_detail(
    h: Household, members: Iterable[Member], incomes: Iterable[IncomeRecord]
) -> dict[str, Any]:
    return {
        **household_summary(h),
        "bank_name": h.bank_name,
        "bank_account": mask_bank_account(h.bank_account),
        "other_causes": list(h.other_causes or []),
        "other_causes_labels": labels(c.CAUSE, h.other_causes),
        "food_secure": h.food_secure,
        "clothing_secure": h.clothing_secure,
        "house_safety_grade": h.house_safety_grade,
        "house_safety_grade_label": label(c.HOUSE_GRADE, h.house_safety_grade),
        "relocated": h.relocated,
        "relocation_moved_in": h.relocation_moved_in,
        "house_area_m2": _money(h.house_area_m2),
        "house_structure": h.house_structure,
        "house_structure_label": label(c.HOUSE_STRUCTURE, h.house_structure),
        "water_quantity_ok": h.water_quantity_ok,
        "water_quality_ok": h.water_quality_ok,
        "water_convenience_ok": h.water_convenience_ok,
        "water_reliability_ok": h.water_reliability_ok,
        "water_safe": h.water_safe,
        "cultivated_land_mu": _money(h.cultivated_land_mu),
        "irrigated_land_mu": _money(h.irrigated_land_mu),
        "forest_land_mu": _money(h.forest_land_mu),
        "grassland_mu": _money(h.grassland_mu),
        "water_surface_mu": _money(h.water_surface_mu),
        "has_production_power": h.has_production_power,
        "has_living_power": h.has_living_power,
        "road_type": h.road_type,
        "road_type_label": label(c.ROAD_TYPE, h.road_type),
        "distance_to_main_road_km": _money(h.distance_to_main_road_km),
        "sanitary_toilet": h.sanitary_toilet,
        "fuel_type": h.fuel_type,
        "fuel_type_label": label(c.FUEL_TYPE, h.fuel_type),
        "in_cooperative": h.in_cooperative,
        "risk_types": list(h.risk_types or []),
        "risk_types_labels": labels(c.RISK_TYPE, h.risk_types),
        "risk_status": h.risk_status,
        "risk_status_label": label(c.RISK_STATUS, h.risk_status),
        "risk_eliminated_on": h.risk_eliminated_on,
        "elimination_method": h.elimination_method,
        "elimination_method_label": label(c.ELIMINATION_METHOD, h.elimination_method),
        "created_at": h.created_at,
        "updated_at": h.updated_at,
        "members": [member_out(m) for m in members],
        "incomes": [income_out(i) for i in incomes],
    }


def member_out(m: Member) -> dict[str, Any]:
    return {
        "id": m.pk,
        "household_id": m.household_id,
        "name": m.name,
        "id_number": mask_id_number(m.id_number),
        "sex": m.sex,
        "sex_label": label(c.SEX, m.sex),
        # The masked ID hides exactly the birth date: give the year and the age, never the date.
        "birth_year": m.birth_date.year,
        "age": age_on(m.birth_date, timezone.localdate()),
        "relation": m.relation,
        "relation_label": label(c.RELATION, m.relation),
        "ethnicity": m.ethnicity,
        "ethnicity_label": label(c.ETHNICITY, m.ethnicity),
        "education": m.education,
        "education_label": label(c.EDUCATION, m.education),
        "political_status": m.political_status,
        "political_status_label": label(c.POLITICAL_STATUS, m.political_status),
        "school_status": m.school_status,
        "school_status_label": label(c.SCHOOL_STATUS, m.school_status),
        "health_status": mask_value("health_status", m.health_status),
        "labour_capacity": m.labour_capacity,
        "labour_capacity_label": label(c.LABOUR_CAPACITY, m.labour_capacity),
        "work_status": m.work_status,
        "work_status_label": label(c.WORK_STATUS, m.work_status),
        "work_months": m.work_months,
        "basic_medical_insured": m.basic_medical_insured,
        "critical_illness_insured": m.critical_illness_insured,
        "pension_insured": m.pension_insured,
        "dibao": m.dibao,
        "tekun": m.tekun,
        "version": m.version,
    }


def income_out(i: IncomeRecord) -> dict[str, Any]:
    return {
        "year": i.year,
        "wage_income": _money(i.wage_income),
        "business_income": _money(i.business_income),
        "property_income": _money(i.property_income),
        "transfer_income": _money(i.transfer_income),
        "ecological_compensation": _money(i.ecological_compensation),
        "dibao_payment": _money(i.dibao_payment),
        "tekun_payment": _money(i.tekun_payment),
        "pension_payment": _money(i.pension_payment),
        "family_planning_payment": _money(i.family_planning_payment),
        "other_transfer": _money(i.other_transfer),
        "business_costs": _money(i.business_costs),
        "compliant_out_of_pocket": _money(i.compliant_out_of_pocket),
        "net_income": _money(i.net_income),
        "period_start": i.period_start,
        "period_end": i.period_end,
        "version": i.version,
    }


def household_income_out(i: IncomeRecord, persons: int) -> dict[str, Any]:
    return {
        **income_out(i),
        "household_id": i.household_id,
        "household_size": persons,
        "per_capita_net_income": _money(i.per_capita_net_income(persons)),
    }


class StatsOut(Schema):
    region_code: str
    region_name: str
    year: int
    scope: str = Field(description="region：区划内全部在册户；paired：仅本人的帮扶户")
    registered_households: int
    registered_persons: int
    exited_households: int
    exited_persons: int
    remaining_households: int
    remaining_persons: int
    rural_population: int | None
    poverty_incidence: float | None = Field(description="贫困发生率（%）；仅区划口径")
    poor_villages: int
    villages: int
    townships: int
    ordinary_households: int = Field(description="一般农户（未建档立卡）户数，不计入建档立卡")
    ordinary_persons: int = Field(description="一般农户（未建档立卡）人数")
    monitored_households: int | None = Field(
        description="监测对象户数（当前监测类别，含一般农户）；2021 年以前为空"
    )
    computed_at: datetime.datetime | None = Field(
        description="区划口径：这些数字的计算时间（作战图指标）；帮扶户口径为空（实时统计）"
    )
    refresh_pending: bool = Field(
        description="区划口径：有数据变更后的重新计算正在排队或进行，数字可能稍旧"
    )


def stats_out(
    region: Region,
    year: int,
    stats: RegistryStats,
    *,
    paired: bool,
    computed_at: datetime.datetime | None = None,
    refresh_pending: bool = False,
) -> dict[str, Any]:
    out = {
        "region_code": region.code,
        "region_name": region.name,
        "year": year,
        "scope": "paired" if paired else "region",
        "computed_at": computed_at,
        "refresh_pending": refresh_pending,
        **stats.as_dict(),
    }
    if paired:
        # A helper's few households over a whole region's population is not an incidence.
        out["rural_population"] = None
        out["poverty_incidence"] = None
    return out
