"""D17, review finding 4: a generated ("one-time") initial password is replaced at the first sign-in.

``vault user add`` and the administrator's "Nieuw account" generate a password someone else has seen: the
account is marked ``password_change_required``; after password and second factor its session is held —
every API route answers 403 with the reason, except ``POST /api/v1/auth/password`` (and logout) — until
the user has chosen their own. The change goes through the one service (rate limits, current-password
check, other sessions ended, audited without any secret)."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, enrol_and_verify, login, totp_now
from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, User
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

NEW_PASSWORD = "een eigen lange wachtzin 2026"


def _generated(vault: Vault, system_ctx: Context, username: str = "nieuwe-collega") -> Account:
    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        accounts.create_team(session, system_ctx, "Team Test")
        created = accounts.create_user(
            session, system_ctx, auth, username=username, role=Role.MEDEWERKER, team="Team Test"
        )
    return Account(created.user_id, created.username, created.initial_password)


def _flag(vault: Vault, user_id: str) -> bool:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.password_change_required


def _entries(vault: Vault, tag: AuditTag) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.tag == str(tag))))


def _details(entry: AuditEntry) -> dict[str, object]:
    details = entry.details
    parsed: dict[str, object] = json.loads(details) if isinstance(details, str) else dict(details)
    return parsed


def _second_factor(client: TestClient, account: Account, clock: FrozenClock) -> dict[str, object]:
    """Password, TOTP enrolment and the first code through the API; the answer of the code."""
    answer = enrol_and_verify(client, account, clock)
    clock.advance(seconds=30)
    return answer


def test_d17_a_generated_password_is_marked_a_given_one_is_not(vault: Vault, system_ctx: Context) -> None:
    generated = _generated(vault, system_ctx)
    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        given = accounts.create_user(
            session, system_ctx, auth, username="demo", role="medewerker", team="Team Test", password="x" * 20
        )
    assert _flag(vault, generated.user_id) is True
    assert _flag(vault, given.user_id) is False
    created = {e.object_id: e for e in _entries(vault, AuditTag.ADMIN_USER_CREATED)}
    assert _details(created[generated.user_id])["password_change_required"] is True
    assert generated.password not in json.dumps([e.details for e in created.values()])


def test_d17_an_initial_password_session_reaches_nothing_until_the_password_is_changed(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    account = _generated(vault, system_ctx)
    initial = account.password
    verified = _second_factor(client, account, clock)
    assert verified["second_factor_verified"] is True
    assert verified["password_change_required"] is True
    held = bearer(account.token)

    # No data, no other auth route: 403 with the reason (not 401: the factor was passed).
    for method, path in [
        ("GET", "/api/v1/worklists/my-cases"),
        ("GET", "/api/v1/auth/sessions"),
        ("GET", f"/api/v1/cases/{uuid.uuid4()}"),
        ("GET", f"/api/v1/documents/{uuid.uuid4()}/content"),  # the download's own session check
    ]:
        r = client.request(method, path, headers=held)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert r.json()["error"] == "forbidden"
        assert "initial password" in r.json()["detail"]
        assert "POST /api/v1/auth/password" in r.json()["detail"]
    r = client.post("/api/v1/auth/step-up", headers=held, json={"code": totp_now(account.secret, clock)})
    assert r.status_code == 403

    # The change itself: the service's rules, the current password checked and its failure audited.
    change = "/api/v1/auth/password"
    r = client.post(
        change, headers=held, json={"current_password": "niet mijn wachtwoord", "new_password": NEW_PASSWORD}
    )
    assert r.status_code == 401
    assert len(_entries(vault, AuditTag.AUTH_PASSWORD_CHANGE_FAILED)) == 1
    r = client.post(change, headers=held, json={"current_password": initial, "new_password": "te kort"})
    assert r.status_code == 400
    assert "12 characters" in r.json()["detail"]
    r = client.post(change, headers=held, json={"current_password": initial, "new_password": initial})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("new_password:")
    assert _flag(vault, account.user_id) is True
    r = client.post(change, headers=held, json={"current_password": initial, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text

    # The same session goes on, verified, under a new token (the one used while held stops working);
    # the initial password no longer works.
    assert _flag(vault, account.user_id) is False
    assert client.get("/api/v1/worklists/my-cases", headers=held).status_code == 401
    assert client.get("/api/v1/worklists/my-cases", headers=bearer(r.json()["token"])).status_code == 200
    r = client.post("/api/v1/auth/login", json={"username": account.username, "password": initial})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": account.username, "password": NEW_PASSWORD})
    assert r.status_code == 200
    assert r.json()["password_change_required"] is False
    (changed,) = _entries(vault, AuditTag.AUTH_PASSWORD_CHANGED)
    assert changed.object_id == account.user_id
    assert _details(changed)["initial_password_replaced"] is True
    with vault.db.session() as session:
        logged = json.dumps([e.details for e in session.scalars(select(AuditEntry))])
    assert initial not in logged
    assert NEW_PASSWORD not in logged


def test_d17_logout_still_works_for_a_held_session(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    account = _generated(vault, system_ctx)
    _second_factor(client, account, clock)
    assert client.post("/api/v1/auth/logout", headers=bearer(account.token)).status_code == 204
    r = client.post(
        "/api/v1/auth/password",
        headers=bearer(account.token),
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 401
    assert _flag(vault, account.user_id) is True


def test_d17_a_password_only_session_cannot_change_the_password(
    client: TestClient, vault: Vault, system_ctx: Context
) -> None:
    """The second factor comes first: with the password alone nothing changes (401, before the body)."""
    account = _generated(vault, system_ctx)
    login(client, account)
    r = client.post(
        "/api/v1/auth/password",
        headers=bearer(account.token),
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 401
    assert client.post("/api/v1/auth/password", headers=bearer(account.token), json={}).status_code == 401
    assert _flag(vault, account.user_id) is True


def test_d17_a_verified_user_changes_the_password_and_needs_a_different_one(
    client: TestClient, verified_anna: Account, vault: Vault
) -> None:
    """Anyone verified may change their password (not only a held one); the same one is refused."""
    same = {"current_password": verified_anna.password, "new_password": verified_anna.password}
    r = client.post("/api/v1/auth/password", headers=bearer(verified_anna.token), json=same)
    assert r.status_code == 400
    new = {"current_password": verified_anna.password, "new_password": NEW_PASSWORD}
    r = client.post("/api/v1/auth/password", headers=bearer(verified_anna.token), json=new)
    assert r.status_code == 200
    (changed,) = _entries(vault, AuditTag.AUTH_PASSWORD_CHANGED)
    assert _details(changed)["initial_password_replaced"] is False


def test_d17_the_cli_account_is_marked_too(vault: Vault) -> None:
    """``vault user add`` (operator context) generates the password, so the account must change it."""
    from vault.cli.common import operator_context

    ctx = operator_context(vault)
    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        accounts.create_team(session, ctx, "Team Test")
        created = accounts.create_user(
            session, ctx, auth, username="cli", role="medewerker", team="Team Test"
        )
    assert _flag(vault, created.user_id) is True


def test_d17_a_generated_password_signs_in_for_a_week_only_and_a_reset_gives_a_new_one(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    """An account that never signed in used to keep its generated password for ever. It now signs in
    for VAULT_GENERATED_PASSWORD_DAYS (7); after that the one who types it is told to ask for a new one
    (only they learn it expired: a wrong password still gets the one answer). The administrator's (or
    operator's) reset gives a new generated password, ends the account's sessions, and is audited with
    ids only; a password the user chose does not expire."""
    account = _generated(vault, system_ctx)
    assert vault.settings.generated_password_days == 7
    clock.advance(days=7)
    expired = client.post(
        "/api/v1/auth/login", json={"username": account.username, "password": account.password}
    )
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    wrong = client.post("/api/v1/auth/login", json={"username": account.username, "password": "fout" * 4})
    assert wrong.json()["detail"] == "wrong username or password"
    (refused, _) = _entries(vault, AuditTag.AUTH_LOGIN_FAILED)
    assert _details(refused)["reason"] == "generated_password_expired"

    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        reset = accounts.reset_password(session, system_ctx, auth, account.username)
    assert reset.initial_password != account.password
    (entry,) = _entries(vault, AuditTag.ADMIN_USER_PASSWORD_RESET)
    assert entry.object_id == account.user_id
    assert reset.initial_password not in json.dumps(entry.details)
    old = client.post("/api/v1/auth/login", json={"username": account.username, "password": account.password})
    assert old.json()["detail"] == "wrong username or password"
    fresh = Account(account.user_id, account.username, reset.initial_password)
    assert _second_factor(client, fresh, clock)["password_change_required"] is True
    r = client.post(
        "/api/v1/auth/password",
        headers=bearer(fresh.token),
        json={"current_password": fresh.password, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 200, r.text
    clock.advance(days=30)  # a chosen password does not expire
    r = client.post("/api/v1/auth/login", json={"username": account.username, "password": NEW_PASSWORD})
    assert r.status_code == 200, r.text


def test_d17_a_reset_from_a_session_needs_an_administrator_stepped_up_for_another_account(
    vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    import pytest

    from tests.helpers import ctx_for, make_user
    from vault.errors import Forbidden, InvalidInput, StepUpRequired

    account = _generated(vault, system_ctx)
    auth = AuthConfig.from_vault(vault)
    admin = make_user(vault, Role.ADMIN)
    stale = Context(
        actor_id=admin, role=str(Role.ADMIN), access_point="test", second_factor_verified=True, clock=clock
    )
    stepped = ctx_for(vault, admin, Role.ADMIN)
    with vault.db.session() as session:
        own_name = session.get(User, admin).username  # type: ignore[union-attr]
    for ctx, target, error in (
        (ctx_for(vault, make_user(vault, Role.MEDEWERKER), Role.MEDEWERKER), account.username, Forbidden),
        (stale, account.username, StepUpRequired),
        (stepped, own_name, InvalidInput),  # their own: through "Wachtwoord wijzigen"
    ):
        with pytest.raises(error), transaction(vault.db) as session:
            accounts.reset_password(session, ctx, auth, target)
    assert _entries(vault, AuditTag.ADMIN_USER_PASSWORD_RESET) == []
    with transaction(vault.db) as session:
        accounts.reset_password(session, stepped, auth, account.username)
    assert len(_entries(vault, AuditTag.ADMIN_USER_PASSWORD_RESET)) == 1
