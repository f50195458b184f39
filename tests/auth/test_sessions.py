"""Sessions: idle and absolute expiry, logout, listing and ending, password change, disabling (D17)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import PASSWORD, Account, bearer, login, totp_now
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry, AuthSession
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


def _whoami(client: TestClient, token: str | None) -> int:
    return client.get("/api/v1/auth/sessions", headers=bearer(token)).status_code


def _second_verified_session(client: TestClient, account: Account, clock: FrozenClock) -> str:
    assert account.secret
    login(client, account)
    clock.advance(seconds=30)
    r = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(account.token),
        json={"code": totp_now(account.secret, clock)},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def test_idle_timeout_ends_the_session(
    client: TestClient, verified_anna: Account, clock: FrozenClock
) -> None:
    clock.advance(minutes=14)
    assert _whoami(client, verified_anna.token) == 200  # activity resets the idle timer
    clock.advance(minutes=14)
    assert _whoami(client, verified_anna.token) == 200
    clock.advance(minutes=15)
    assert _whoami(client, verified_anna.token) == 401
    clock.advance(seconds=1)
    assert _whoami(client, verified_anna.token) == 401


def test_absolute_timeout_ends_an_active_session(
    client: TestClient, verified_anna: Account, clock: FrozenClock
) -> None:
    for _ in range(8 * 6 - 1):  # active every 10 minutes for just under 8 hours
        clock.advance(minutes=10)
        assert _whoami(client, verified_anna.token) == 200
    clock.advance(minutes=10)
    assert _whoami(client, verified_anna.token) == 401


def test_d17_download_with_an_idle_session_is_refused_and_the_end_is_recorded(
    client: TestClient, verified_anna: Account, clock: FrozenClock, vault: Vault
) -> None:
    """The download checks the session inside its group-committed job (not the shared dependency):
    an idle session is refused there too, and its end and audit entry (D16) commit all the same."""
    clock.advance(minutes=16)
    response = client.get(f"/api/v1/documents/{uuid.uuid4()}/content", headers=bearer(verified_anna.token))
    assert response.status_code == 401
    with vault.db.session() as session:
        rows = session.scalars(select(AuthSession).where(AuthSession.user_id == verified_anna.user_id)).all()
        ended = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == str(AuditTag.AUTH_SESSION_ENDED),
                AuditEntry.actor_id == verified_anna.user_id,
            )
        ).all()
    assert [r.end_reason for r in rows] == ["idle"]
    assert [e.object_id for e in ended] == [rows[0].id]
    # No attempt on the document was recorded: the caller was not authenticated.
    assert _whoami(client, verified_anna.token) == 401


def test_logout_ends_the_session_server_side(
    client: TestClient, verified_anna: Account, vault: Vault
) -> None:
    assert client.post("/api/v1/auth/logout", headers=bearer(verified_anna.token)).status_code == 204
    assert _whoami(client, verified_anna.token) == 401
    with vault.db.session() as session:
        rows = session.scalars(select(AuthSession).where(AuthSession.user_id == verified_anna.user_id)).all()
    assert [r.end_reason for r in rows] == ["logout"]


def test_user_lists_and_ends_their_own_sessions(
    client: TestClient, verified_anna: Account, clock: FrozenClock
) -> None:
    other = _second_verified_session(client, verified_anna, clock)
    listed = client.get("/api/v1/auth/sessions", headers=bearer(other)).json()
    assert len(listed) == 2
    assert sum(1 for s in listed if s["current"]) == 1
    first_id = next(s["session_id"] for s in listed if not s["current"])
    assert client.delete(f"/api/v1/auth/sessions/{first_id}", headers=bearer(other)).status_code == 204
    assert _whoami(client, verified_anna.token) == 401
    assert _whoami(client, other) == 200
    assert client.delete(f"/api/v1/auth/sessions/{first_id}", headers=bearer(other)).status_code == 404


def test_changing_the_password_ends_all_other_sessions(
    client: TestClient, verified_anna: Account, clock: FrozenClock, vault: Vault
) -> None:
    other = _second_verified_session(client, verified_anna, clock)
    new_password = "a brand new long passphrase"
    r = client.post(
        "/api/v1/auth/password",
        headers=bearer(other),
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert r.status_code == 200, r.text
    assert r.json()["other_sessions_ended"] == 1
    assert _whoami(client, verified_anna.token) == 401
    # This session goes on under a new token: one taken from it before the change stops working too.
    assert _whoami(client, other) == 401
    assert _whoami(client, r.json()["token"]) == 200
    old = client.post("/api/v1/auth/login", json={"username": verified_anna.username, "password": PASSWORD})
    assert old.status_code == 401
    verified_anna.password = new_password
    login(client, verified_anna)
    with vault.db.session() as session:
        tags = set(session.scalars(select(AuditEntry.tag)))
    assert AuditTag.AUTH_PASSWORD_CHANGED in tags


def test_password_change_with_a_wrong_current_password_is_refused(
    client: TestClient, verified_anna: Account
) -> None:
    r = client.post(
        "/api/v1/auth/password",
        headers=bearer(verified_anna.token),
        json={"current_password": "not my password", "new_password": "a brand new long passphrase"},
    )
    assert r.status_code == 401


def test_disabling_a_user_ends_their_sessions(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    with transaction(vault.db) as session:
        accounts.disable_user(session, system_ctx, verified_anna.username)
    assert _whoami(client, verified_anna.token) == 401
    r = client.post("/api/v1/auth/login", json={"username": verified_anna.username, "password": PASSWORD})
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong username or password"


def test_reset_2fa_ends_sessions_and_requires_enrolment_again(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, system_ctx, verified_anna.username)
    assert _whoami(client, verified_anna.token) == 401
    assert login(client, verified_anna)["enrolment_required"] is True


def test_a_second_factor_cannot_be_enrolled_over_an_active_one(
    client: TestClient, verified_anna: Account
) -> None:
    login(client, verified_anna)
    assert client.post("/api/v1/auth/totp/enrol", headers=bearer(verified_anna.token)).status_code == 409


def test_step_up_is_fresh_for_five_minutes_only(
    client: TestClient, verified_anna: Account, clock: FrozenClock, vault: Vault
) -> None:
    from vault.auth import AuthConfig
    from vault.errors import StepUpRequired
    from vault.services import authentication

    auth = AuthConfig.from_vault(vault)
    ctx = Context.system(clock=clock)
    with transaction(vault.db) as session:
        info = authentication.authenticate(session, ctx, auth, str(verified_anna.token))
    authentication.require_step_up(info, ctx, auth)  # verified 30 s ago
    clock.advance(minutes=5)
    try:
        authentication.require_step_up(info, ctx, auth)
    except StepUpRequired:
        pass
    else:
        raise AssertionError("a 5-minute-old second factor must not count as step-up")
