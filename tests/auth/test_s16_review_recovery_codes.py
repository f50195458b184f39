"""Session 16 review, A2 (D17): ``POST /api/v1/auth/recovery/regenerate`` gave an account without an
active authenticator app (after a reset of the app beside a passkey) ten "new" recovery codes, shown
once as the way back. None of them worked: a recovery code is checked against the app's factor, so
every one answered 409 "no active second factor" — the person who kept them for a lost passkey is
locked out exactly when they need them. Recovery codes come with the app (docs/security.md "A reset TOTP
factor beside a passkey"): without an active app the regeneration is refused and issues nothing.

Real app, real database, real TOTP and a software authenticator; the FrozenClock is the only double.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.auth.conftest import Account, bearer, login, totp_now
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.models.identity import RecoveryCode
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


def _live_codes(vault: Vault, user_id: str) -> int:
    with vault.db.session() as session:
        return int(
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


def _regenerated(vault: Vault) -> int:
    with vault.db.session() as session:
        tag = str(AuditTag.AUTH_RECOVERY_REGENERATED)
        return int(session.scalar(select(func.count()).where(AuditEntry.tag == tag)) or 0)


def test_d17_no_recovery_codes_are_handed_out_without_an_active_app(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, system_ctx, verified_anna.username)
    signed_in = passkey_login(client, verified_anna, key)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["token"]  # a verified passkey session, stepped up just now

    r = client.post("/api/v1/auth/recovery/regenerate", headers=bearer(token))
    assert r.status_code == 409, r.text  # before: 200 and ten codes that never work
    assert "recovery_codes" not in r.json()
    assert "authenticator app" in r.json()["detail"]
    assert _live_codes(vault, verified_anna.user_id) == 0
    assert _regenerated(vault) == 0


def test_d17_with_an_active_app_the_regenerated_codes_work(
    client: TestClient, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    """The control: with the app active the new set is issued, and one of it passes the second factor."""
    r = client.post(
        "/api/v1/auth/step-up",
        headers=bearer(verified_anna.token),
        json={"code": totp_now(verified_anna.secret or "", clock)},
    )
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/auth/recovery/regenerate", headers=bearer(r.json()["token"]))
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 == _live_codes(vault, verified_anna.user_id)
    login(client, verified_anna)
    used = client.post(
        "/api/v1/auth/recovery/verify", headers=bearer(verified_anna.token), json={"code": codes[0]}
    )
    assert used.status_code == 200, used.text
