"""D5: triage deadline = received + 5 Dutch working days (Algemene termijnenwet holidays skipped)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from vault.services.calendar import add_months, add_working_days, is_working_day, local_date, triage_deadline


@pytest.mark.parametrize(
    ("received", "deadline", "why"),
    [
        (date(2026, 3, 2), date(2026, 3, 9), "plain week: Monday -> next Monday"),
        (date(2026, 3, 6), date(2026, 3, 13), "Friday -> next Friday, weekend skipped"),
        (date(2026, 3, 7), date(2026, 3, 13), "Saturday: counting starts Monday"),
        (
            date(2026, 4, 2),
            date(2026, 4, 13),
            "Thursday before Easter: Good Friday and Easter Monday skipped",
        ),
        (date(2026, 4, 3), date(2026, 4, 13), "received on Good Friday itself"),
        (date(2026, 4, 24), date(2026, 5, 4), "King's Day (Mon 27 April 2026) skipped"),
        (date(2025, 4, 24), date(2025, 5, 1), "King's Day on Saturday 26 April 2025 changes nothing"),
        (date(2026, 5, 4), date(2026, 5, 12), "5 May skipped every year (Atw), not only in lustrum years"),
        (
            date(2026, 5, 12),
            date(2026, 5, 20),
            "Ascension (Thu 14 May 2026) skipped; the Friday after is not",
        ),
        (date(2026, 5, 22), date(2026, 6, 1), "Whit Monday (25 May 2026) skipped"),
        (
            date(2026, 12, 24),
            date(2027, 1, 4),
            "24 Dec: both Christmas days, the weekend and New Year skipped",
        ),
        (date(2026, 12, 30), date(2027, 1, 7), "30 Dec crossing New Year"),
        (date(2027, 12, 30), date(2028, 1, 6), "30 Dec 2027: New Year on a Saturday skips nothing extra"),
    ],
)
def test_d5_triage_deadline_skips_weekends_and_dutch_holidays(
    received: date, deadline: date, why: str
) -> None:
    assert add_working_days(received, 5) == deadline, why
    noon = datetime(received.year, received.month, received.day, 10, 0, tzinfo=UTC)
    assert triage_deadline(noon) == deadline, why


def test_d5_the_received_day_is_the_dutch_calendar_day() -> None:
    # 22:30 UTC on Sunday 28 June 2026 is already Monday in Amsterdam (CEST, UTC+2).
    late = datetime(2026, 6, 28, 22, 30, tzinfo=UTC)
    assert local_date(late) == date(2026, 6, 29)
    assert triage_deadline(late) == date(2026, 7, 6)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 4, 27),
        date(2026, 5, 5),
        date(2026, 5, 14),
        date(2026, 5, 25),
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2026, 3, 7),
        date(2026, 3, 8),
    ],
)
def test_d5_non_working_days(day: date) -> None:
    assert not is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 5, 15), date(2026, 12, 24), date(2026, 12, 31), date(2026, 3, 2)])
def test_d5_bridge_days_and_eves_are_working_days(day: date) -> None:
    assert is_working_day(day)


def test_d7_months_clamp_to_the_end_of_a_short_month() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2026, 1, 31), 12) == date(2027, 1, 31)
    assert add_months(date(2026, 10, 15), 3) == date(2027, 1, 15)
