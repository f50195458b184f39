"""D16: the server starts a full verification of the log when the last one is older than
``VAULT_AUDIT_VERIFY_HOURS`` (or there is none), recorded as ``system``: the cheap integrity status
re-reads every entry after the last full verification, so this keeps that range about a day long."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from vault.audit import queries
from vault.audit.checkpoints import AuditSettings
from vault.audit.verification import LAST_VERIFY_KEY
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.integrity_check import DailyVerification, full_verification


def _verifications(vault: Vault) -> list[AuditEntry]:
    with vault.db.session() as session:
        tag = AuditTag.AUDIT_LOG_VERIFIED.value
        return list(session.scalars(select(AuditEntry).where(AuditEntry.tag == tag)))


def _run(daily: DailyVerification, vault: Vault) -> bool:
    started = daily.run_once()
    full_verification(vault).join(60)
    return started


def test_d16_a_full_verification_runs_when_none_ran_and_again_a_day_later(
    vault: Vault, clock: FrozenClock
) -> None:
    daily = DailyVerification(vault, hours=24)
    assert _run(daily, vault)  # none yet
    (first,) = _verifications(vault)
    assert (first.actor_id, first.access_point) == ("system", "audit-full-verify")
    with queries.read_snapshot(vault.db) as conn:
        last = queries.get_meta(conn, LAST_VERIFY_KEY)
    assert last is not None
    assert last["ok"] is True

    clock.advance(hours=23)
    assert not _run(daily, vault)  # the last one is recent enough
    assert len(_verifications(vault)) == 1
    clock.advance(hours=2)
    assert _run(daily, vault)
    assert len(_verifications(vault)) == 2


def test_d16_the_server_verifies_daily_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AuditSettings().verify_hours == 24
    monkeypatch.setenv("VAULT_AUDIT_VERIFY_HOURS", "0")
    assert AuditSettings().verify_hours == 0
