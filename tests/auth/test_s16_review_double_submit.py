"""Session 16 review, A6 (D17, D16; "no 500 for anything a client can send"): the same request twice
at once — a double click on "QR-code tonen", on "Account aanmaken" or on "Aan team toevoegen" — ended
in a server error on PostgreSQL. Both requests read "not there yet" before either committed, both
inserted, and the second waited on the unique index until the first committed and then failed with a
unique violation (``IntegrityError``: 500 "Er ging iets mis"). Sent one after the other the second
gets the ordinary answer: the enrolment starts again, "this username is taken" (409), "nothing to
change". Now requests on the same account (or the same new username) take turns before they look, so
at once they get the same answers as one after the other.

Here the audit chain's lock is held while both requests reach their write, which makes the race
exact. PostgreSQL only: on SQLite every transaction is ``BEGIN IMMEDIATE`` (one writer at a time).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.auth.conftest import Account, login
from tests.conftest import Backend
from vault.audit.log import hold_chain
from vault.auth import AuthConfig, open_secret
from vault.context import Context
from vault.errors import Conflict
from vault.models.identity import RecoveryCode, TeamMembership, TotpFactor, User
from vault.runtime import Vault
from vault.services import accounts
from vault.services import authentication as authn
from vault.transaction import transaction


@pytest.fixture(autouse=True)
def _postgresql_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite's transactions are BEGIN IMMEDIATE: two requests cannot interleave")


def _waiting(vault: Vault) -> int:
    with vault.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one())


def _twice_at_once(vault: Vault, action: Callable[[Session], Any]) -> list[Any]:
    """Run ``action`` in two transactions that both reach their write before either commits: the
    chain lock is held meanwhile, so the first waits for it with its row written and the second
    waits behind the first. Returns both outcomes (a value, or the exception raised)."""
    outcomes: list[Any] = [None, None]

    def run(i: int) -> None:
        try:
            with transaction(vault.db) as session:
                outcomes[i] = action(session)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
    with vault.db.session() as holder:
        hold_chain(holder)
        for count, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 20
            while _waiting(vault) < count:  # this request waits (on the chain, or behind the first)
                assert time.monotonic() < deadline, f"request {count} never waited: {outcomes}"
                assert thread.is_alive(), f"request {count} did not wait: {outcomes}"
                time.sleep(0.02)
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    return outcomes


def test_d17_two_enrolment_starts_at_once_both_show_a_qr_code_and_the_last_one_counts(
    client: TestClient, anna: Account, vault: Vault, auth: AuthConfig
) -> None:
    login(client, anna)
    assert anna.token
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        info = authn.authenticate(session, system, auth, anna.token)
    ctx = Context(
        actor_id=info.user_id,
        role=info.role,
        access_point="web",
        session_id=info.session_id,
        clock=vault.clock,
    )

    first, second = _twice_at_once(vault, lambda s: authn.enrol_totp(s, ctx, auth, info))
    # Before: the second was an IntegrityError (a unique violation on totp_factors): a 500.
    assert not isinstance(first, BaseException), first
    assert not isinstance(second, BaseException), second
    assert isinstance(second, authn.Enrolment)
    with vault.db.session() as session:
        factor = session.get(TotpFactor, anna.user_id)
        assert factor is not None
        assert not factor.active
        pending = open_secret(auth.totp_key, user_id=anna.user_id, sealed=factor.secret_sealed)
    # The factor holds the secret of the start that came last (the QR code the browser shows last).
    assert parse_qs(urlparse(second.otpauth_uri).query)["secret"] == [pending]


def test_d16_the_same_new_account_twice_at_once_is_created_once_and_the_second_told_it_is_taken(
    vault: Vault, system_ctx: Context, auth: AuthConfig
) -> None:
    with transaction(vault.db) as session:
        accounts.create_team(session, system_ctx, "Team Dubbel")

    def create(session: Session) -> object:
        return accounts.create_user(
            session, system_ctx, auth, username="dubbelklik", role="medewerker", team="Team Dubbel"
        )

    outcomes = _twice_at_once(vault, create)
    # Before: one account and an IntegrityError (a unique violation on users.username): a 500.
    assert sum(isinstance(o, accounts.NewAccount) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    with vault.db.session() as session:
        assert session.scalar(select(func.count()).where(User.username == "dubbelklik")) == 1


def test_d16_adding_a_member_twice_at_once_adds_once_and_the_second_changes_nothing(
    anna: Account, vault: Vault, system_ctx: Context
) -> None:
    with transaction(vault.db) as session:
        accounts.create_team(session, system_ctx, "Team Twee")

    def add(session: Session) -> object:
        return accounts.change_membership(
            session, system_ctx, team="Team Twee", username=anna.username, member=True
        )

    outcomes = _twice_at_once(vault, add)
    # Before: True and an IntegrityError (a primary-key violation on team_memberships): a 500.
    assert sorted(map(repr, outcomes)) == ["False", "True"], outcomes
    with vault.db.session() as session:
        assert session.scalar(select(func.count()).where(TeamMembership.user_id == anna.user_id)) == 2


def test_d16_the_same_new_team_twice_at_once_is_made_once_and_the_second_told_it_exists(
    vault: Vault, system_ctx: Context
) -> None:
    outcomes = _twice_at_once(vault, lambda s: accounts.create_team(s, system_ctx, "Team Klik"))
    # Before: one team and an IntegrityError (a unique violation on teams.name): a 500.
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1, outcomes


def test_d17_two_regenerations_at_once_leave_one_set_of_ten_recovery_codes(
    verified_anna: Account, vault: Vault, auth: AuthConfig
) -> None:
    """The second regeneration's revocation could not see the first's new codes (not committed when
    it began): both sets stayed valid, twenty codes, ten of them shown on an answer nobody read."""
    assert verified_anna.token
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        info = authn.authenticate(session, system, auth, verified_anna.token)
    now = vault.clock.now()
    ctx = Context(
        actor_id=info.user_id,
        role=info.role,
        access_point="api",
        session_id=info.session_id,
        second_factor_verified=True,
        factor_checked_at=now,
        clock=vault.clock,
    )
    stepped_up = dataclasses.replace(info, factor_checked_at=now)
    outcomes = _twice_at_once(vault, lambda s: authn.regenerate_recovery_codes(s, ctx, auth, stepped_up))
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    with vault.db.session() as session:
        live = session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(
                RecoveryCode.user_id == verified_anna.user_id,
                RecoveryCode.used_at.is_(None),
                RecoveryCode.revoked_at.is_(None),
            )
        )
    assert live == 10  # before: 20
