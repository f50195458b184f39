"""A full verification of the audit log started by the privacy officer, run in the background.

One thread in the server process, one verification at a time per vault: a second start while one
runs is refused (``Conflict``). ``DailyVerification`` starts one as ``system`` when the last one is
older than ``VAULT_AUDIT_VERIFY_HOURS`` (24), so the range the cheap integrity status must re-read
(every entry after the last full verification, ``integrity_status``) stays about a day's entries.
The job walks the whole log (``verify_log``) with progress, then records the result with
``record_verification`` (kept for the integrity status, and audited as ``audit:log:verified`` under
whoever started it). Progress lives in this process only: with
several server processes, each knows the job it runs; the *result* is in the database for all.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from vault.audit import queries
from vault.audit.verification import LAST_VERIFY_KEY, record_verification, verify_log
from vault.context import Context
from vault.periodic import Periodic
from vault.runtime import Vault

__all__ = ["DailyVerification", "FullVerification", "JobState", "full_verification"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class JobState:
    running: bool
    checked: int
    total: int
    started_at: datetime | None
    finished_at: datetime | None
    ok: bool | None  # the outcome of the last job (None: none finished, or it could not complete)
    failed: bool  # the last job stopped with an error before it had a result

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class FullVerification:
    """The background verification of one vault. ``lock`` guards the job's state; the job takes it at
    every progress step. ``starting`` is held from a start's check to its launch, across the officer's
    audited transaction (``audit_reports.start_full_verification``): two starts in this process take
    turns, so only one is recorded as started."""

    def __init__(self, vault: Vault) -> None:
        self._vault = weakref.ref(vault)
        self.lock = threading.RLock()
        self.starting = threading.RLock()
        self._thread: threading.Thread | None = None
        self._state = JobState(False, 0, 0, None, None, None, False)

    def state(self) -> JobState:
        with self.lock:
            return self._state

    @property
    def running(self) -> bool:
        with self.lock:
            return self._state.running

    def start(self, ctx: Context) -> bool:
        """Start a verification for ``ctx`` (who is recorded as having run it); False if one runs."""
        vault = self._vault()
        if vault is None:
            return False
        with self.starting, self.lock:
            if self._state.running:
                return False
            with queries.read_snapshot(vault.db) as conn:
                total = queries.head_seq(conn)
            self._state = JobState(True, 0, total, ctx.now(), None, None, False)
            self._thread = threading.Thread(
                target=self._run, args=(ctx,), name="vault-full-verify", daemon=True
            )
            self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for the running job (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _advance(self, done: int) -> None:
        with self.lock:
            state = self._state
            self._state = JobState(True, done, max(state.total, done), state.started_at, None, None, False)

    def _finish(self, ctx: Context, ok: bool | None) -> None:
        with self.lock:
            state = self._state
            self._state = JobState(
                False, state.checked, state.total, state.started_at, ctx.now(), ok, ok is None
            )

    def _run(self, ctx: Context) -> None:
        vault = self._vault()
        if vault is None:
            return
        try:
            report = verify_log(vault, progress=self._advance)
            record_verification(vault, ctx, report)
        except Exception as exc:  # noqa: BLE001 - the job reports that it failed; the server lives on
            log.error("full_verification_failed", error=type(exc).__name__)
            self._finish(ctx, None)
            return
        self._finish(ctx, report.ok)


_runners: dict[int, FullVerification] = {}
_runners_lock = threading.Lock()


def full_verification(vault: Vault) -> FullVerification:
    """The background verification of ``vault`` (one per vault object in this process)."""
    with _runners_lock:
        runner = _runners.get(id(vault))
        if runner is None or runner._vault() is not vault:
            runner = _runners[id(vault)] = FullVerification(vault)
            weakref.finalize(vault, _runners.pop, id(vault), None)
        return runner


def _due(last: dict[str, Any] | None, now: datetime, hours: float) -> bool:
    """No full verification yet, or the last one (passed or not) started more than ``hours`` ago."""
    try:
        at = datetime.fromisoformat(str((last or {})["at"]))
    except (KeyError, ValueError):
        return True
    return now - at >= timedelta(hours=hours)


class DailyVerification(Periodic):
    """Every hour (or every ``hours``, if shorter) in the server: start a full verification as
    ``system`` when the last one is older than ``hours``. Each node checks the shared result first, so
    nodes seldom both run one (a second run is harmless: read-only, its result recorded again)."""

    thread_name = "audit-full-verify"

    def __init__(self, vault: Vault, *, hours: float) -> None:
        super().__init__(minutes=min(60.0, hours * 60.0))
        self._vault = vault
        self._hours = hours

    def run_once(self) -> bool:
        vault = self._vault
        try:
            with queries.read_snapshot(vault.db) as conn:
                last = queries.get_meta(conn, LAST_VERIFY_KEY)
            if not _due(last, vault.clock.now(), self._hours):
                return False
            ctx = Context.system(access_point="audit-full-verify", clock=vault.clock)
            return full_verification(vault).start(ctx)
        except Exception as exc:  # noqa: BLE001 - a background task must survive and say why
            log.error("full_verification_not_started", error=type(exc).__name__)
            return False
