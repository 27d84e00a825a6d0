"""Requests one app makes of another that sits above it in the layers (ADR 0059).

An app low in the import-linter layers (imports) must not import one above it (analytics), yet
its writes make the upper app's derived data stale. The upper app registers a function here in
its `AppConfig.ready()`; the lower app calls `registry_written(...)` inside its action's
transaction. This is a plain list of functions called in order, in the caller's transaction:
not Django signals (no sender, no receivers found by import side effect, no error swallowing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol


class RegionsWritten(Protocol):
    def __call__(self, region_codes: Sequence[str], /, *, actor: Any, reason: str) -> Any: ...


_REGIONS_WRITTEN: list[RegionsWritten] = []


def on_regions_written(callback: RegionsWritten) -> None:
    """Have `callback(region_codes, actor=, reason=)` called after registry rows of those
    regions were written (once per callback; `AppConfig.ready()` may run more than once)."""
    if callback not in _REGIONS_WRITTEN:
        _REGIONS_WRITTEN.append(callback)


def regions_written(region_codes: Sequence[str], *, actor: Any, reason: str) -> None:
    """Tell the registered apps that registry rows of `region_codes` changed (inside the
    writing transaction: what they queue runs after it commits)."""
    for callback in list(_REGIONS_WRITTEN):
        callback(region_codes, actor=actor, reason=reason)


class IncomesWritten(Protocol):
    def __call__(
        self, household_ids: Sequence[int], year: int, /, *, actor: Any, reason: str
    ) -> Any: ...


_INCOMES_WRITTEN: list[IncomesWritten] = []


def on_incomes_written(callback: IncomesWritten) -> None:
    """Have `callback(household_ids, year, actor=, reason=)` called after the households'
    income records of `year` were written (assessments judge them again, ADR 0052)."""
    if callback not in _INCOMES_WRITTEN:
        _INCOMES_WRITTEN.append(callback)


def incomes_written(household_ids: Sequence[int], year: int, *, actor: Any, reason: str) -> None:
    """Tell the registered apps that the households' incomes of `year` changed (inside the
    writing transaction: what they queue runs after it commits)."""
    for callback in list(_INCOMES_WRITTEN):
        callback(household_ids, year, actor=actor, reason=reason)


def registered() -> list[Callable[..., Any]]:
    """The registered callbacks (tests)."""
    return (
        list(_REGIONS_WRITTEN)
        + list(_INCOMES_WRITTEN)
        + list(_APPROVAL_CHECKS)
        + list(_SAMPLE_FACTS)
    )


# --- approvals (ADR 0063) -------------------------------------------------------------------


class ApprovalCheck(Protocol):
    def __call__(self, household_id: int, kind: str, /) -> list[str]: ...


_APPROVAL_CHECKS: list[ApprovalCheck] = []


def on_approval_check(callback: ApprovalCheck) -> None:
    """Have `callback(household_id, case_kind)` asked before a case's approval; it returns the
    Chinese reasons the approval must wait (empty: none). The feeds app's red-line flags."""
    if callback not in _APPROVAL_CHECKS:
        _APPROVAL_CHECKS.append(callback)


def approval_problems(household_id: int, kind: str) -> list[str]:
    """Why the approval of a `kind` case of this household must wait, from every registered
    check (inside the approving transaction)."""
    found: list[str] = []
    for callback in list(_APPROVAL_CHECKS):
        found.extend(callback(household_id, kind))
    return found


# --- the sampled self-check's figures for the county exit (issue 24 items 5, 6) -------------


class SampleFacts(Protocol):
    def __call__(self, county_code: str, year: int, /) -> dict[str, Any] | None: ...


_SAMPLE_FACTS: list[SampleFacts] = []


def on_sample_facts(callback: SampleFacts) -> None:
    """Have `callback(county_code, year)` give the county exit's sample figures (三率一度: the
    persons and households of the sampled self-check, `assessments.exits.SAMPLE_FIELDS`), or None
    when the county has no surveyed self-check for the year. The selfcheck app's."""
    if callback not in _SAMPLE_FACTS:
        _SAMPLE_FACTS.append(callback)


def sample_facts(county_code: str, year: int) -> dict[str, Any] | None:
    """The first registered callback's figures for the county and year (None: none recorded)."""
    for callback in list(_SAMPLE_FACTS):
        found = callback(county_code, year)
        if found is not None:
            return found
    return None
