"""Template helpers of the workflow pages: case kinds, a household's cases, state labels."""

from __future__ import annotations

from typing import Any

from django import template

from jingzhun.workflows.selectors import cases_for
from jingzhun.workflows.transitions import ALL_STATES, KINDS

register = template.Library()


@register.simple_tag
def case_kinds() -> list[tuple[str, str]]:
    return list(KINDS.items())


@register.simple_tag
def household_cases(user: Any, household: Any) -> list[Any]:
    """The household's cases the user may see (the card links to them)."""
    return list(cases_for(user).filter(household=household).order_by("-opened_on", "-id")[:20])


@register.filter
def state_label(kind: str, state: str) -> str:
    return ALL_STATES.get((kind, state), state)
