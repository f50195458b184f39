"""Review finding 15, "lockout as a weapon" (D17): failures from one address must not lock the owner
out from another; an account-wide ceiling far above bounds the guesses per day and is reported.

Driven through the API with TestClients at different client addresses (documentation ranges of
RFC 5737); the FrozenClock is the only double. The numbers are ``vault.auth.ratelimit.LIMITS``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from structlog.testing import capture_logs

from tests.auth.conftest import Account, bearer, totp_now
from vault.app import create_app
from vault.auth import AuthConfig
from vault.auth.ratelimit import AttemptKind
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.errors import AuthFailed, RateLimited
from vault.models import AuditEntry
from vault.models.identity import AuthAttempt
from vault.runtime import Vault
from vault.transaction import transaction

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"
WRONG = "not the password at all"


# The numbers docs/security.md states ("Review findings: availability"), per kind of attempt:
# (account+address per 5 minutes, account+address per day, account-wide ceiling per day).
PASSWORD_PAIR, PASSWORD_PAIR_DAY, PASSWORD_CEILING = 5, 20, 100
FACTOR_PAIR, FACTOR_PAIR_DAY, FACTOR_CEILING = 5, 10, 30


def test_the_documented_numbers_are_the_limits() -> None:
    from vault.auth.ratelimit import LIMITS, Scope

    def numbers(kind: AttemptKind, scope: Scope) -> list[int]:
        return [limit.failures for limit in LIMITS[kind] if limit.scope is scope]

    assert numbers(AttemptKind.PASSWORD, Scope.ACCOUNT_CLIENT) == [PASSWORD_PAIR, PASSWORD_PAIR_DAY]
    assert numbers(AttemptKind.PASSWORD, Scope.ACCOUNT) == [PASSWORD_CEILING]
    assert numbers(AttemptKind.PASSWORD, Scope.CLIENT) == [10, 200]
    assert numbers(AttemptKind.SECOND_FACTOR, Scope.ACCOUNT_CLIENT) == [FACTOR_PAIR, FACTOR_PAIR_DAY]
    assert numbers(AttemptKind.SECOND_FACTOR, Scope.ACCOUNT) == [FACTOR_CEILING]
    assert numbers(AttemptKind.SECOND_FACTOR, Scope.CLIENT) == [10, 50]


class Addresses:
    """TestClients by client address, all on one app over the same vault."""

    def __init__(self, vault: Vault) -> None:
        self._app = create_app(vault)
        self._clients: dict[str, TestClient] = {}

    def __getitem__(self, address: str) -> TestClient:
        if address not in self._clients:
            self._clients[address] = TestClient(self._app, client=(address, 40000)).__enter__()
        return self._clients[address]

    def close(self) -> None:
        for client in self._clients.values():
            client.__exit__(None, None, None)


@pytest.fixture
def at(vault: Vault) -> Iterator[Addresses]:
    addresses = Addresses(vault)
    yield addresses
    addresses.close()


def _login(client: TestClient, account: Account, password: str) -> int:
    r = client.post("/api/v1/auth/login", json={"username": account.username, "password": password})
    if r.status_code == 200:
        account.token = r.json()["token"]
    return int(r.status_code)


def _totp(client: TestClient, token: str | None, code: str) -> int:
    r = client.post("/api/v1/auth/totp/verify", headers=bearer(token), json={"code": code})
    return int(r.status_code)


def _entries(vault: Vault, tag: AuditTag) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.tag == str(tag))))
        session.expunge_all()
        return rows


def _failures_stored(vault: Vault, user_id: str, kind: AttemptKind) -> int:
    with vault.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuthAttempt)
                .where(AuthAttempt.account_key == user_id, AuthAttempt.kind == str(kind))
            )
            or 0
        )


def _wrong_code(account: Account, clock: FrozenClock) -> str:
    assert account.secret
    return "000000" if totp_now(account.secret, clock) != "000000" else "111111"


def test_d17_failures_from_one_address_do_not_lock_the_owner_out_from_another(
    at: Addresses, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    pair = PASSWORD_PAIR
    for _ in range(pair):
        assert _login(at[ATTACKER], verified_anna, WRONG) == 401
    # The attacker at A is throttled: more guesses are refused before any hashing, the right one too.
    for _ in range(3):
        assert _login(at[ATTACKER], verified_anna, WRONG) == 429
    assert _login(at[ATTACKER], verified_anna, verified_anna.password) == 429
    # The owner, from her own workstation, gets in and completes the second factor.
    assert _login(at[OWNER], verified_anna, verified_anna.password) == 200
    assert verified_anna.secret
    assert _totp(at[OWNER], verified_anna.token, totp_now(verified_anna.secret, clock)) == 200
    lockouts = _entries(vault, AuditTag.AUTH_LOCKOUT)
    assert [json.loads(e.details)["scope"] for e in lockouts] == ["account_client"]
    assert _entries(vault, AuditTag.AUTH_ACCOUNT_CEILING) == []
    # Refused guesses are not counted: only the five that were checked.
    assert _failures_stored(vault, verified_anna.user_id, AttemptKind.PASSWORD) == pair


def test_d17_second_factor_failures_from_one_address_do_not_lock_the_owner_out_from_another(
    at: Addresses, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    # The password is stolen: the attacker logs in at A and guesses codes until throttled.
    assert _login(at[ATTACKER], verified_anna, verified_anna.password) == 200
    stolen = verified_anna.token
    pair = FACTOR_PAIR
    for _ in range(pair):
        assert _totp(at[ATTACKER], stolen, _wrong_code(verified_anna, clock)) == 401
    assert verified_anna.secret
    assert _totp(at[ATTACKER], stolen, totp_now(verified_anna.secret, clock)) == 429
    # The owner at B logs in and passes her second factor.
    assert _login(at[OWNER], verified_anna, verified_anna.password) == 200
    assert _totp(at[OWNER], verified_anna.token, totp_now(verified_anna.secret, clock)) == 200


def test_d17_beyond_the_account_wide_ceiling_everyone_is_refused_and_administrators_are_told(
    at: Addresses, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    ceiling, per_pair_day, per_pair = PASSWORD_CEILING, PASSWORD_PAIR_DAY, PASSWORD_PAIR
    addresses = [f"203.0.113.{10 + i}" for i in range(ceiling // per_pair_day)]
    assert len(addresses) >= 2  # the ceiling is far above what one address may try
    with capture_logs() as logs:
        for _ in range(per_pair_day // per_pair):
            for address in addresses:
                for _ in range(per_pair):
                    assert _login(at[address], verified_anna, WRONG) == 401
            clock.advance(minutes=5, seconds=1)
    # Every address is at its daily limit and the account at its ceiling: even the owner at B,
    # with the right password, is refused — for hours, not minutes.
    refused = at[OWNER].post(
        "/api/v1/auth/login", json={"username": verified_anna.username, "password": verified_anna.password}
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3600
    assert _login(at["192.0.2.200"], verified_anna, WRONG) == 429  # a fresh address cannot guess on
    assert _failures_stored(vault, verified_anna.user_id, AttemptKind.PASSWORD) == ceiling
    # The administrators' entry, once, and a log line without personal data.
    (entry,) = _entries(vault, AuditTag.AUTH_ACCOUNT_CEILING)
    assert entry.object_id == verified_anna.user_id
    assert json.loads(entry.details)["failures"] == ceiling
    lines = [line for line in logs if line["event"] == "auth_account_ceiling_reached"]
    assert len(lines) == 1
    assert lines[0]["audit_seq"] == entry.seq
    text = json.dumps(lines[0])
    assert verified_anna.username not in text
    assert "203.0.113" not in text
    assert verified_anna.user_id not in text
    # A day later the window has moved on and the owner gets in.
    clock.advance(hours=24)
    assert _login(at[OWNER], verified_anna, verified_anna.password) == 200


def test_d17_second_factor_account_wide_ceiling_refuses_even_the_owner_and_is_reported(
    at: Addresses, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    ceiling, per_pair_day, per_pair = FACTOR_CEILING, FACTOR_PAIR_DAY, FACTOR_PAIR
    addresses = [f"203.0.113.{10 + i}" for i in range(ceiling // per_pair_day)]
    tokens: dict[str, str | None] = {}
    for address in addresses:
        assert _login(at[address], verified_anna, verified_anna.password) == 200
        tokens[address] = verified_anna.token
    for _ in range(per_pair_day // per_pair):
        for address in addresses:
            for _ in range(per_pair):
                assert _totp(at[address], tokens[address], _wrong_code(verified_anna, clock)) == 401
        clock.advance(minutes=5, seconds=1)
    assert _login(at[OWNER], verified_anna, verified_anna.password) == 200
    assert verified_anna.secret
    assert _totp(at[OWNER], verified_anna.token, totp_now(verified_anna.secret, clock)) == 429
    (entry,) = _entries(vault, AuditTag.AUTH_ACCOUNT_CEILING)
    assert json.loads(entry.details)["kind"] == "second_factor"


@pytest.mark.parametrize("kind", ["password", "second_factor"])
def test_d17_parallel_guesses_count_one_by_one(
    vault: Vault, anna: Account, auth: AuthConfig, system_ctx: Context, kind: str
) -> None:
    """Guesses sent at once are checked one after the other: no more than the limit are tried, the
    rest are refused (on PostgreSQL they all read the count before any added to it)."""
    from vault.services.authentication import second_factor, sessions

    if kind == "second_factor":
        with transaction(vault.db) as session:
            issued = sessions.login(
                session,
                system_ctx,
                auth,
                username=anna.username,
                password=anna.password,
                client_address=OWNER,
            )
            second_factor.enrol_totp(
                session, system_ctx, auth, sessions.authenticate(session, system_ctx, auth, issued.token)
            )
        token = issued.token
    guesses = 16
    start = threading.Barrier(guesses)
    outcomes: list[str] = []

    def guess() -> None:
        start.wait(10)
        try:
            with transaction(vault.db) as session:
                if kind == "password":
                    sessions.login(
                        session,
                        system_ctx,
                        auth,
                        username=anna.username,
                        password=WRONG,
                        client_address=ATTACKER,
                    )
                else:
                    info = sessions.authenticate(session, system_ctx, auth, token)
                    second_factor.verify_totp(
                        session, system_ctx, auth, info, code="000000", client_address=ATTACKER
                    )
        except RateLimited:
            outcomes.append("refused")
        except AuthFailed:
            outcomes.append("checked")

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    limit = PASSWORD_PAIR if kind == "password" else FACTOR_PAIR
    assert sorted(outcomes) == ["checked"] * limit + ["refused"] * (guesses - limit)
