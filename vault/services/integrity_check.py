"""A full verification of the audit log started by the privacy officer, run in the background.

One thread in the server process, one verification at a time per vault: a second start while one
runs is refused (``Conflict``). The job walks the whole log (``verify_log``) with progress, then
records the result with ``record_verification`` (kept for the integrity status, and audited as
``audit:log:verified`` under the officer who started it). Progress lives in this process only: with
several server processes, each knows the job it runs; the *result* is in the database for all.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from vault.audit import queries
from vault.audit.verification import record_verification, verify_log
from vault.context import Context
from vault.runtime import Vault

__all__ = ["FullVerification", "JobState", "full_verification"]

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
    every progress step."""

    def __init__(self, vault: Vault) -> None:
        self._vault = weakref.ref(vault)
        self.lock = threading.RLock()
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
        with self.lock:
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
