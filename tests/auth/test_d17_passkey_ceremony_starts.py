"""D17: starting a passkey ceremony (the sign-in, step-up or registration options).

* Each start writes an audit entry and a challenge row, and a password alone may start a sign-in: the
  starts are limited per session and purpose (``CEREMONY_STARTS`` within ``CEREMONY_WINDOW``); over it
  429 with Retry-After, and only the first refusal in a window is audited (ids only).
* A notice that an administrator revoked a passkey is given once — and spent only by an answer that
  shows it: not by a 409 without the names, not by the web script's options, not by the step-up page.

Real app, real database, a software authenticator (real P-256 signatures); the FrozenClock is the only
double.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.auth.conftest import Account, bearer, login, totp_now
from tests.auth.test_passkeys import SoftKey, register
from tests.web.world import csrf_of
from vault.auth import AuthConfig, hash_token
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision
from vault.models import AuditEntry
from vault.models.identity import AuthSession, PasskeyChallenge, PasskeyCredential
from vault.runtime import Vault
from vault.services.authentication import passkey_policy
from vault.services.authentication.passkey_store import CEREMONY_STARTS, CEREMONY_WINDOW
from vault.transaction import transaction
from vault.web.csrf import session_token

OPTIONS = "/api/v1/auth/passkeys/login/options"


def _same(account: Account) -> Account:
    return Account(account.user_id, account.username, account.password, account.secret)


def _started(vault: Vault) -> list[tuple[str, dict[str, Any]]]:
    with vault.db.session() as session:
        rows = session.execute(
            select(AuditEntry.decision, AuditEntry.details)
            .where(AuditEntry.tag == str(AuditTag.AUTH_PASSKEY_ASSERTION_STARTED))
            .order_by(AuditEntry.seq)
        ).all()
    return [(str(decision), json.loads(details)) for decision, details in rows]


def _challenges(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(PasskeyChallenge)) or 0)


def test_d17_a_password_alone_cannot_start_passkey_sign_ins_without_limit(
    client: TestClient, verified_anna: Account, vault: Vault
) -> None:
    register(client, verified_anna, SoftKey())
    rows_before = _challenges(vault)
    attacker = _same(verified_anna)
    login(client, attacker)  # the password only
    answers = [client.post(OPTIONS, headers=bearer(attacker.token)) for _ in range(60)]
    statuses = [a.status_code for a in answers]
    assert statuses[:CEREMONY_STARTS] == [200] * CEREMONY_STARTS
    assert set(statuses[CEREMONY_STARTS:]) == {429}
    retry = int(answers[-1].headers["Retry-After"])
    assert 0 < retry <= CEREMONY_WINDOW.total_seconds()
    started = _started(vault)
    allowed = [d for decision, d in started if decision == str(Decision.ALLOW)]
    refused = [d for decision, d in started if decision == str(Decision.DENY)]
    assert len(allowed) == CEREMONY_STARTS
    assert refused == [{"purpose": "login", "reason": "rate_limited", "starts": CEREMONY_STARTS}]
    assert _challenges(vault) - rows_before <= CEREMONY_STARTS + 1


def test_d17_a_refused_start_leaves_the_live_challenge_and_the_window_moves_on(
    client: TestClient, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    person = _same(verified_anna)
    login(client, person)
    for _ in range(CEREMONY_STARTS - 1):
        assert client.post(OPTIONS, headers=bearer(person.token)).status_code == 200
    last = client.post(OPTIONS, headers=bearer(person.token))
    assert last.status_code == 200
    assert client.post(OPTIONS, headers=bearer(person.token)).status_code == 429
    # The refusal spent nothing: the last options still sign in.
    signed = client.post(
        "/api/v1/auth/passkeys/login",
        headers=bearer(person.token),
        json={"credential": key.get(last.json()["options"])},
    )
    assert signed.status_code == 200, signed.text
    # Other sessions are not affected; and after the window this one starts again.
    other = _same(verified_anna)
    login(client, other)
    assert client.post(OPTIONS, headers=bearer(other.token)).status_code == 200
    clock.advance(seconds=CEREMONY_WINDOW.total_seconds() + 1)
    token = signed.json()["token"]
    assert client.post(OPTIONS, headers=bearer(token)).status_code == 200


def test_d17_the_web_script_gets_a_dutch_429_with_retry_after(
    client: TestClient, verified_anna: Account, vault: Vault
) -> None:
    register(client, verified_anna, SoftKey())
    client.cookies.clear()
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": "anna", "password": verified_anna.password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    csrf = csrf_of(client.get("/tweede-factor").text)
    answers = [
        client.post("/passkeys/aanmelden/opties", headers={"X-CSRF-Token": csrf}, json={"doel": "login"})
        for _ in range(CEREMONY_STARTS + 1)
    ]
    assert [a.status_code for a in answers[:-1]] == [200] * CEREMONY_STARTS
    assert answers[-1].status_code == 429
    assert answers[-1].json() == {"fout": "Te veel pogingen. Wacht een paar minuten en probeer het opnieuw."}
    assert int(answers[-1].headers["Retry-After"]) > 0


def _revoke(vault: Vault, ctx: Context, key_id: str) -> None:
    with transaction(vault.db) as session:
        passkey_policy.revoke_passkey(session, ctx, "anna", key_id, step_up_minutes=5)


def test_d17_a_revocation_notice_is_not_spent_by_a_409_without_the_names(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    key_id = register(client, verified_anna, SoftKey(), "Telefoon")["id"]
    _revoke(vault, system_ctx, key_id)
    login(client, verified_anna)
    r = client.post(OPTIONS, headers=bearer(verified_anna.token))
    assert r.status_code == 409
    assert "Telefoon" not in r.text
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, key_id)
        assert row is not None
        assert row.revocation_seen_at is None
    # The web sign-in that follows tells the user, once.
    client.cookies.clear()
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": "anna", "password": verified_anna.password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    second = client.get("/tweede-factor")
    assert second.status_code == 200
    assert 'Een beheerder heeft uw passkey "Telefoon" ingetrokken.' in second.text
    assert "Telefoon" not in client.get("/tweede-factor").text


def _web_csrf(vault: Vault, token: str) -> str:
    """The CSRF token the pages would hand this session (without opening a page that tells notices)."""
    auth = AuthConfig.from_vault(vault)
    with vault.db.session() as session:
        row = session.scalars(
            select(AuthSession).where(AuthSession.token_hash == hash_token(auth.hash_key, token))
        ).one()
        return session_token(auth, row.id)


def test_d17_the_web_scripts_options_do_not_spend_a_revocation_notice(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    register(client, verified_anna, SoftKey(), "Thuis")
    lost = register(client, verified_anna, SoftKey(), "Kwijt")["id"]
    _revoke(vault, system_ctx, lost)
    login(client, verified_anna)
    assert verified_anna.token
    client.cookies.clear()
    client.cookies.set("vault_session", verified_anna.token)
    r = client.post(
        "/passkeys/aanmelden/opties",
        headers={"X-CSRF-Token": _web_csrf(vault, verified_anna.token)},
        json={"doel": "login"},
    )
    assert r.status_code == 200, r.text
    assert "Kwijt" not in r.text
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, lost)
        assert row is not None
        assert row.revocation_seen_at is None
    # The API answer that carries the names spends it, once.
    first = client.post(OPTIONS, headers=bearer(verified_anna.token)).json()
    assert first["revoked_by_admin"] == ["Kwijt"]
    assert client.post(OPTIONS, headers=bearer(verified_anna.token)).json()["revoked_by_admin"] == []


def test_d17_the_step_up_page_does_not_spend_a_revocation_notice(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    register(client, verified_anna, SoftKey(), "Thuis")
    lost = register(client, verified_anna, SoftKey(), "Kwijt")["id"]
    _revoke(vault, system_ctx, lost)
    login(client, verified_anna)
    assert verified_anna.secret
    verified = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(verified_anna.token),
        json={"code": totp_now(verified_anna.secret, clock)},
    )
    assert verified.status_code == 200, verified.text
    token = verified.json()["token"]
    client.cookies.clear()
    client.cookies.set("vault_session", token)
    prompt = client.get("/bevestigen?terug=/")
    assert prompt.status_code == 200
    assert "Kwijt" not in prompt.text  # the step-up page shows no notices ...
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, lost)
        assert row is not None
        assert row.revocation_seen_at is None
    assert client.post(OPTIONS, headers=bearer(token)).json()["revoked_by_admin"] == ["Kwijt"]


def test_d17_a_wrong_code_page_does_not_spend_a_revocation_notice(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    register(client, verified_anna, SoftKey(), "Thuis")
    lost = register(client, verified_anna, SoftKey(), "Kwijt")["id"]
    _revoke(vault, system_ctx, lost)
    login(client, verified_anna)
    assert verified_anna.token
    client.cookies.clear()
    client.cookies.set("vault_session", verified_anna.token)
    wrong = client.post(
        "/tweede-factor",
        data={"code": "000000", "csrf_token": _web_csrf(vault, verified_anna.token)},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    assert "Kwijt" not in wrong.text
    page = client.get("/tweede-factor")  # the sign-in page tells it, once
    assert 'Een beheerder heeft uw passkey "Kwijt" ingetrokken.' in page.text
