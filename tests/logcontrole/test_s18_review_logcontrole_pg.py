"""Session 18 review (D21): a verdict and a review of the same finding at once (PostgreSQL).

The verdict wrote the finding's row first and took the audit chain's lock when it recorded its entry;
the review takes the chain lock first and then writes the same row (``run_review``, O5). Two orders
of the same two locks: PostgreSQL found a deadlock and broke one of them off, so the officer's verdict
or the daily pass was lost. Here the chain lock is held while both reach it, which makes the race exact.

PostgreSQL only: on SQLite every transaction is ``BEGIN IMMEDIATE`` (one writer at a time).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.conftest import Backend
from tests.logcontrole.conftest import DAY, World, of
from vault.audit.log import hold_chain
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.engine import run_review
from vault.logcontrole.service import set_finding_status
from vault.logcontrole.settings import ReviewSettings
from vault.models import Finding
from vault.transaction import transaction

NOON = DAY + timedelta(hours=10)
WHY = "Besproken met de teamleider: een typefout in het zaaknummer."


@pytest.fixture(autouse=True)
def _postgresql_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite's transactions are BEGIN IMMEDIATE: a verdict and a review cannot interleave")


def _waiting(world: World) -> int:
    with world.vault.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one())


def _wait_for(world: World, count: int) -> None:
    deadline = time.monotonic() + 60
    while _waiting(world) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _waiting(world) >= count, f"expected {count} waiting transactions"


def test_d21_a_verdict_and_a_review_of_the_same_finding_at_once_both_finish(world: World) -> None:
    for i in range(3):
        world.log(
            world.b1,
            NOON + timedelta(minutes=i),
            AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=world.case,
            decision=Decision.DENY,
        )
    finding_id = of(world.review(), "probing")[0].id
    world.log(
        world.b1,
        NOON + timedelta(minutes=9),
        AuditTag.DOSSIER_ACCESS_DENIED,
        case_id=world.case,
        decision=Decision.DENY,
    )
    errors: list[BaseException] = []

    def review() -> None:
        ctx = Context.system(access_point="test", clock=FrozenClock(DAY + timedelta(days=3)))
        try:
            run_review(world.vault, ctx, DAY, DAY + timedelta(days=1), settings=ReviewSettings())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def verdict() -> None:
        officer = world.ctx(world.fg, DAY + timedelta(days=3), Role.PRIVACY_OFFICER)
        try:
            with transaction(world.vault.db) as session:
                set_finding_status(session, world.vault, officer, finding_id, "verklaard", WHY)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first, second = threading.Thread(target=review), threading.Thread(target=verdict)
    with world.vault.db.session() as session:
        hold_chain(session)
        first.start()
        _wait_for(world, 1)  # the review waits for the chain lock, before it writes the finding
        second.start()
        _wait_for(world, 2)  # the verdict waits too
    for thread in (first, second):
        thread.join(timeout=120)
    assert not errors, f"one of the two failed: {[type(e).__name__ for e in errors]}"
    with world.vault.db.session() as session:
        found = session.get(Finding, finding_id)
        assert found is not None
        assert found.status == "verklaard"
