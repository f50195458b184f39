"""The integrity status is green only when the last full verification passed and the cheap check of
the tail holds; "never verified" is its own (amber) state; the privacy officer starts a full
verification from the web page, in the background, one at a time, recorded and audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.helpers import api_user, drop_append_only
from tests.web.world import World, build_world, csrf_of, web_login
from vault.app import create_app
from vault.audit import record
from vault.audit.checkpoints import create_checkpoint
from vault.audit.verification import IntegrityState, integrity_status, record_verification, verify_log
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import audit_reports
from vault.services.integrity_check import full_verification


@pytest.fixture
def app(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("VAULT_AUDIT_CHECKPOINT_MINUTES", "0")
    return create_app(vault)


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _append(vault: Vault, ctx: Context, n: int) -> None:
    for i in range(n):
        with vault.db.session() as session:
            record(session, ctx, AuditTag.SYSTEM_READINESS_PROBE, object_type="test", object_id=f"obj-{i}")


def _tamper_below_the_checkpoint(vault: Vault, system_ctx: Context) -> None:
    """Change an entry the latest checkpoint covers: the cheap check (tail only) cannot see it, a full
    verification does."""
    _append(vault, system_ctx, 4)
    create_checkpoint(vault)
    _append(vault, system_ctx, 2)
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("UPDATE audit_entries SET object_id = 'forged' WHERE seq = 2"))


def _tags(vault: Vault) -> list[tuple[str, str | None]]:
    with vault.db.session() as session:
        return [(r.tag, r.actor_id) for r in session.execute(select(AuditEntry.tag, AuditEntry.actor_id))]


def test_status_is_not_in_order_after_a_failed_full_verification(
    vault: Vault, system_ctx: Context, app: Any, clock: FrozenClock
) -> None:
    _tamper_below_the_checkpoint(vault, system_ctx)
    report = verify_log(vault)
    assert not report.ok
    record_verification(vault, system_ctx, report)
    status = integrity_status(vault)
    assert status.ok  # the cheap check of the tail still holds …
    assert status.state is IntegrityState.VERIFY_FAILED  # … but the log is not in order

    client = TestClient(app)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    body = client.get("/api/v1/audit/integrity", headers=officer.headers).json()
    assert body["ok"] is False
    assert body["state"] == "verify_failed"
    assert body["chain_ok"] is True
    assert body["last_full_verify"]["ok"] is False


def test_never_verified_is_a_warning_of_its_own_and_a_passing_verification_turns_it_green(
    vault: Vault, system_ctx: Context, app: Any, clock: FrozenClock
) -> None:
    _append(vault, system_ctx, 3)
    client = TestClient(app)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    body = client.get("/api/v1/audit/integrity", headers=officer.headers).json()
    assert (body["ok"], body["state"], body["chain_ok"]) == (False, "never_verified", True)
    record_verification(vault, system_ctx, verify_log(vault))
    body = client.get("/api/v1/audit/integrity", headers=officer.headers).json()
    assert (body["ok"], body["state"]) == (True, "ok")


def test_the_web_page_never_says_in_order_unless_the_full_verification_passed(
    vault: Vault, system_ctx: Context, app: Any, world: World, clock: FrozenClock
) -> None:
    web = TestClient(app)
    web_login(web, world.officer, clock)
    page = web.get("/fg/integriteit")
    assert "status-warn" in page.text
    assert "Nog niet volledig gecontroleerd" in page.text
    assert "In orde" not in page.text
    overview = web.get("/fg")
    assert "Nog niet volledig gecontroleerd" in overview.text
    assert "In orde" not in overview.text
    _tamper_below_the_checkpoint(vault, system_ctx)
    record_verification(vault, system_ctx, verify_log(vault))
    page = web.get("/fg/integriteit")
    assert "In orde" not in page.text
    assert "de laatste volledige controle" in page.text
    assert "is mislukt" in page.text


def test_the_privacy_officer_starts_a_full_verification_from_the_web_page(
    vault: Vault, app: Any, world: World, clock: FrozenClock
) -> None:
    web = TestClient(app)
    web_login(web, world.officer, clock)
    page = web.get("/fg/integriteit")
    assert "Volledige controle starten" in page.text
    r = web.post("/fg/integriteit/controle", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    full_verification(vault).join(timeout=120)
    state = full_verification(vault).state()
    assert not state.running
    assert state.ok is True
    assert state.checked == state.total > 0
    page = web.get("/fg/integriteit")
    assert "In orde" in page.text
    assert "geslaagd" in page.text
    tags = _tags(vault)
    assert (str(AuditTag.AUDIT_LOG_VERIFY_STARTED), world.officer.user_id) in tags
    assert (str(AuditTag.AUDIT_LOG_VERIFIED), world.officer.user_id) in tags  # recorded and audited


def test_one_full_verification_at_a_time(vault: Vault, world: World) -> None:
    officer = Context(
        actor_id=world.officer.user_id,
        role=str(Role.PRIVACY_OFFICER),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )
    runner = full_verification(vault)
    with runner.lock:  # the job waits at its first progress step while we hold its state
        audit_reports.start_full_verification(vault, officer)
        assert runner.running
        with pytest.raises(Conflict):
            audit_reports.start_full_verification(vault, officer)
    runner.join(timeout=120)
    assert not runner.running
    assert runner.state().ok is True
    started = [t for t, _ in _tags(vault) if t == str(AuditTag.AUDIT_LOG_VERIFY_STARTED)]
    assert len(started) == 1


@pytest.mark.parametrize("role", [Role.MEDEWERKER, Role.TEAMLEIDER, Role.ADMIN])
def test_only_the_privacy_officer_may_start_a_full_verification(
    vault: Vault, app: Any, clock: FrozenClock, role: Role
) -> None:
    client = TestClient(app)
    user = api_user(client, vault, clock, role, team="Team Test" if role is not Role.ADMIN else None)
    r = client.post("/api/v1/audit/integrity/verify", headers=user.headers)
    assert r.status_code == 403
    assert not full_verification(vault).running
    assert str(AuditTag.AUDIT_LOG_VERIFIED) not in [t for t, _ in _tags(vault)]


def test_the_api_starts_a_full_verification(vault: Vault, app: Any, clock: FrozenClock) -> None:
    client = TestClient(app)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    r = client.post("/api/v1/audit/integrity/verify", headers=officer.headers)
    assert r.status_code == 202
    assert r.json()["running"] is True
    full_verification(vault).join(timeout=120)
    body = client.get("/api/v1/audit/integrity", headers=officer.headers).json()
    assert body["full_verify_job"]["running"] is False
    assert body["full_verify_job"]["ok"] is True
    assert body["state"] == "ok"
