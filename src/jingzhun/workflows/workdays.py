"""Working days by the official holiday calendar: the `chinese-calendar` package (the State
Council's yearly notices: rest days and make-up working days, 调休上班) with local overrides
from policies/tables/workday_overrides.yaml (ADR 0072).

A working day is Monday to Friday, minus the announced rest days, plus the announced make-up
working days; an override row for the day (a region's own rest or working day, or a national
correction) wins over the package. A year neither the package nor the overrides file covers
(a `notice_<year>` source in it) is refused with a clear error, never guessed: a deadline that
skipped an unknown holiday would be wrong, and the error says where to add the year.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cache

import chinese_calendar

from jingzhun.core.errors import DomainError
from jingzhun.policy.schema import TableFile
from jingzhun.policy.store import PolicyError, PolicyStore, default_store

TABLE = "workday_overrides"
DAYS, WORKING_DAYS = "days", "working_days"
UNITS = {DAYS: "天", WORKING_DAYS: "个工作日"}
# The years the installed package has the notices of (inclusive).
PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


@dataclass(frozen=True)
class HolidayCalendar:
    """The package's calendar with the overrides: {(date, region prefix): working?}; region ""
    is a national row. `years` are the years the overrides file itself declares (notices the
    package does not have yet)."""

    overrides: dict[tuple[datetime.date, str], bool]
    years: frozenset[int]
    source: str  # the overrides file and its hash, for messages

    def covers(self, year: int) -> bool:
        return year in PACKAGE_YEARS or year in self.years

    def is_working_day(self, day: datetime.date, region: str = "") -> bool:
        """Whether `day` is a working day (in `region`: a 12-digit code or a prefix of one)."""
        for prefix in _prefixes(region):
            found = self.overrides.get((day, prefix))
            if found is not None:
                return found
        if day.year in PACKAGE_YEARS:
            return bool(chinese_calendar.is_workday(day))
        if day.year in self.years:  # a year the overrides file declares: weekdays + its rows
            return day.weekday() < 5
        raise DomainError(
            f"节假日安排未包含 {day.year} 年：chinese-calendar 包只有 "
            f"{PACKAGE_YEARS.start}–{PACKAGE_YEARS.stop - 1} 年的国务院办公厅通知。"
            f"请升级该包，或在 {self.source} 中补充 {day.year} 年的放假和调休上班日"
            f"（来源 notice_{day.year}）后再按工作日计算。"
        )

    def end_of(
        self, start: datetime.date, length: int, unit: str, region: str = ""
    ) -> datetime.date:
        """The last day of a period of `length` days or working days that begins on `start`.

        In working days, the period starts on the first working day on or after `start`.
        """
        if length < 1:
            raise DomainError("期限至少为 1 天。", field="length")
        if unit == DAYS:
            return start + datetime.timedelta(days=length - 1)
        if unit != WORKING_DAYS:
            raise DomainError(f"未知的计日方式：{unit}", field="unit")
        day, counted = start, 0
        while True:
            if self.is_working_day(day, region):
                counted += 1
                if counted == length:
                    return day
            day += datetime.timedelta(days=1)

    def add(self, start: datetime.date, length: int, unit: str, region: str = "") -> datetime.date:
        """The date `length` days or working days after `start` (a deadline)."""
        if unit == DAYS:
            return start + datetime.timedelta(days=length)
        return self.end_of(start + datetime.timedelta(days=1), length, unit, region)


def _prefixes(region: str) -> list[str]:
    """The override keys that apply to a region, most specific first: county (6 digits),
    province (2 digits), national ("")."""
    region = region.strip()
    found = [p for p in (region[:6] if len(region) >= 6 else "", region[:2]) if p]
    return [*found, ""]


def calendar_from(store: PolicyStore) -> HolidayCalendar:
    """The package's calendar with the newest overrides file."""
    try:
        loaded = store.table_file(TABLE, None)
    except PolicyError:
        return HolidayCalendar({}, frozenset(), f"policies/tables/{TABLE}.yaml")
    doc = loaded.doc
    assert isinstance(doc, TableFile)
    overrides: dict[tuple[datetime.date, str], bool] = {}
    for row in doc.rows:
        day = datetime.date.fromisoformat(str(row.key["date"]))
        region = str(row.key.get("region") or "")
        overrides[(day, region)] = row.value == 1
    years = {int(key.removeprefix("notice_")) for key in doc.sources if key.startswith("notice_")}
    return HolidayCalendar(overrides, frozenset(years), f"{loaded.path}@{loaded.hash[:12]}")


@cache
def official_calendar() -> HolidayCalendar:
    return calendar_from(default_store())
