"""/healthz and /readyz, the error envelope, and security headers on every response."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vault.runtime import Vault


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": True,
        "migrations": True,
        "audit_writable": True,
        "blob_store": True,
    }


def test_readyz_probe_leaves_no_audit_entry(client: TestClient, vault: Vault) -> None:
    from tests.audit.oracle import verify_chain

    with vault.db.session() as session:
        before = verify_chain(session).entries
    for _ in range(3):
        client.get("/readyz")
    with vault.db.session() as session:
        assert verify_chain(session).entries == before


def test_readyz_is_503_when_the_audit_log_cannot_be_written(client: TestClient, vault: Vault) -> None:
    with vault.db.engine.begin() as conn:
        if vault.db.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'blocked'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_entries "
                "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
            )
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["checks"]["audit_writable"] is False


def test_unknown_route_has_the_error_envelope_and_security_headers(client: TestClient) -> None:
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert set(resp.json()) == {"error", "detail"}
    for header, value in {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
    }.items():
        assert resp.headers[header] == value
    assert len(resp.headers["x-request-id"]) == 32
