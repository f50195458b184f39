"""Passwords: argon2id, the real RFC 9106 profile once, rehash on login, the 1 KiB limit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, login
from vault.auth import PasswordHashing
from vault.errors import InvalidInput
from vault.models import AuthAttempt, User
from vault.runtime import Vault


def _stored_hash(vault: Vault, user_id: str) -> str:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.password_hash


def test_stored_password_hashes_are_argon2id(vault: Vault, anna: Account) -> None:
    assert _stored_hash(vault, anna.user_id).startswith("$argon2id$")


def test_real_rfc9106_low_memory_profile_and_rehash_when_parameters_change(
    vault: Vault, anna: Account
) -> None:
    """The one test on the real profile: a fast-profile hash is replaced at the next login."""
    from dataclasses import replace

    from vault.auth import AuthConfig
    from vault.context import Context
    from vault.services import authentication
    from vault.transaction import transaction

    real = PasswordHashing("rfc9106_low_memory")
    old = _stored_hash(vault, anna.user_id)
    assert real.needs_rehash(old)
    auth = replace(AuthConfig.from_vault(vault), hashing=real)
    ctx = Context(actor_id=None, role=None, access_point="api", clock=vault.clock)
    with transaction(vault.db) as session:
        authentication.login(
            session, ctx, auth, username=anna.username, password=anna.password, client_address="192.0.2.1"
        )
    new = _stored_hash(vault, anna.user_id)
    assert new != old
    assert new.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert real.verify(new, anna.password)
    assert not real.needs_rehash(new)


def test_passwords_over_1_kib_are_refused_before_hashing() -> None:
    hashing = PasswordHashing("fast_insecure_for_tests")
    with pytest.raises(InvalidInput, match="1024 bytes") as caught:
        hashing.hash("é" * 513)  # 1026 bytes in UTF-8, 513 characters
    assert "é" not in caught.value.message


def test_api_refuses_oversized_password_and_username_with_a_clear_error_and_no_attempt(
    client: TestClient, vault: Vault, anna: Account
) -> None:
    r = client.post("/api/v1/auth/login", json={"username": anna.username, "password": "é" * 513})
    assert r.status_code == 422
    assert "password" in r.json()["detail"]
    assert "1024" in r.json()["detail"]
    assert "é" not in r.text
    r = client.post("/api/v1/auth/login", json={"username": "x" * 65, "password": "whatever"})
    assert r.status_code == 422
    assert "username" in r.json()["detail"]
    with vault.db.session() as session:
        assert session.scalars(select(AuthAttempt)).first() is None


def test_login_with_the_right_password_returns_a_256_bit_token(client: TestClient, anna: Account) -> None:
    body = login(client, anna)
    assert len(str(body["token"])) >= 43  # token_urlsafe(32): 32 random bytes
