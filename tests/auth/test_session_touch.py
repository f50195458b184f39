"""The session's last-seen time is written at most every 30 s; idle expiry still ends it (D17)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer
from vault.context import FrozenClock
from vault.models import AuthSession
from vault.runtime import Vault


def _last_seen(vault: Vault, user_id: str) -> object:
    with vault.db.session() as session:
        return session.scalars(
            select(AuthSession.last_seen_at).where(
                AuthSession.user_id == user_id, AuthSession.ended_at.is_(None)
            )
        ).one()


def test_touch_is_throttled_and_idle_expiry_still_applies(
    client: TestClient, vault: Vault, clock: FrozenClock, verified_anna: Account
) -> None:
    headers = bearer(verified_anna.token)
    assert client.get("/api/v1/auth/sessions", headers=headers).status_code == 200
    first = _last_seen(vault, verified_anna.user_id)
    clock.advance(seconds=10)
    assert client.get("/api/v1/auth/sessions", headers=headers).status_code == 200
    assert _last_seen(vault, verified_anna.user_id) == first  # no write within 30 s
    clock.advance(seconds=25)
    assert client.get("/api/v1/auth/sessions", headers=headers).status_code == 200
    touched = _last_seen(vault, verified_anna.user_id)
    assert touched != first
    clock.advance(minutes=vault.settings.session_idle_minutes, seconds=1)
    assert client.get("/api/v1/auth/sessions", headers=headers).status_code == 401
