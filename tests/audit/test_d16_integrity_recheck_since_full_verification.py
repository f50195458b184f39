"""The integrity status vouches only for entries some verification read (D16: the tamper-evident log).

A checkpoint signs the stored entry hashes, not the content. An entry written after last night's full
verification, covered by a later checkpoint and then changed in place (the database owner, no key
needed) used to be re-read by nobody: the cheap check started at the latest checkpoint, and the state
was "In orde" on any earlier passing full verification, whatever log size it covered. Now the cheap
check re-reads content and chain from the first entry the last full verification did not read; when
that range is larger than ``RECHECK_LIMIT`` the state is ``partly_verified`` ("nog niet volledig
gecontroleerd vanaf vastlegging N"), never ``ok``. A log shorter than the last full verification read
is broken.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.helpers import api_user, drop_append_only
from tests.web.world import World, build_world, web_login
from vault.app import create_app
from vault.audit import record, verification
from vault.audit.checkpoints import create_checkpoint
from vault.audit.verification import (
    IntegrityState,
    LogReport,
    integrity_status,
    record_verification,
    verify_log,
)
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.runtime import Vault


@pytest.fixture
def app(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("VAULT_AUDIT_CHECKPOINT_MINUTES", "0")
    return create_app(vault)


def _append(vault: Vault, ctx: Context, n: int) -> None:
    for i in range(n):
        with vault.db.session() as session:
            record(session, ctx, AuditTag.DOSSIER_CASE_READ, object_type="case", object_id=f"obj-{i}")


def _verified_then_grown(vault: Vault, ctx: Context) -> LogReport:
    """Last night's full verification, then today's accesses signed by the periodic checkpointer."""
    _append(vault, ctx, 3)
    create_checkpoint(vault)
    verified = verify_log(vault)
    assert verified.ok
    record_verification(vault, ctx, verified)
    _append(vault, ctx, 6)
    create_checkpoint(vault)
    return verified


def _change_in_place(vault: Vault, seq: int) -> None:
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(
            text("UPDATE audit_entries SET actor_id = 'system', object_id = 'x' WHERE seq = :s"), {"s": seq}
        )


def _api_state(app: Any, vault: Vault, clock: FrozenClock) -> dict[str, Any]:
    client = TestClient(app)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    body: dict[str, Any] = client.get("/api/v1/audit/integrity", headers=officer.headers).json()
    return body


def test_d16_an_entry_changed_after_the_last_full_verification_is_not_green(
    vault: Vault, system_ctx: Context, app: Any, clock: FrozenClock
) -> None:
    verified = _verified_then_grown(vault, system_ctx)
    target = verified.entries + 3  # one of today's reads, to be hidden; below the latest checkpoint
    _change_in_place(vault, target)
    _append(vault, system_ctx, 1)
    assert not verify_log(vault).ok

    status = integrity_status(vault)
    assert status.state is IntegrityState.BROKEN, status
    assert status.first_bad_seq == target
    assert status.checked_from_seq == verified.entries + 1
    body = _api_state(app, vault, clock)
    assert (body["ok"], body["state"], body["chain_ok"], body["first_bad_seq"]) == (
        False,
        "broken",
        False,
        target,
    )


def test_d16_entries_after_the_last_full_verification_are_reread_and_green_when_intact(
    vault: Vault, system_ctx: Context
) -> None:
    verified = _verified_then_grown(vault, system_ctx)
    status = integrity_status(vault)
    assert status.state is IntegrityState.OK
    assert status.checked_from_seq == verified.entries + 1
    assert status.unchecked_from is None


def test_d16_too_many_unread_entries_is_not_fully_checked_never_green(
    vault: Vault, system_ctx: Context, app: Any, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = _verified_then_grown(vault, system_ctx)
    monkeypatch.setattr(verification, "RECHECK_LIMIT", 2)  # a bound the test can reach
    status = integrity_status(vault)
    assert status.ok  # the tail after the latest checkpoint holds …
    assert status.state is IntegrityState.PARTLY_VERIFIED  # … but entries in between were never re-read
    assert status.unchecked_from == verified.entries + 1
    body = _api_state(app, vault, clock)
    assert (body["ok"], body["state"], body["unchecked_from"]) == (
        False,
        "partly_verified",
        verified.entries + 1,
    )

    world: World = build_world(vault)
    web = TestClient(app)
    web_login(web, world.officer, clock)
    wording = f"Nog niet volledig gecontroleerd vanaf vastlegging {verified.entries + 1}"
    for path in ("/fg/integriteit", "/fg"):
        page = web.get(path)
        assert wording in page.text, path
        assert "In orde" not in page.text, path


def test_d16_a_log_shorter_than_the_last_full_verification_read_is_broken(
    vault: Vault, system_ctx: Context
) -> None:
    first = _verified_then_grown(vault, system_ctx)
    record_verification(vault, system_ctx, verify_log(vault))  # it read today's entries too
    with vault.db.engine.begin() as conn:  # the database owner cuts back to the first checkpoint
        drop_append_only(conn, vault, "audit_entries", "audit_checkpoints")
        conn.execute(text("DELETE FROM audit_checkpoints WHERE size > :s"), {"s": first.entries})
        conn.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": first.entries})
    _append(vault, system_ctx, 1)
    status = integrity_status(vault)
    assert status.state is IntegrityState.BROKEN
    assert "fewer than the" in str(status.reason)


def test_d16_the_last_entry_the_full_verification_read_removed_is_broken(
    vault: Vault, system_ctx: Context
) -> None:
    verified = _verified_then_grown(vault, system_ctx)
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": verified.entries})
    status = integrity_status(vault)
    assert status.state is IntegrityState.BROKEN
    assert status.first_bad_seq == verified.entries + 1
