"""The server's daily review (D21): a daemon thread, started and stopped with the server, that reviews
the days of the last week whose review is not complete; and which days the privacy officer is warned
about on the logcontrole page.

The log is the record of what was reviewed: every run leaves an ``audit:review:run`` entry with its
period, whoever started it (this daemon, ``vault audit review`` or the officer's button). A day is
*complete* once a run that covered it ran at least ``work_window_hours`` after the day ended: by then
every lookup and emergency access of that day has been decided (``run_review`` leaves the undecided
ones for a later run). Today and yesterday are therefore never complete, so every pass reviews at
least those two; ``run_review`` is idempotent for a period, so overlapping passes add no findings
twice. A pass is skipped when nothing was logged since this daemon's own last run and no day has
become completable since: an idle log does not grow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import structlog

from vault.audit.queries import head_seq, read_snapshot
from vault.context import Context
from vault.logcontrole.engine import ReviewResult, run_review
from vault.logcontrole.scan import ReviewRun, first_time, review_runs
from vault.logcontrole.settings import ReviewSettings
from vault.periodic import Periodic
from vault.runtime import Vault

__all__ = [
    "ACCESS_POINT",
    "LOOKBACK_DAYS",
    "OVERDUE_AFTER",
    "DailyReview",
    "pending_period",
    "unreviewed_days",
]

log = structlog.get_logger(__name__)

ACCESS_POINT: Final = "logcontrole"  # the audit entries of the server's own runs
LOOKBACK_DAYS: Final = 7
# How long after a day's end its review may still be missing before the officer is warned: the
# daemon's first pass after midnight, or a nightly timer (docs/audit.md) at 02:30, has run by then.
OVERDUE_AFTER: Final = timedelta(hours=6)
_DAY: Final = timedelta(days=1)


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _covers(run: ReviewRun, day: datetime) -> bool:
    """The run reviewed the whole day, after the day was over."""
    return run.start <= day and run.end >= day + _DAY and run.at >= day + _DAY


def _complete(runs: list[ReviewRun], day: datetime, window: timedelta) -> bool:
    return any(_covers(run, day) and run.at >= day + _DAY + window for run in runs)


def unreviewed_days(vault: Vault, now: datetime) -> list[date]:
    """The whole UTC days of the last ``LOOKBACK_DAYS`` that no review covered in full after they
    ended, oldest first; a day counts once it ended more than ``OVERDUE_AFTER`` ago, and only when the
    log had begun before its end (a new vault is not warned about the days before it existed)."""
    today = _midnight(now)
    days = [today - i * _DAY for i in range(LOOKBACK_DAYS, 0, -1)]
    days = [day for day in days if day + _DAY + OVERDUE_AFTER <= now]
    if not days:
        return []
    with read_snapshot(vault.db) as conn:
        began = first_time(conn)
        runs = review_runs(conn, days[0])
    if began is None:
        return []
    return [day.date() for day in days if began < day + _DAY and not any(_covers(run, day) for run in runs)]


def pending_period(
    vault: Vault, now: datetime, settings: ReviewSettings | None = None
) -> tuple[datetime, datetime] | None:
    """What the next pass reviews: from the first day of the last ``LOOKBACK_DAYS`` (and today) whose
    review is not complete, up to ``now``; None when nothing changed since this daemon's last run."""
    window = timedelta(hours=(settings or ReviewSettings.from_env()).work_window_hours)
    today = _midnight(now)
    days = [today - i * _DAY for i in range(LOOKBACK_DAYS, -1, -1)]
    with read_snapshot(vault.db) as conn:
        runs = review_runs(conn, days[0])
        head = head_seq(conn)
    pending = [day for day in days if not _complete(runs, day, window)]
    start = pending[0]  # today is never complete
    own = [run for run in runs if run.access_point == ACCESS_POINT]
    if own:
        last = own[-1]
        idle = last.seq == head and last.start <= start and last.end >= last.at
        # a day whose decisions fell due since the last run needs one more run to be complete
        due = any(last.at < day + _DAY + window <= now for day in pending)
        if idle and not due:
            return None
    return start, now


class DailyReview(Periodic):
    """A daemon thread that runs ``run_once`` every ``minutes`` minutes (the first one a period after
    start). A failure is logged by its type only and retried at the next period; it never ends the
    thread, nor the server."""

    thread_name = "logcontrole-review"

    def __init__(self, vault: Vault, *, minutes: float) -> None:
        super().__init__(minutes=minutes)
        self._vault = vault

    def run_once(self) -> ReviewResult | None:
        """Review the pending period (``pending_period``); None when there was nothing to do or the
        run failed."""
        vault = self._vault
        ctx = Context.system(access_point=ACCESS_POINT, clock=vault.clock)
        try:
            settings = ReviewSettings.from_env()
            period = pending_period(vault, ctx.now(), settings)
            if period is None:
                return None
            return run_review(vault, ctx, *period, settings=settings)
        except Exception as exc:  # noqa: BLE001 - a background task must survive and say why
            log.error("logcontrole_review_failed", error=type(exc).__name__)
            return None
