"""Household facts (domain.md 2.5) as one JSON array, written household by household.

Unmasked, this is `registry.facts.facts_for` as the rule engine reads it. Masked (the default),
members carry no ID number and no birth date (null, so the rules read them as unknown) but their
`birth_year`: the 8 digits a masked ID number hides are exactly the birth date, and the masked ID
shown on any page, card or API answer beside a birth date from here would give back the whole
number. Health status and disability grade are null (unknown) too. Phone and bank account are
never in facts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

from django.db.models import QuerySet

from jingzhun.registry.facts import MEMBER_FIELDS, facts_for
from jingzhun.registry.masking import MASKED_FIELDS
from jingzhun.registry.models import Household

# The member facts masked output hides: sensitive ones and the birth date (see above).
HIDDEN_WHEN_MASKED = tuple(k for k in MEMBER_FIELDS if k in MASKED_FIELDS)


def _masked(facts: dict[str, Any]) -> dict[str, Any]:
    for member in facts["members"]:
        birth = member.get("birth_date")
        member["birth_year"] = int(str(birth)[:4]) if birth else None
        for key in HIDDEN_WHEN_MASKED:
            member[key] = None
    return facts


def write_facts(
    households: QuerySet[Household],
    year: int,
    out: IO[bytes],
    *,
    masked: bool,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Write the facts of `households` for `year`; (households, members) written."""
    count = persons = 0
    out.write(b"[")
    for _pk, facts in facts_for(households, year, unmasked=not masked):
        if masked:
            facts = _masked(facts)
        out.write(b"\n" if count == 0 else b",\n")
        out.write(json.dumps(facts, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        count += 1
        persons += len(facts["members"])
        if progress:
            progress(1)
    out.write(b"\n]\n")
    return count, persons
