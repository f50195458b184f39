"""D17, passkey role policy: a role in VAULT_PASSKEY_REQUIRED_ROLES without a usable passkey (the
last one removed, or the only one suspect) gets from a TOTP code only an enrolment-only session, so a
TOTP *step-up* is refused too (audited ``auth:passkey:required``, reason ``no_passkey``): the session
stays verified but never freshly stepped up by a code (docs/security.md "Role policy").

Real app, real database, real TOTP and a software authenticator (real P-256 signatures); the
FrozenClock is the only double.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.auth.conftest import (
    Account,
    bearer,
    enrol_and_verify,
    new_account,
    passkey_role_settings,
    totp_now,
)
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from vault.auth import AuthConfig
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import AuthFailed
from vault.models import AuditEntry
from vault.models.identity import AuthSession, PasskeyCredential
from vault.runtime import Vault
from vault.services.authentication import authenticate
from vault.services.authentication.passkey_policy import step_up_with_code
from vault.services.authentication.passkeys import PasskeyConfig
from vault.transaction import transaction


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    """vertrouwensarts and admin sign in with a passkey."""
    return passkey_role_settings(tmp_path, database_url)


@pytest.fixture
def doctor(vault: Vault, system_ctx: Context) -> Account:
    return new_account(vault, system_ctx, "dokter", Role.VERTROUWENSARTS)


def _refusals(vault: Vault) -> list[dict[str, Any]]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.tag == str(AuditTag.AUTH_PASSKEY_REQUIRED))
            .order_by(AuditEntry.seq)
        )
        return [json.loads(r) for r in rows]


def _signed_in_with_a_passkey(client: TestClient, doctor: Account, key: SoftKey, clock: FrozenClock) -> str:
    enrol_and_verify(client, doctor, clock)  # enrolment-only session: add a passkey, sign in with it
    created = register(client, doctor, key)
    r = passkey_login(client, doctor, key)
    assert r.status_code == 200, r.text
    doctor.token = r.json()["token"]
    return str(created["id"])


def _checked_at(vault: Vault, token: str, auth: AuthConfig) -> Any:
    with vault.db.session() as session:
        info = authenticate(session, Context.system(access_point="test", clock=vault.clock), auth, token)
        row = session.get(AuthSession, info.session_id)
        assert row is not None
        return row.factor_checked_at


def test_d17_a_passkey_role_that_removed_its_last_passkey_cannot_step_up_with_totp(
    client: TestClient, doctor: Account, vault: Vault, clock: FrozenClock, auth: AuthConfig
) -> None:
    key = SoftKey()
    passkey_id = _signed_in_with_a_passkey(client, doctor, key, clock)
    token = doctor.token
    assert client.delete(f"/api/v1/auth/passkeys/{passkey_id}", headers=bearer(token)).status_code == 204
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    assert client.get("/api/v1/auth/sessions", headers=bearer(token)).status_code == 200  # still verified
    before = _checked_at(vault, str(token), auth)
    assert doctor.secret
    r = client.post(
        "/api/v1/auth/step-up", headers=bearer(token), json={"code": totp_now(doctor.secret, clock)}
    )
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "auth_failed"
    assert "passkey" in r.json()["detail"]
    assert "token" not in r.json()
    refused = _refusals(vault)[-1]
    assert refused == {"purpose": "step_up", "role": "vertrouwensarts", "reason": "no_passkey"}
    # The session is as it was: verified, the step-up still stale.
    assert _checked_at(vault, str(token), auth) == before
    stale = client.post("/api/v1/auth/recovery/regenerate", headers=bearer(token))
    assert stale.json()["error"] == "step_up_required"


def test_d17_a_passkey_role_whose_only_passkey_is_suspect_cannot_step_up_with_totp(
    client: TestClient, doctor: Account, vault: Vault, clock: FrozenClock, auth: AuthConfig
) -> None:
    key = SoftKey()
    _signed_in_with_a_passkey(client, doctor, key, clock)
    token = doctor.token
    assert token
    with transaction(vault.db) as session:  # the key is found suspect while this session is open
        session.execute(update(PasskeyCredential).values(suspect_at=clock.now()))
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    assert doctor.secret
    code = totp_now(doctor.secret, clock)
    ctx = Context.system(access_point="test", clock=vault.clock)
    cfg = PasskeyConfig.from_settings(vault.settings)

    def step_up() -> None:
        with transaction(vault.db) as session:
            info = authenticate(session, ctx, auth, token)
            step_up_with_code(session, ctx, auth, cfg, info, code=code, client_address=None)

    with pytest.raises(AuthFailed) as refused:
        step_up()
    assert refused.value.rule == "passkey-missing"
    assert _refusals(vault)[-1]["reason"] == "no_passkey"
    r = client.post("/api/v1/auth/step-up", headers=bearer(token), json={"code": code})
    assert r.status_code == 401, r.text
    assert client.get("/api/v1/auth/sessions", headers=bearer(token)).status_code == 200
