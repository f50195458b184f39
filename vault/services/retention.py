"""Retention arithmetic (D11): destroy_after = last change + 20 years."""

from __future__ import annotations

from datetime import datetime

__all__ = ["RETENTION_YEARS", "destroy_after_for"]

RETENTION_YEARS = 20  # Wmo 2015 art. 5.3.4 lid 2


def destroy_after_for(last_change: datetime) -> datetime:
    try:
        return last_change.replace(year=last_change.year + RETENTION_YEARS)
    except ValueError:  # 29 February in a year that has none: the day before
        return last_change.replace(year=last_change.year + RETENTION_YEARS, day=28)
