"""Session 18 review of signing in and staying signed in (D16, D17): a sign-in in flight, and the
re-enabling of an account, against a password change and a disabling made at the same moment.

A login reads the account, then waits its turn (``ratelimit.take_turn``), then checks the password
against what it read. Whatever committed while it waited — a new password, a disabling — it did not
see: the old password opened a session after the owner changed it, and a session opened while the
account was being disabled was ended by nobody and came back to life when the account was enabled
again. Disabling and enabling one account at once left the account enabled with "disabled" as the
log's last word about it.

The audit chain's lock is held while the first request reaches its entry, which makes each race
exact. PostgreSQL only: on SQLite every transaction is ``BEGIN IMMEDIATE`` (one at a time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.auth.conftest import PASSWORD, Account
from tests.conftest import Backend
from vault.audit.log import hold_chain
from vault.auth import AuthConfig
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import AuthFailed
from vault.models.audit import AuditEntry
from vault.models.identity import User
from vault.runtime import Vault
from vault.services import accounts
from vault.services import authentication as authn
from vault.services.authentication.passwords import PasswordChanged
from vault.transaction import transaction

NEW_PASSWORD = "een heel ander wachtwoord 2026"


@pytest.fixture(autouse=True)
def _postgresql_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite's transactions are BEGIN IMMEDIATE: two requests cannot interleave")


def _waiting(vault: Vault) -> int:
    with vault.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one())


def _one_after_the_other(vault: Vault, *actions: Callable[[Any], Any]) -> list[Any]:
    """Start each action in its own transaction while the chain lock is held, the next only once the
    one before waits (on the chain, or behind the one before); then let them all go. Returns each
    outcome (a value, or the exception raised)."""
    outcomes: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        try:
            with transaction(vault.db) as session:
                outcomes[i] = actions[i](session)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(actions))]
    with vault.db.session() as holder:
        hold_chain(holder)
        for count, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 20
            while _waiting(vault) < count:
                assert time.monotonic() < deadline, f"request {count} never waited: {outcomes}"
                assert thread.is_alive(), f"request {count} did not wait: {outcomes}"
                time.sleep(0.02)
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    return outcomes


def _anonymous(vault: Vault) -> Context:
    return Context(actor_id=None, role=None, access_point="api", clock=vault.clock)


def _operator(vault: Vault) -> Context:
    return Context(actor_id="os:beheer", role="operator", access_point="cli", clock=vault.clock)


def _sign_in(vault: Vault, auth: AuthConfig, account: Account, address: str) -> Callable[[Any], Any]:
    def sign_in(session: Any) -> Any:
        return authn.login(
            session,
            _anonymous(vault),
            auth,
            username=account.username,
            password=PASSWORD,
            client_address=address,
        )

    return sign_in


def _live(vault: Vault, auth: AuthConfig, token: str) -> bool:
    try:
        with transaction(vault.db) as session:
            authn.authenticate(session, _anonymous(vault), auth, token)
    except AuthFailed:
        return False
    return True


def test_s18_d17_the_old_password_opens_no_session_while_the_owner_changes_it(
    client: TestClient, verified_anna: Account, vault: Vault, auth: AuthConfig
) -> None:
    """The owner suspects the password is known and changes it; the intruder's sign-in with the old
    one (successful sign-ins count toward no limit, so it can be tried over and over) is in flight."""
    assert verified_anna.token
    with transaction(vault.db) as session:
        info = authn.authenticate(session, _anonymous(vault), auth, verified_anna.token)
    owner = Context(
        actor_id=info.user_id,
        role=info.role,
        access_point="api",
        session_id=info.session_id,
        second_factor_verified=True,
        factor_checked_at=info.factor_checked_at,
        clock=vault.clock,
    )

    def change(session: Any) -> Any:
        return authn.change_password(
            session,
            owner,
            auth,
            info,
            current_password=PASSWORD,
            new_password=NEW_PASSWORD,
            client_address="10.0.0.1",
        )

    changed, signed_in = _one_after_the_other(vault, change, _sign_in(vault, auth, verified_anna, "10.9.9.9"))
    assert isinstance(changed, PasswordChanged), changed
    # Before: the sign-in checked the old password against the account it read before the change
    # committed, and opened a session that the change never ended.
    assert isinstance(signed_in, AuthFailed), f"the old password opened a session: {signed_in!r}"


def test_s18_d16_d17_a_session_opened_while_the_account_is_disabled_does_not_return_when_it_is_enabled(
    anna: Account, vault: Vault, auth: AuthConfig
) -> None:
    def disable(session: Any) -> Any:
        return accounts.disable_user(session, _operator(vault), anna.username)

    disabled, signed_in = _one_after_the_other(vault, disable, _sign_in(vault, auth, anna, "10.9.9.9"))
    assert not isinstance(disabled, BaseException), disabled
    with transaction(vault.db) as session:
        assert accounts.enable_user(session, _operator(vault), anna.username)
    if isinstance(signed_in, authn.IssuedSession):
        # Before: the session opened beside the disabling was never ended; enabling brought it back.
        assert not _live(vault, auth, signed_in.token), "a session from before the disabling lives on"
    else:
        assert isinstance(signed_in, AuthFailed), signed_in


def test_s18_d16_disabling_and_enabling_one_account_at_once_leave_it_as_the_log_says(
    anna: Account, vault: Vault
) -> None:
    with transaction(vault.db) as session:
        accounts.disable_user(session, _operator(vault), anna.username)

    def enable(session: Any) -> Any:
        return accounts.enable_user(session, _operator(vault), anna.username)

    def disable(session: Any) -> Any:
        return accounts.disable_user(session, _operator(vault), anna.username)

    outcomes = _one_after_the_other(vault, enable, disable)
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    tags = (str(AuditTag.ADMIN_USER_DISABLED), str(AuditTag.ADMIN_USER_ENABLED))
    with vault.db.session() as session:
        last = session.scalars(
            select(AuditEntry.tag)
            .where(AuditEntry.object_id == anna.user_id, AuditEntry.tag.in_(tags))
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).one()
        user = session.get(User, anna.user_id)
        assert user is not None
        # Before: the disabling read "disabled" before the enabling committed, changed nothing and
        # recorded "disabled" last, while the account stayed enabled.
        assert user.disabled == (last == str(AuditTag.ADMIN_USER_DISABLED)), (last, user.disabled)
