"""Dutch working days and the deadlines of the Veilig Thuis way of working (D5, D7).

One rule, one function: `is_working_day`. A day is *not* a working day when it is a Saturday, a
Sunday, or an "algemeen erkende feestdag" of the Algemene termijnenwet (art. 3 lid 1 and 2):
Nieuwjaarsdag, Goede Vrijdag, tweede Paasdag, Koningsdag, 5 mei (every year, not only every fifth),
Hemelvaartsdag, tweede Pinksterdag, eerste en tweede Kerstdag. The statutory five-working-day triage
term (D5) is a term set by law, so the law's own list of non-working days decides, not a CAO.

The dates come from `holidays.country_holidays("NL")` (Koningsdag moves to 26 April when 27 April is
a Sunday; Easter-based days are computed), plus 5 May in every year, which that calendar lists only
in lustrum years. Days equated with a holiday by royal decree (Atw art. 3 lid 3, e.g. the Friday
after Ascension) are *not* skipped: they are published per three years and would need a maintained
list; skipping fewer days gives an earlier deadline, which errs on the side of the family's safety.

Deadlines are calendar dates in Europe/Amsterdam: a report received at 23:30 UTC on a Sunday in
summer was received on Monday in the Netherlands.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final, TypeVar

import holidays

from vault.errors import InvalidInput
from vault.labels import AMSTERDAM

__all__ = [
    "DATE_RANGE_PROBLEM",
    "EARLIEST_YEAR",
    "INVESTIGATION_JUDGEMENT_WEEKS",
    "INVESTIGATION_START_DAYS",
    "LATEST_YEAR",
    "MONITORING_MONTHS",
    "NL_TZ",
    "TIME_ZONE_PROBLEM",
    "TRIAGE_WORKING_DAYS",
    "add_months",
    "add_working_days",
    "check_date",
    "date_problem",
    "is_working_day",
    "local_date",
    "triage_deadline",
]

NL_TZ = AMSTERDAM  # one zone for the whole vault (vault.labels)
TRIAGE_WORKING_DAYS = 5  # D5, seed 001
INVESTIGATION_START_DAYS = 5  # calendar days after the decision to investigate
INVESTIGATION_JUDGEMENT_WEEKS = 10  # after the decision to investigate
MONITORING_MONTHS = (3, 12)  # D7, seed 001: after the end of the investigation

# The one rule for every date and time the vault takes from outside (API, web forms, CLI): a year in
# this range. Python's dates end at the years 1 and 9999, and a time zone, a day added for an
# inclusive end or a review's look-ahead would step past them (OverflowError); no date the vault
# works with lies anywhere near either end.
EARLIEST_YEAR: Final = 1900
LATEST_YEAR: Final = 2999
DATE_RANGE_PROBLEM: Final = f"give a date in the years {EARLIEST_YEAR} to {LATEST_YEAR}"
TIME_ZONE_PROBLEM: Final = "give a time zone (for example 2026-03-02T09:00:00Z)"

_D = TypeVar("_D", bound=date)

_SKIPPED_NAMES = frozenset(
    {
        "New Year's Day",
        "Good Friday",
        "Easter Monday",
        "King's Day",
        "Liberation Day",
        "Ascension Day",
        "Pentecost Monday",
        "Christmas Day",
        "Second Day of Christmas",
    }
)


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    calendar = holidays.country_holidays("NL", years=year, language="en_US")
    days = {day for day, name in calendar.items() if name in _SKIPPED_NAMES}
    days.add(date(year, 5, 5))  # Atw art. 3 lid 1 "de vijfde mei": every year
    return frozenset(days)


def is_working_day(day: date) -> bool:
    """The one rule: not a Saturday, Sunday, or holiday of the Algemene termijnenwet."""
    return day.weekday() < 5 and day not in _holidays_of(day.year)


def add_working_days(start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself never counts)."""
    if count < 0:
        raise ValueError("count must not be negative")
    day = start
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def date_problem(value: date) -> str | None:
    """What is wrong with a date or time from outside (never the value itself), or None: a time needs
    a time zone, and either needs a year from ``EARLIEST_YEAR`` to ``LATEST_YEAR``."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return TIME_ZONE_PROBLEM
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return DATE_RANGE_PROBLEM
    return None


def check_date(value: _D, name: str) -> _D:
    """``value`` if ``date_problem`` finds nothing; else ``InvalidInput`` naming ``name`` (rule
    ``date-out-of-range`` or ``date-needs-time-zone``), never the value."""
    problem = date_problem(value)
    if problem is not None:
        rule = "date-needs-time-zone" if problem == TIME_ZONE_PROBLEM else "date-out-of-range"
        raise InvalidInput(f"{name}: {problem}", rule=rule)
    return value


def local_date(moment: datetime) -> date:
    """The Dutch calendar date of an aware instant."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(NL_TZ).date()


def triage_deadline(received_at: datetime) -> date:
    """D5: the last day on which triage must be done — received + 5 Dutch working days."""
    return add_working_days(local_date(received_at), TRIAGE_WORKING_DAYS)


def add_months(day: date, months: int) -> date:
    """Calendar months; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError("unreachable")  # pragma: no cover
