"""No raw session token, TOTP secret, recovery code or password in the database, logs or audit (D17)."""

from __future__ import annotations

import structlog
from fastapi.testclient import TestClient
from sqlalchemy import LargeBinary, String, Text, inspect, select, text

from tests.auth.conftest import Account, bearer, login, totp_now
from vault.context import FrozenClock
from vault.runtime import Vault


def _all_text_and_blob_values(vault: Vault) -> list[str]:
    """Every text/blob cell of every table, decoded leniently (bytes also as latin-1 and hex)."""
    values: list[str] = []
    with vault.db.engine.connect() as conn:
        insp = inspect(conn)
        for table in insp.get_table_names():
            cols = [
                c["name"]
                for c in insp.get_columns(table)
                if isinstance(c["type"], String | Text | LargeBinary)
                or str(c["type"]).upper() in {"BLOB", "BYTEA", "TEXT"}
            ]
            if not cols:
                continue
            quoted = ", ".join(f'"{c}"' for c in cols)
            for row in conn.execute(text(f'SELECT {quoted} FROM "{table}"')):
                for cell in row:
                    if isinstance(cell, bytes | memoryview):
                        raw = bytes(cell)
                        values += [raw.decode("latin-1"), raw.hex()]
                    elif cell is not None:
                        values.append(str(cell))
    return values


def test_d17_database_holds_no_raw_token_totp_secret_recovery_code_or_password(
    client: TestClient, verified_anna: Account, clock: FrozenClock, vault: Vault
) -> None:
    assert verified_anna.secret
    tokens = [str(verified_anna.token)]
    login(client, verified_anna)
    tokens.append(str(verified_anna.token))
    used_code = verified_anna.recovery_codes[0]
    r = client.post(
        "/api/v1/auth/recovery/verify", headers=bearer(verified_anna.token), json={"code": used_code}
    )
    tokens.append(r.json()["token"])
    cells = _all_text_and_blob_values(vault)
    assert cells, "the scan found no columns"
    canaries = [
        *tokens,
        verified_anna.secret,
        verified_anna.secret.lower(),
        verified_anna.password,
        *verified_anna.recovery_codes,
        *(c.replace("-", "") for c in verified_anna.recovery_codes),
    ]
    for canary in canaries:
        assert not any(canary in cell for cell in cells), "a raw secret was found in the database"


def test_no_secret_in_application_logs_or_audit(
    client: TestClient, anna: Account, clock: FrozenClock, vault: Vault
) -> None:
    with structlog.testing.capture_logs() as logs:
        login(client, anna)
        r = client.post("/api/v1/auth/totp/enrol", headers=bearer(anna.token))
        secret = r.json()["otpauth_uri"].split("secret=")[1].split("&")[0]
        code = totp_now(secret, clock)
        client.post("/api/v1/auth/totp/verify", headers=bearer(anna.token), json={"code": "000000"})
        v = client.post("/api/v1/auth/totp/verify", headers=bearer(anna.token), json={"code": code})
        client.post(
            "/api/v1/auth/login", json={"username": "unknown-canary-name", "password": "canary-pass-123"}
        )
        client.post("/api/v1/auth/logout", headers=bearer(v.json()["token"]))
    rendered = repr(logs)
    with vault.db.session() as session:
        audit = " ".join(
            " ".join(str(v) for v in row) for row in session.execute(text("SELECT * FROM audit_entries"))
        )
    for canary in (
        anna.password,
        secret,
        code,
        str(anna.token),
        v.json()["token"],
        "unknown-canary-name",
        "canary-pass-123",
        anna.username,
    ):
        assert canary not in rendered
        assert canary not in audit
    assert select  # keep the import honest for readers: SQL above is plain text on purpose
