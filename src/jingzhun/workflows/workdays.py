"""Working days by the official holiday calendar (policies/tables/holiday_calendar.yaml).

A working day is Monday to Friday, minus the announced holidays, plus the announced make-up
working days (调休上班). A year the calendar does not cover is refused, never guessed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cache

from jingzhun.core.errors import DomainError
from jingzhun.policy.schema import TableFile
from jingzhun.policy.store import PolicyStore, default_store

TABLE = "holiday_calendar"
DAYS, WORKING_DAYS = "days", "working_days"
UNITS = {DAYS: "天", WORKING_DAYS: "个工作日"}


@dataclass(frozen=True)
class HolidayCalendar:
    """The announced rest days and make-up working days, and the years they cover."""

    holidays: frozenset[datetime.date]
    workdays: frozenset[datetime.date]
    years: frozenset[int]

    def is_working_day(self, day: datetime.date) -> bool:
        if day.year not in self.years:
            raise DomainError(
                f"节假日安排表未包含 {day.year} 年（国务院办公厅当年通知），无法按工作日计算。"
            )
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def end_of(self, start: datetime.date, length: int, unit: str) -> datetime.date:
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
            if self.is_working_day(day):
                counted += 1
                if counted == length:
                    return day
            day += datetime.timedelta(days=1)

    def add(self, start: datetime.date, length: int, unit: str) -> datetime.date:
        """The date `length` days or working days after `start` (a deadline)."""
        if unit == DAYS:
            return start + datetime.timedelta(days=length)
        return self.end_of(start + datetime.timedelta(days=1), length, unit)


def calendar_from(store: PolicyStore) -> HolidayCalendar:
    doc = store.table_file(TABLE, None).doc
    assert isinstance(doc, TableFile)
    holidays: set[datetime.date] = set()
    workdays: set[datetime.date] = set()
    for row in doc.rows:
        day = datetime.date.fromisoformat(str(row.key["date"]))
        (workdays if row.value == 1 else holidays).add(day)
    years = {int(key.removeprefix("notice_")) for key in doc.sources if key.startswith("notice_")}
    return HolidayCalendar(frozenset(holidays), frozenset(workdays), frozenset(years))


@cache
def official_calendar() -> HolidayCalendar:
    return calendar_from(default_store())
