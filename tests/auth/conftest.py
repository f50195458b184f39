"""Fixtures for the identity tests: a real app over a real database, real hashing (fast profile), a
real key file, and the FrozenClock as the only double."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from fastapi.testclient import TestClient

from vault.auth import AuthConfig
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    user_id: str
    username: str
    password: str
    secret: str | None = None
    token: str | None = None
    recovery_codes: tuple[str, ...] = ()


@pytest.fixture
def auth(vault: Vault) -> AuthConfig:
    return AuthConfig.from_vault(vault)


def bearer(token: str | None) -> dict[str, str]:
    assert token
    return {"Authorization": f"Bearer {token}"}


def passkey_role_settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings under which vertrouwensarts and admin sign in with a passkey (the role policy's tests)."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
        passkey_required_roles="vertrouwensarts,admin",
    )


def totp_now(secret: str, clock: FrozenClock) -> str:
    return pyotp.TOTP(secret).at(clock.now())


def new_account(
    vault: Vault, system_ctx: Context, username: str = "anna", role: Role = Role.MEDEWERKER
) -> Account:
    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        if accounts.normalise_username(username) and not _team_exists(session):
            accounts.create_team(session, system_ctx, "Team Test")
        created = accounts.create_user(
            session,
            system_ctx,
            auth,
            username=username,
            role=role,
            team="Team Test" if role.is_staff else None,
            password=PASSWORD,
        )
    return Account(created.user_id, created.username, PASSWORD)


def _team_exists(session: object) -> bool:
    from sqlalchemy.orm import Session

    from vault.repositories.identity import team_by_name

    assert isinstance(session, Session)
    return team_by_name(session, "Team Test") is not None


def login(client: TestClient, account: Account) -> dict[str, object]:
    r = client.post("/api/v1/auth/login", json={"username": account.username, "password": account.password})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    account.token = str(body["token"])
    return body


def enrol_and_verify(client: TestClient, account: Account, clock: FrozenClock) -> dict[str, object]:
    """Log in, enrol TOTP, verify the first code: the account's session is verified (or held, for a
    generated password). Returns the answer to the code."""
    login(client, account)
    r = client.post("/api/v1/auth/totp/enrol", headers=bearer(account.token))
    assert r.status_code == 200, r.text
    uri = r.json()["otpauth_uri"]
    account.secret = parse_qs(urlparse(uri).query)["secret"][0]
    r = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(account.token),
        json={"code": totp_now(account.secret, clock)},
    )
    assert r.status_code == 200, r.text
    account.token = r.json()["token"]
    account.recovery_codes = tuple(r.json()["recovery_codes"])
    answer: dict[str, object] = r.json()
    return answer


@pytest.fixture
def anna(vault: Vault, system_ctx: Context) -> Account:
    return new_account(vault, system_ctx)


@pytest.fixture
def verified_anna(client: TestClient, anna: Account, clock: FrozenClock) -> Account:
    enrol_and_verify(client, anna, clock)
    clock.advance(seconds=30)  # the next code is of a later step than the one just used
    return anna
