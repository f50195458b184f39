"""Session 16 review (D21): two reviews of the same period at once (the server's daily run and the
privacy officer's "review now", or two server workers) must both finish, with one finding per identity.

O5: ``write_candidates`` read the known findings and inserted new ones before taking the audit chain's
lock (the review's own ``audit:review:run`` entry took it last). On PostgreSQL the second run read no
findings (the first had not committed), inserted the same identity, waited on the unique index, and
failed with a unique violation once the first committed: a server error on the officer's button,
and a daily run lost. Here the chain lock is held while both runs reach their write, which makes the
race exact.

PostgreSQL only: on SQLite every transaction is ``BEGIN IMMEDIATE`` (one writer at a time).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.conftest import Backend
from tests.logcontrole.conftest import DAY, World
from vault.audit.log import hold_chain
from vault.context import Context, FrozenClock
from vault.domain import Decision
from vault.logcontrole.engine import run_review
from vault.logcontrole.settings import ReviewSettings
from vault.models import Finding

NOON = DAY + timedelta(hours=10)


@pytest.fixture(autouse=True)
def _postgresql_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite's transactions are BEGIN IMMEDIATE: two reviews cannot interleave")


def _waiting(world: World) -> int:
    with world.vault.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one())


def test_d21_o5_two_reviews_of_one_period_at_once_both_finish_with_one_finding(world: World) -> None:
    for i in range(3):
        world.log(world.b1, NOON + timedelta(minutes=i), case_id=world.case, decision=Decision.DENY)
    errors: list[BaseException] = []

    def review() -> None:
        ctx = Context.system(access_point="test", clock=FrozenClock(DAY + timedelta(days=3)))
        try:
            run_review(world.vault, ctx, DAY, DAY + timedelta(days=1), settings=ReviewSettings())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    runs = [threading.Thread(target=review) for _ in range(2)]
    with world.vault.db.session() as session:
        hold_chain(session)
        for run in runs:
            run.start()
        deadline = time.monotonic() + 60
        while _waiting(world) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting(world) >= 2, "both reviews should be waiting for their write"
    for run in runs:
        run.join(timeout=120)
    assert not errors, f"a concurrent review failed: {[type(e).__name__ for e in errors]}"
    with world.vault.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Finding)) == 1
