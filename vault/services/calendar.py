"""Dutch working days and the deadlines of the Veilig Thuis way of working (D5, D7).

One rule, one function: `is_working_day`. A day is *not* a working day when it is a Saturday, a
Sunday, or an "algemeen erkende feestdag" of the Algemene termijnenwet (art. 3 lid 1 and 2):
Nieuwjaarsdag, Goede Vrijdag, tweede Paasdag, Koningsdag, 5 mei (every year, not only every fifth),
Hemelvaartsdag, tweede Pinksterdag, eerste en tweede Kerstdag. The statutory five-working-day triage
term (D5) is a term set by law, so the law's own list of non-working days decides, not a CAO.

The days are computed here by rule for every year the vault accepts (``EARLIEST_YEAR`` to
``LATEST_YEAR``), not picked from a holiday library by name (a library that renames a day, e.g.
"Queen's Day" before 2014, or covers fewer years, would silently turn it into a working day):
fixed days (1 January, 5 May in every year, 25 and 26 December), the Easter-based days (Good
Friday, Easter Monday, Ascension = Easter + 39, Whit Monday = Easter + 50; Gregorian Easter), and
the celebrated birthday of the monarch by era: 27 April from 2014 (26 April when the 27th is a
Sunday), 30 April from 1980 to 2013 (29 April when the 30th is a Sunday), 30 April from 1949 to 1979
(1 May when the 30th is a Sunday), 31 August up to 1948 (Queen Wilhelmina; no other year before the
Atw of 1964 matters in practice). Days equated with a holiday by royal decree (Atw art. 3 lid 3,
e.g. the Friday after Ascension) are *not* skipped: they are published per three years and would
need a maintained list; skipping fewer days gives an earlier deadline, which errs on the side of the
family's safety.

Deadlines are calendar dates in Europe/Amsterdam: a report received at 23:30 UTC on a Sunday in
summer was received on Monday in the Netherlands.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final, TypeVar

from vault.errors import InvalidInput
from vault.labels import AMSTERDAM

__all__ = [
    "DATE_OUT_OF_RANGE",
    "DATE_RANGE_PROBLEM",
    "EARLIEST_YEAR",
    "INVESTIGATION_JUDGEMENT_WEEKS",
    "INVESTIGATION_START_DAYS",
    "LATEST_YEAR",
    "MONITORING_LOOK_AHEAD_DAYS",
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
# D7: how far ahead the monitoring list looks (the start page's "Monitoring" list), and so how early a
# moment may be marked done: a moment further away is not due yet.
MONITORING_LOOK_AHEAD_DAYS = 14

# The one rule for every date and time the vault takes from outside (API, web forms, CLI): a year in
# this range. Python's dates end at the years 1 and 9999, and a time zone, a day added for an
# inclusive end or a review's look-ahead would step past them (OverflowError); no date the vault
# works with lies anywhere near either end.
EARLIEST_YEAR: Final = 1900
LATEST_YEAR: Final = 2999
DATE_RANGE_PROBLEM: Final = f"give a date in the years {EARLIEST_YEAR} to {LATEST_YEAR}"
TIME_ZONE_PROBLEM: Final = "give a time zone (for example 2026-03-02T09:00:00Z)"

_D = TypeVar("_D", bound=date)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _monarchs_day(year: int) -> date:
    """Koningsdag / Koninginnedag as celebrated in ``year`` (Atw art. 3 lid 1)."""
    if year >= 2014:
        day = date(year, 4, 27)
        return day - timedelta(days=1) if day.weekday() == 6 else day
    if year >= 1980:
        day = date(year, 4, 30)
        return day - timedelta(days=1) if day.weekday() == 6 else day
    if year >= 1949:
        day = date(year, 4, 30)
        return day + timedelta(days=1) if day.weekday() == 6 else day
    return date(year, 8, 31)


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    """The Atw's "algemeen erkende feestdagen" of ``year`` (see the module's docstring)."""
    easter = _easter(year)
    return frozenset(
        {
            date(year, 1, 1),  # Nieuwjaarsdag
            easter - timedelta(days=2),  # Goede Vrijdag
            easter + timedelta(days=1),  # tweede Paasdag
            _monarchs_day(year),  # Koningsdag / Koninginnedag
            date(year, 5, 5),  # art. 3 lid 1 "de vijfde mei": every year
            easter + timedelta(days=39),  # Hemelvaartsdag
            easter + timedelta(days=50),  # tweede Pinksterdag
            date(year, 12, 25),  # eerste Kerstdag
            date(year, 12, 26),  # tweede Kerstdag
        }
    )


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


DATE_OUT_OF_RANGE = "date-out-of-range"  # the rule of a date whose year lies outside the range


def check_date(value: _D, name: str) -> _D:
    """``value`` if ``date_problem`` finds nothing; else ``InvalidInput`` naming ``name`` (rule
    ``date-out-of-range`` or ``date-needs-time-zone``), never the value."""
    problem = date_problem(value)
    if problem is not None:
        rule = "date-needs-time-zone" if problem == TIME_ZONE_PROBLEM else DATE_OUT_OF_RANGE
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
