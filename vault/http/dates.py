"""Dates and times a client sends to the API: one type each, checked before any route runs.

``Day`` is a calendar date, ``Moment`` an instant with a time zone; both refuse a year outside
``EARLIEST_YEAR``..``LATEST_YEAR`` (``vault.services.calendar.date_problem``, the rule the services,
web pages and CLI apply too). A refusal is a 422 naming the field and the problem, never the value:
a year such as 0001 or 9999 would otherwise overflow when a time zone or a day is added (HTTP 500).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator

from vault.services.calendar import date_problem

__all__ = ["Day", "Moment"]


def _checked_day(value: date) -> date:
    problem = date_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _checked_moment(value: datetime) -> datetime:
    problem = date_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Day = Annotated[date, AfterValidator(_checked_day)]
Moment = Annotated[datetime, AfterValidator(_checked_moment)]
