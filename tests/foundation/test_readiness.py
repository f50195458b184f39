"""/readyz reflects whether an audit entry can be written *durably* (reads and logins write one first);
/healthz (liveness) stays 200 whatever the database does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from vault.api import health
from vault.audit.queries import get_meta
from vault.context import FrozenClock
from vault.models import AuditEntry
from vault.runtime import Vault

_PG_REFUSE = """
CREATE OR REPLACE FUNCTION test_refuse_write() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'writes refused';
END;
$$ LANGUAGE plpgsql
"""


def _refuse(vault: Vault, name: str, table: str, event: str, when: str | None = None) -> None:
    """A trigger that makes the database refuse ``event`` on ``table`` (a stand-in for a database that
    no longer accepts writes: full disk, read-only file, lost primary)."""
    with vault.db.engine.begin() as conn:
        if vault.db.is_sqlite:
            condition = f" WHEN {when}" if when else ""
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW{condition} "
                "BEGIN SELECT RAISE(ABORT, 'writes refused'); END"
            )
        else:
            conn.exec_driver_sql(_PG_REFUSE)
            condition = f" WHEN ({when})" if when else ""
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW{condition} "
                "EXECUTE FUNCTION test_refuse_write()"
            )


def _audit_count(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def test_ready_probe_commits_a_heartbeat_and_leaves_the_log_alone(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    before = _audit_count(vault)
    for _ in range(3):
        clock.advance(seconds=10)
        r = client.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ready"
    with vault.db.session() as session:
        beat = get_meta(session, health.HEARTBEAT_KEY)
    assert beat is not None
    assert beat["at"] == clock.now().isoformat()  # committed, by the last probe
    assert _audit_count(vault) == before


def test_readyz_is_503_and_healthz_200_when_the_database_refuses_writes(
    client: TestClient, vault: Vault
) -> None:
    _refuse(vault, "refuse_audit", "audit_entries", "INSERT")
    _refuse(vault, "refuse_meta_insert", "vault_meta", "INSERT")
    _refuse(vault, "refuse_meta_update", "vault_meta", "UPDATE")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "not_ready"
    assert r.json()["reasons"] == ["audit_not_writable"]
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_when_a_write_cannot_be_committed_though_a_rolled_back_append_works(
    client: TestClient, vault: Vault
) -> None:
    """The old probe only rolled its audit write back: a database that refuses every commit (here: the
    heartbeat row) still looked ready. The committed heartbeat catches it."""
    client.get("/readyz")  # the heartbeat row exists: the next probe updates it
    _refuse(vault, "refuse_heartbeat", "vault_meta", "UPDATE", when="NEW.key = 'readiness.heartbeat'")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reasons"] == ["heartbeat_not_durable"]
    assert r.json()["checks"]["audit_writable"] is False
    assert client.get("/healthz").json() == {"status": "alive"}


def test_readyz_is_503_when_the_database_disk_is_nearly_full(
    client: TestClient, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not vault.db.is_sqlite:
        pytest.skip("the free-space check is for the SQLite file's own disk")
    # The threshold above any real disk's free space: the disk counts as nearly full.
    monkeypatch.setattr(health, "READY_MIN_FREE_BYTES", 2**62)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reasons"] == ["disk_low"]
    assert client.get("/healthz").status_code == 200
