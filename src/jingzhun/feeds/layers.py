"""The 2026 layers of the rural low-income population (分层分类帮扶, domain.md 3.7; issue 22 item
5; ADR self-report-and-hotline): each household's layer derived by the province's rules
(policies/tables/assistance_layers*.yaml, `layer_rules`), set-wise: one annotated query over a
region's households, so the battle map counts and the household card show the same thing.

Each fact below is one condition over `Household`; a layer holds when all facts of one of its
`when_any` groups hold, the first layer in the file's order wins. The civil-affairs feed
(部门数据源 civil_affairs: 民政 roster rows matched to a member) is the authority for 低保 and
特困: the registry's attribute counts only for a household that no civil-affairs row names.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Final

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from jingzhun.access.scoping import household_filter
from jingzhun.policy.schema import LayerEntry, LayerRulesFile
from jingzhun.policy.store import LoadedFile, PolicyError, default_store
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household, Member, present_on

from .models import Alert, FeedRow
from .selectors import region_q

RULES_ID: Final = "assistance_layers"
CIVIL_AFFAIRS: Final = "civil_affairs"  # the feed that is the authority for 低保 and 特困
WORKING: Final = ("ordinary", "skilled")  # labour capacity that counts as able to work
NONE: Final = ""  # the code of "in no layer"


@dataclass(frozen=True)
class Rules:
    file: LoadedFile
    layers: tuple[LayerEntry, ...]
    unlayered: str

    @property
    def cited(self) -> str:
        doc = self.file.doc
        return f"{self.file.path}（版本 {doc.version}，辖区 {doc.jurisdiction}）"

    def name(self, code: str) -> str:
        return next((layer.name for layer in self.layers if layer.code == code), self.unlayered)


def rules_for(province: str, on: datetime.date) -> Rules:
    """The province's layer rules in effect on `on` (the national default when the province has
    none)."""
    files = [
        f
        for f in default_store().list_files()
        if isinstance(f.doc, LayerRulesFile) and f.doc.id == RULES_ID and f.in_effect(on)
    ]
    own = [f for f in files if f.doc.jurisdiction == province]
    chosen = own or [f for f in files if f.doc.jurisdiction == "national"]
    if not chosen:
        raise PolicyError(f"找不到分层规则 {RULES_ID}（{on:%Y-%m-%d} 生效）")
    found = max(chosen, key=lambda f: f.doc.effective_from)
    assert isinstance(found.doc, LayerRulesFile)
    return Rules(found, tuple(found.doc.layers), found.doc.unlayered)


# --- the facts ---------------------------------------------------------------------------------


def _civil_affairs(category: str | None = None) -> Exists:
    """A matched row of a loaded civil-affairs roster names a member of the household (with
    this category when given)."""
    rows = FeedRow.objects.filter(
        household=OuterRef("pk"),
        status="matched",
        batch__status="done",
        batch__source__code=CIVIL_AFFAIRS,
    )
    if category is not None:
        rows = rows.filter(values__category=category)
    return Exists(rows)


def _members(day: datetime.date, **where: Any) -> Exists:
    return Exists(Member.all_objects.filter(present_on(day), household=OuterRef("pk"), **where))


def facts(day: datetime.date) -> dict[str, Q]:
    """Each fact of `policy.schema.LAYER_FACTS` as a condition over Household."""
    named_by_civil_affairs = _civil_affairs()
    working = _members(day, labour_capacity__in=WORKING)
    return {
        # 特困 / 低保: as civil affairs says; the registry's attribute only where it says nothing
        "tekun": Q(_civil_affairs("tekun")) | (~Q(named_by_civil_affairs) & Q(attribute="tekun")),
        "dibao": Q(_civil_affairs("dibao")) | (~Q(named_by_civil_affairs) & Q(attribute="dibao")),
        "dibao_edge": Q(_civil_affairs("dibao_edge")),
        "no_labour_capacity": Q(_members(day)) & ~Q(working),
        "labour_capacity": Q(working),
        "monitored_risk": ~Q(monitoring_category="") & ~Q(risk_status="eliminated"),
        "open_warning": Q(
            Exists(
                Alert.objects.filter(
                    household=OuterRef("pk"), kind="warning", case__closed_on__isnull=True
                ).exclude(status__in=["removed", "explained", "already_monitored"])
            )
        ),
        "registered": Q(poverty_status__in=c.REGISTERED_STATUSES),
    }


def layer_expression(rules: Rules, day: datetime.date) -> Case:
    """The layer of a household: the first layer one of whose groups of facts all hold."""
    fact = facts(day)
    whens = []
    for layer in rules.layers:
        holds = Q(pk__in=[])
        for group in layer.when_any:
            every = Q()
            for name in group:
                every &= fact[name]
            holds |= every
        whens.append(When(holds, then=Value(layer.code)))
    return Case(*whens, default=Value(NONE), output_field=CharField())


def layer_of(rules: Rules, holds: dict[str, bool]) -> str:
    """The layer given which facts hold for one household: the rule of `layer_expression` (the
    first layer one of whose groups of facts all hold), for one row already read."""
    for layer in rules.layers:
        if any(all(holds[name] for name in group) for group in layer.when_any):
            return layer.code
    return NONE


def with_layers(households: QuerySet[Household], province: str, day: datetime.date) -> Any:
    """`households` annotated with `layer` (the code; "" = in no layer) by the province's rules."""
    return households.annotate(layer=layer_expression(rules_for(province, day), day))


# --- what pages read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdLayer:
    code: str
    name: str
    basis: str  # where 低保/特困 came from
    cited: str


def household_facts(household: Household, day: datetime.date) -> tuple[dict[str, bool], bool]:
    """Which facts of `facts` hold for one household already read, and whether civil affairs
    names it: the same conditions, read as three small queries (its matched civil-affairs
    rows, its members on `day`, its open warnings) and decided in Python. The ORM expression of
    `facts` costs Django 20-30 ms to build and compile for one card (issue 26, B12); the tests
    compare this with the set-wise `layer_expression` household by household."""
    rows = FeedRow.objects.filter(
        household=household,
        status="matched",
        batch__status="done",
        batch__source__code=CIVIL_AFFAIRS,
    )
    categories = set(rows.order_by().values_list("values__category", flat=True))
    named = bool(categories)  # any matched row, whatever its category
    capacities = list(
        Member.all_objects.filter(present_on(day), household=household)
        .order_by()
        .values_list("labour_capacity", flat=True)
    )
    working = any(cap in WORKING for cap in capacities)
    warning = (
        Alert.objects.filter(household=household, kind="warning", case__closed_on__isnull=True)
        .exclude(status__in=["removed", "explained", "already_monitored"])
        .exists()
    )
    holds = {
        "tekun": "tekun" in categories or (not named and household.attribute == "tekun"),
        "dibao": "dibao" in categories or (not named and household.attribute == "dibao"),
        "dibao_edge": "dibao_edge" in categories,
        "no_labour_capacity": bool(capacities) and not working,
        "labour_capacity": working,
        "monitored_risk": household.monitoring_category != ""
        and household.risk_status != "eliminated",
        "open_warning": warning,
        "registered": household.poverty_status in c.REGISTERED_STATUSES,
    }
    return holds, named


def household_layer(household: Household, day: datetime.date | None = None) -> HouseholdLayer:
    """The layer of one household (already read through a scoped selector) for its card: its
    facts read one by one (household_facts), the layer chosen by `layer_of` (the rule of the
    set-wise `layer_expression`)."""
    on = day or timezone.localdate()
    rules = rules_for(household.county_code[:2], on)
    holds, civil = household_facts(household, on)
    code = layer_of(rules, holds)
    basis = (
        "低保、特困以民政部门比对数据为准"
        if civil
        else "民政部门数据中没有该户：低保、特困按建档立卡属性"
    )
    return HouseholdLayer(code, rules.name(code), basis, rules.cited)


def layer_names(region: str, day: datetime.date | None = None) -> dict[str, str]:
    rules = rules_for(region[:2], day or timezone.localdate())
    return {**{layer.code: layer.name for layer in rules.layers}, NONE: rules.unlayered}


def layer_counts(user: Any, region: str, day: datetime.date | None = None) -> dict[str, int]:
    """Households of the region in the user's scope per layer (every layer of the rules, zero
    included; closed and removed households are not counted), in one query."""
    on = day or timezone.localdate()
    names = layer_names(region, on)
    households = Household.objects.filter(household_filter(user), region_q(region, "")).exclude(
        poverty_status__in=c.CLOSED_STATUSES
    )
    counted = dict(
        with_layers(households, region[:2], on)
        .values("layer")
        .annotate(n=Count("pk"))
        .values_list("layer", "n")
    )
    return {code: counted.get(code, 0) for code in names}


def layer_households(user: Any, region: str, layer: str, day: datetime.date | None = None) -> Any:
    """The households behind one layer's figure (the same condition as `layer_counts`)."""
    on = day or timezone.localdate()
    households = Household.objects.filter(household_filter(user), region_q(region, "")).exclude(
        poverty_status__in=c.CLOSED_STATUSES
    )
    return with_layers(households, region[:2], on).filter(layer=layer)
