"""D17: a credential found cloned (its sign count does not move forward, or its backup eligibility
changed) is marked suspect AND every session of its user ends, in the same transaction: the vault
cannot tell which earlier sign-in was the clone's (docs/security.md "Second factors").

Real app, real database, real TOTP and a software authenticator (real P-256 signatures); the
FrozenClock is the only double.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, login, totp_now
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.models.identity import AuthSession, PasskeyCredential
from vault.runtime import Vault


def _same(account: Account) -> Account:
    return Account(account.user_id, account.username, account.password, account.secret)


def _flagged(vault: Vault) -> list[dict[str, Any]]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.tag == str(AuditTag.AUTH_PASSKEY_CLONE_SUSPECTED))
            .order_by(AuditEntry.seq)
        )
        return [json.loads(r) for r in rows]


def _end_reasons(vault: Vault, user_id: str) -> list[str | None]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuthSession.end_reason)
                .where(AuthSession.user_id == user_id)
                .order_by(AuthSession.created_at, AuthSession.id)
            )
        )


def test_d17_a_credential_found_cloned_ends_every_session_of_its_user(
    client: TestClient, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    # The attacker's copy signs in first (counter 7) ...
    attacker = _same(verified_anna)
    r = passkey_login(client, attacker, key, count=7)
    assert r.status_code == 200, r.text
    attacker_token = r.json()["token"]
    # ... then the owner's authenticator answers with its own, lower counter: a clone.
    owner = _same(verified_anna)
    assert passkey_login(client, owner, key, count=3).status_code == 401
    with vault.db.session() as session:
        assert session.scalars(select(PasskeyCredential)).one().suspect_at is not None

    for token in (attacker_token, verified_anna.token, owner.token):
        assert client.get("/api/v1/auth/sessions", headers=bearer(token)).status_code == 401
    assert _end_reasons(vault, verified_anna.user_id)[-3:] == ["passkey_suspect"] * 3
    flagged = _flagged(vault)[-1]
    assert flagged["reason"] == "sign_count"
    assert flagged["sessions_ended"] == 3
    assert flagged["user"] == verified_anna.user_id

    # The owner comes back with the TOTP code (the key stays refused until revoked).
    again = _same(verified_anna)
    login(client, again)
    assert verified_anna.secret
    r = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(again.token),
        json={"code": totp_now(verified_anna.secret, clock)},
    )
    assert r.status_code == 200, r.text


def test_d17_a_credential_whose_backup_eligibility_changed_ends_every_session_of_its_user(
    client: TestClient, verified_anna: Account, vault: Vault
) -> None:
    key = SoftKey(backup_eligible=False)
    register(client, verified_anna, key)
    r = passkey_login(client, _same(verified_anna), key)
    assert r.status_code == 200, r.text
    earlier = r.json()["token"]
    key.backup_eligible = True  # another authenticator answering for the same credential
    assert passkey_login(client, _same(verified_anna), key).status_code == 401
    assert client.get("/api/v1/auth/sessions", headers=bearer(earlier)).status_code == 401
    assert client.get("/api/v1/auth/sessions", headers=bearer(verified_anna.token)).status_code == 401
    flagged = _flagged(vault)[-1]
    assert flagged["reason"] == "backup_eligibility_changed"
    assert flagged["sessions_ended"] == 3
