"""Household facts (domain.md 2.5): one JSON-ready dict per household for one assessment year.

The rule engine reads this format, `jingzhun policy evaluate` takes a list of them, and exports
produce them. Sensitive values (ID numbers, phone, bank account) are left out or masked unless the
caller asks for them explicitly (an audited reveal or export decides that, not this module).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from .models import Household, IncomeRecord, Member

_HOUSEHOLD_SKIP = {
    "id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "deleted_reason",
    "village",
    "township_code",
    "county_code",
    "phone",
    "bank_name",
    "bank_account",
}
_MEMBER_SKIP = {
    "id",
    "id_number_index",  # the blind index of id_number (PII-2), no fact
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "deleted_reason",
    "household",
    "joined_on",  # membership dates count persons at year ends; not facts of a decision
    "left_on",
}
_INCOME_SKIP = {
    "id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "deleted_reason",
    "household",
}

HOUSEHOLD_FIELDS = [
    f.name for f in Household._meta.concrete_fields if f.name not in _HOUSEHOLD_SKIP
]
MEMBER_FIELDS = [f.name for f in Member._meta.concrete_fields if f.name not in _MEMBER_SKIP]
INCOME_FIELDS = [f.name for f in IncomeRecord._meta.concrete_fields if f.name not in _INCOME_SKIP]


# Coded fields store "" when the code was not recorded; in facts that is null (unknown), so that
# a rule over it is unknown rather than failed (domain.md 3.2). The bulk reader does the same.
CODED_FIELDS = frozenset(
    f.name
    for model in (Household, Member, IncomeRecord)
    for f in model._meta.concrete_fields
    if f.choices and f.get_internal_type() == "CharField"
)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _value(obj: Any, name: str) -> Any:
    value = getattr(obj, name)
    if value == "" and name in CODED_FIELDS:
        return None
    return _json(value)


def household_facts(household: Household, year: int, *, unmasked: bool = False) -> dict[str, Any]:
    """The facts of one household for `year` (members live today; that year's income or null)."""
    facts: dict[str, Any] = {name: _value(household, name) for name in HOUSEHOLD_FIELDS}
    facts["village_code"] = household.village_id
    facts["year"] = year
    members = []
    for member in household.members.all():
        row = {name: _value(member, name) for name in MEMBER_FIELDS}
        if not unmasked:
            # Not even the usual masked form: its first 6 and last 4 characters together with
            # the birth date (which the rules need) would give the whole number back.
            row["id_number"] = None
        members.append(row)
    facts["members"] = members
    income = next((i for i in household.incomes.all() if i.year == year), None)
    facts["income"] = (
        None if income is None else {name: _json(getattr(income, name)) for name in INCOME_FIELDS}
    )
    return facts


def facts_for(
    households: QuerySet[Household], year: int, *, unmasked: bool = False, chunk_size: int = 2000
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(household id, facts) for every household of a (scoped) queryset, streamed in chunks."""
    for pk, _version, facts in versioned_facts_for(
        households, year, unmasked=unmasked, chunk_size=chunk_size
    ):
        yield pk, facts


def versioned_facts_for(
    households: QuerySet[Household], year: int, *, unmasked: bool = False, chunk_size: int = 2000
) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(household id, Household.version, facts): the version as read with the facts (it moves
    with every change to the household, its members or its incomes; assessments key on it)."""
    qs = households.prefetch_related(
        Prefetch("members", queryset=Member.objects.order_by("id")),
        Prefetch("incomes", queryset=IncomeRecord.objects.filter(year=year)),
    ).order_by("pk")
    for household in qs.iterator(chunk_size=chunk_size):
        yield household.pk, household.version, household_facts(household, year, unmasked=unmasked)
