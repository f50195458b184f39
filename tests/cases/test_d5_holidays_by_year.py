"""D5 (Algemene termijnenwet art. 3 lid 1): the days that never count as working days, for every year
the vault accepts (``EARLIEST_YEAR`` .. ``LATEST_YEAR``), against an expectation built here on its
own: Easter from ``dateutil`` (not the vault's own computation), the fixed days, 5 May in every
year (documented in ``vault.services.calendar``), and the monarch's day by era — Koningsdag 27 April
from 2014 (26 April on a Sunday), Koninginnedag 30 April 1980-2013 (29 April on a Sunday), 30 April
1949-1979 (1 May on a Sunday), 31 August before 1949. A renamed or dropped holiday in any year fails
here; within the years the ``holidays`` library covers, its Dutch calendar must agree too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from dateutil.easter import easter

from vault.services.calendar import EARLIEST_YEAR, LATEST_YEAR, _holidays_of, is_working_day, triage_deadline

SUNDAY = 6


def _monarchs_day(year: int) -> date:
    if year >= 2014:
        day, sunday_shift = date(year, 4, 27), -1
    elif year >= 1980:
        day, sunday_shift = date(year, 4, 30), -1
    elif year >= 1949:
        day, sunday_shift = date(year, 4, 30), 1
    else:
        return date(year, 8, 31)
    return day + timedelta(days=sunday_shift) if day.weekday() == SUNDAY else day


def _expected(year: int) -> set[date]:
    sunday = easter(year)
    return {
        date(year, 1, 1),
        sunday - timedelta(days=2),
        sunday + timedelta(days=1),
        _monarchs_day(year),
        date(year, 5, 5),
        sunday + timedelta(days=39),
        sunday + timedelta(days=50),
        date(year, 12, 25),
        date(year, 12, 26),
    }


def test_d5_every_year_skips_exactly_the_atw_days() -> None:
    wrong = [year for year in range(EARLIEST_YEAR, LATEST_YEAR + 1) if _holidays_of(year) != _expected(year)]
    assert wrong == []


_ATW_NAMES = {
    "New Year's Day",
    "Good Friday",
    "Easter Monday",
    "King's Day",
    "Queen's Day",
    "Ascension Day",
    "Pentecost Monday",
    "Christmas Day",
    "Second Day of Christmas",
}


def test_d5_the_holidays_library_agrees_where_it_has_the_year() -> None:
    """A second, outside source (1966-2100 in the library): its Atw days plus 5 May every year."""
    first, last = max(EARLIEST_YEAR, 1966), min(LATEST_YEAR, 2100)
    for year in range(first, last + 1):
        listed = holidays.country_holidays("NL", years=year, language="en_US")
        theirs = {day for day, name in listed.items() if name in _ATW_NAMES} | {date(year, 5, 5)}
        assert theirs == set(_holidays_of(year)), year


@pytest.mark.parametrize(
    "day",
    [
        date(2013, 4, 30),  # Koninginnedag, a Tuesday
        date(2006, 4, 29),  # 30 April a Sunday: Saturday 29th (weekend anyway, but listed)
        date(1978, 5, 1),  # 30 April a Sunday before 1980: Monday 1 May
        date(1975, 4, 30),  # a Wednesday
        date(1948, 8, 31),  # Koninginnedag of Queen Wilhelmina, a Tuesday
        date(2014, 4, 26),  # the first Koningsdag: 27 April a Sunday
        date(2026, 4, 27),
    ],
)
def test_d5_the_monarchs_day_of_each_era_is_no_working_day(day: date) -> None:
    assert day in _holidays_of(day.year)
    assert not is_working_day(day)


def test_d5_queens_day_2013_moves_a_backdated_deadline() -> None:
    # received Mon 29-04-2013: Tue 30 (Koninginnedag), Wed 1, Thu 2, Fri 3, Mon 6 (5 May a Sunday), Tue 7
    assert triage_deadline(datetime(2013, 4, 29, 10, 0, tzinfo=UTC)) == date(2013, 5, 7)
    assert is_working_day(date(2013, 4, 27)) is False  # a Saturday
    assert is_working_day(date(2013, 4, 29))  # the day before Koninginnedag works
