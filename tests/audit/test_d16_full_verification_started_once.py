"""D16, D21: two starts of a full verification at the same moment (a double click on "Volledige
controle starten", the page open twice) are recorded as one start; the second is told one is running.

Before session 18 both requests could find no job running, both wrote ``audit:log:verify-started`` and
only one job ran: the log said the privacy officer started two verifications. The starts now take turns
(``FullVerification.starting``) from the check to the launch.

The two probes below only slow the real code down (a pause before the launch, a job that waits before
it walks the log), so the window the race needs is wide on any machine; nothing is replaced.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from tests.web.world import World, build_world
from vault.context import Context
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import audit_reports, integrity_check
from vault.services.integrity_check import FullVerification, full_verification


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _officer(vault: Vault, world: World) -> Context:
    return Context(
        actor_id=world.officer.user_id,
        role=str(Role.PRIVACY_OFFICER),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _started(vault: Vault) -> int:
    with vault.db.session() as session:
        tag = AuditEntry.tag == str(AuditTag.AUDIT_LOG_VERIFY_STARTED)
        return int(session.scalar(select(func.count()).select_from(AuditEntry).where(tag)) or 0)


def test_d16_two_starts_at_once_are_recorded_as_one(
    vault: Vault, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    walk = integrity_check.verify_log

    def held_walk(v: Vault, *, progress: object) -> object:
        release.wait(60)  # the job stays running until both starts have answered
        return walk(v, progress=progress)  # type: ignore[arg-type]

    launch = FullVerification.start

    def slow_launch(self: FullVerification, ctx: Context) -> bool:
        time.sleep(0.5)  # the moment between the audited start and the launch, made wide
        return launch(self, ctx)

    monkeypatch.setattr(integrity_check, "verify_log", held_walk)
    monkeypatch.setattr(FullVerification, "start", slow_launch)
    officer = _officer(vault, world)
    answers: list[str] = []

    def click() -> None:
        try:
            audit_reports.start_full_verification(vault, officer)
            answers.append("started")
        except Conflict:
            answers.append("already running")

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join(60)
    release.set()
    full_verification(vault).join(timeout=120)

    assert sorted(answers) == ["already running", "started"]
    assert _started(vault) == 1
