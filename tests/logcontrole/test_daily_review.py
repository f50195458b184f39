"""D21 "a daily automatic review": the server's own review (``DailyReview``) reviews the days of the last
week whose review is not complete — at least yesterday and today — without adding a finding twice,
catches up after the server was down, leaves an idle log alone, survives a failure (logged by its
type only, retried next time), and starts and stops with the server. Driven by the FrozenClock: each
pass is called directly (``run_once``), never waited for."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from structlog.testing import capture_logs

from tests.logcontrole.conftest import DAY, World, of
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Decision
from vault.logcontrole.daily import ACCESS_POINT, DailyReview, unreviewed_days
from vault.logcontrole.store import list_findings
from vault.models import AuditEntry, FindingEntry
from vault.runtime import Vault, open_vault

NIGHT = DAY + timedelta(days=1, hours=3)  # 11-03 03:00 UTC: DAY is yesterday


def _runs(vault: Vault) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.tag == AuditTag.AUDIT_REVIEW_RUN.value)
                .order_by(AuditEntry.seq)
            )
        )
        session.expunge_all()
        return rows


def _evidence(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(FindingEntry)) or 0)


def _probe(world: World, user: str, case: str, day_at: timedelta) -> None:
    for i in range(3):
        world.log(user, DAY + day_at + timedelta(minutes=i), case_id=case, decision=Decision.DENY)


def test_d21_the_server_reviews_yesterday_and_today_without_duplicates(
    world: World, clock: FrozenClock
) -> None:
    vault = world.vault
    clock.set(NIGHT)
    _probe(world, world.b1, world.case, timedelta(hours=10))
    reviewer = DailyReview(vault, minutes=60)

    first = reviewer.run_once()
    assert first is not None
    assert first.start == DAY - timedelta(days=6)  # nothing reviewed yet: the whole last week
    assert (first.end, first.new, first.by_detector) == (NIGHT, 1, {"probing": 1})
    [run] = _runs(vault)
    assert (run.actor_id, run.access_point) == ("system", ACCESS_POINT)
    evidence = _evidence(vault)

    # Nothing logged since its own run and no day fell due: an idle log does not grow.
    assert reviewer.run_once() is None
    assert len(_runs(vault)) == 1

    clock.advance(hours=1)
    world.log(world.a1, clock.now(), case_id=world.case)  # work goes on today
    again = reviewer.run_once()
    assert again is not None
    assert (again.start, again.end) == (DAY, clock.now())  # yesterday (not complete yet) and today
    assert (again.new, again.updated) == (0, 1)
    with vault.db.session() as session:
        assert [f.detector for f in list_findings(session)] == ["probing"]
    assert _evidence(vault) == evidence  # the same evidence, not added twice


def test_d21_the_server_catches_up_the_days_it_missed(world: World, clock: FrozenClock) -> None:
    vault = world.vault
    clock.set(NIGHT)
    reviewer = DailyReview(vault, minutes=60)
    assert reviewer.run_once() is not None

    # A day's decisions (lookups, emergency access) fall due a work window after it ended: one more
    # pass then, even with nothing new in the log; none after that.
    clock.set(DAY + timedelta(days=2, hours=1))
    assert reviewer.run_once() is not None
    clock.advance(hours=1)
    assert reviewer.run_once() is None

    # The server is down for three days; meanwhile entries were written (the CLI, another worker).
    _probe(world, world.a2, world.other_case, timedelta(days=3, hours=9))
    clock.set(DAY + timedelta(days=5, hours=3))
    caught_up = reviewer.run_once()
    assert caught_up is not None
    assert caught_up.start == DAY + timedelta(days=1)  # the first day not yet complete
    assert caught_up.by_detector == {"probing": 1}
    with vault.db.session() as session:
        found = of(list_findings(session), "probing")
    assert [(f.actor_id, f.case_id, f.day) for f in found] == [(world.a2, world.other_case, "2026-03-13")]
    assert unreviewed_days(vault, clock.now()) == []


def test_d21_a_failed_review_is_logged_by_type_and_retried(
    world: World, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = world.vault
    clock.set(NIGHT)
    _probe(world, world.b1, world.case, timedelta(hours=10))
    reviewer = DailyReview(vault, minutes=60)
    monkeypatch.setenv("VAULT_LOGCONTROLE_SPIKE_READERS", "zes of zeven")  # a bad setting: the run fails
    with capture_logs() as logs:
        assert reviewer.run_once() is None
    assert logs == [{"event": "logcontrole_review_failed", "error": "InvalidInput", "log_level": "error"}]
    assert _runs(vault) == []

    monkeypatch.delenv("VAULT_LOGCONTROLE_SPIKE_READERS")
    retried = reviewer.run_once()
    assert retried is not None
    assert retried.by_detector == {"probing": 1}


def _reviewers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "logcontrole-review" and t.is_alive()]


def test_d21_the_review_starts_and_stops_with_the_server(vault: Vault, clock: FrozenClock) -> None:
    before = _reviewers()
    with TestClient(create_app(vault)):
        started = [t for t in _reviewers() if t not in before]
        assert len(started) == 1
        assert started[0].daemon
    assert not started[0].is_alive()

    off = open_vault(vault.settings.model_copy(update={"logcontrole_review_minutes": 0}), clock=clock)
    try:
        with TestClient(create_app(off)):
            assert [t for t in _reviewers() if t not in before] == []
    finally:
        off.close()
