"""D17: after an administrator resets a lost phone (``reset_second_factor``: TOTP and recovery codes go,
the passkeys stay), a session that passed only the password neither starts nor activates a new TOTP
factor while the account has a usable passkey. The owner signs in with the passkey and sets up the
authenticator app from that session, with a fresh step-up (docs/security.md "Second factors").

Real app, real database, real TOTP and a software authenticator (real P-256 signatures); the
FrozenClock is the only double.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.auth.conftest import (
    Account,
    bearer,
    enrol_and_verify,
    login,
    new_account,
    passkey_role_settings,
    totp_now,
)
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.models.identity import AuthSession, RecoveryCode, TotpFactor
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    """vertrouwensarts and admin sign in with a passkey; medewerker (anna) keeps TOTP beside one."""
    return passkey_role_settings(tmp_path, database_url)


def _reset(vault: Vault, system_ctx: Context, account: Account) -> None:
    """The operator's ``vault user reset-2fa`` (no session: no step-up)."""
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, system_ctx, account.username)


def _same(account: Account) -> Account:
    return Account(account.user_id, account.username, account.password, account.secret)


def _refusals(vault: Vault) -> list[dict[str, Any]]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.tag == str(AuditTag.AUTH_PASSKEY_REQUIRED))
            .order_by(AuditEntry.seq)
        )
        return [json.loads(r) for r in rows]


def _live_recovery_codes(vault: Vault, user_id: str) -> int:
    with vault.db.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user_id,
                    RecoveryCode.used_at.is_(None),
                    RecoveryCode.revoked_at.is_(None),
                )
            )
            or 0
        )


def _factor_active(vault: Vault, user_id: str) -> bool | None:
    with vault.db.session() as session:
        factor = session.get(TotpFactor, user_id)
        return None if factor is None else factor.active


def _secret(answer: Any) -> str:
    assert answer.status_code == 200, answer.text
    return str(parse_qs(urlparse(answer.json()["otpauth_uri"]).query)["secret"][0])


def test_d17_a_password_only_session_cannot_start_totp_enrolment_beside_a_usable_passkey(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    _reset(vault, system_ctx, verified_anna)
    owner = _same(verified_anna)
    r = passkey_login(client, owner, key)
    assert r.status_code == 200, r.text
    owner_token = r.json()["token"]

    intruder = _same(verified_anna)
    login(client, intruder)  # only the password
    r = client.post("/api/v1/auth/totp/enrol", headers=bearer(intruder.token))
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "auth_failed"
    assert "passkey" in r.json()["detail"]
    assert "otpauth" not in r.text
    refused = _refusals(vault)[-1]
    assert refused["purpose"] == "totp_enrolment"
    assert refused["reason"] == "passkey_first"
    # Nothing was set up, nothing issued, and the owner's passkey session is untouched.
    assert _factor_active(vault, verified_anna.user_id) is None
    assert _live_recovery_codes(vault, verified_anna.user_id) == 0
    assert client.get("/api/v1/auth/sessions", headers=bearer(owner_token)).status_code == 200


def test_d17_a_pending_totp_factor_is_not_activated_from_a_password_only_session(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    _reset(vault, system_ctx, verified_anna)
    owner = _same(verified_anna)
    r = passkey_login(client, owner, key)
    owner_token = r.json()["token"]
    secret = _secret(client.post("/api/v1/auth/totp/enrol", headers=bearer(owner_token)))

    intruder = _same(verified_anna)
    login(client, intruder)
    # Even the right code (here the test knows the secret) does not activate from a password-only session.
    r = client.post(
        "/api/v1/auth/totp/verify", headers=bearer(intruder.token), json={"code": totp_now(secret, clock)}
    )
    assert r.status_code == 401, r.text
    assert "passkey" in r.json()["detail"]
    assert "recovery_codes" not in r.json()
    assert _refusals(vault)[-1]["purpose"] == "totp_activation"
    assert _factor_active(vault, verified_anna.user_id) is False
    assert _live_recovery_codes(vault, verified_anna.user_id) == 0
    assert client.get("/api/v1/auth/sessions", headers=bearer(owner_token)).status_code == 200

    # The owner activates it from the passkey session: verified, ten codes, the other sessions end.
    r = client.post(
        "/api/v1/auth/totp/verify", headers=bearer(owner_token), json={"code": totp_now(secret, clock)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["second_factor_verified"] is True
    assert len(r.json()["recovery_codes"]) == 10
    assert client.get("/api/v1/auth/sessions", headers=bearer(intruder.token)).status_code == 401


def test_d17_after_a_reset_the_owner_enrols_totp_from_a_passkey_session_with_a_fresh_step_up(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    _reset(vault, system_ctx, verified_anna)
    owner = _same(verified_anna)
    token = passkey_login(client, owner, key).json()["token"]
    clock.advance(minutes=vault.settings.step_up_minutes + 1)  # verified, but the step-up is stale
    stale = client.post("/api/v1/auth/totp/enrol", headers=bearer(token))
    assert stale.status_code == 401, stale.text
    assert stale.json()["error"] == "step_up_required"
    assert _factor_active(vault, verified_anna.user_id) is None
    options = client.post("/api/v1/auth/passkeys/step-up/options", headers=bearer(token)).json()
    r = client.post(
        "/api/v1/auth/passkeys/step-up",
        headers=bearer(token),
        json={"credential": key.get(options["options"])},
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    secret = _secret(client.post("/api/v1/auth/totp/enrol", headers=bearer(token)))
    r = client.post("/api/v1/auth/totp/verify", headers=bearer(token), json={"code": totp_now(secret, clock)})
    assert r.status_code == 200, r.text
    assert r.json()["second_factor_verified"] is True
    assert _factor_active(vault, verified_anna.user_id) is True


def test_d17_a_passkey_role_sets_up_totp_again_from_its_passkey_session_without_a_code_step_up(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    doctor = new_account(vault, system_ctx, "dokter", Role.VERTROUWENSARTS)
    key = SoftKey()
    enrol_and_verify(client, doctor, clock)  # enrolment-only: add a passkey
    register(client, doctor, key)
    _reset(vault, system_ctx, doctor)
    clock.advance(seconds=30)

    intruder = _same(doctor)
    login(client, intruder)
    r = client.post("/api/v1/auth/totp/enrol", headers=bearer(intruder.token))
    assert r.status_code == 401, r.text
    assert _refusals(vault)[-1]["reason"] == "passkey_first"

    owner = _same(doctor)
    r = passkey_login(client, owner, key)
    assert r.status_code == 200, r.text
    token, session_id = r.json()["token"], r.json()["session_id"]
    with vault.db.session() as session:
        row = session.get(AuthSession, session_id)
        assert row is not None
        checked_at = row.factor_checked_at
    secret = _secret(client.post("/api/v1/auth/totp/enrol", headers=bearer(token)))
    clock.advance(seconds=30)
    r = client.post("/api/v1/auth/totp/verify", headers=bearer(token), json={"code": totp_now(secret, clock)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["second_factor_verified"] is True
    assert body["passkey_enrolment_only"] is False
    assert len(body["recovery_codes"]) == 10  # the lost-key way out is back
    with vault.db.session() as session:
        row = session.get(AuthSession, session_id)
        assert row is not None
        assert row.factor_checked_at == checked_at  # a TOTP code does not step this role up
    # Signing in with a TOTP code stays refused while the passkey is usable; a recovery code passes.
    clock.advance(seconds=30)
    later = _same(doctor)
    login(client, later)
    r = client.post(
        "/api/v1/auth/totp/verify", headers=bearer(later.token), json={"code": totp_now(secret, clock)}
    )
    assert r.status_code == 401, r.text
    r = client.post(
        "/api/v1/auth/recovery/verify", headers=bearer(later.token), json={"code": body["recovery_codes"][0]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["second_factor_verified"] is True
