"""D17: a user removes one of their own passkeys (with step-up).

* The key may be lost: every other session of the user ends (one may be the finder's, who also knows
  the password), the current one stays, and the audit entry counts them — as after a password change.
* The last usable second factor is never removed (409 with a reason; a Dutch page on the web): without
  one, a password alone would set up a TOTP factor of its own, with recovery codes.

Real app, real database, real TOTP and a software authenticator (real P-256 signatures); the
FrozenClock is the only double.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, login, totp_now
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from tests.web.world import csrf_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.models.identity import AuthSession, PasskeyCredential
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


def _same(account: Account) -> Account:
    return Account(account.user_id, account.username, account.password, account.secret)


def _removed_details(vault: Vault) -> list[dict[str, Any]]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.tag == str(AuditTag.AUTH_PASSKEY_REMOVED))
            .order_by(AuditEntry.seq)
        )
        return [json.loads(r) for r in rows]


def _web_with_code(client: TestClient, account: Account, clock: FrozenClock) -> str:
    """The owner signs in with password + app code (API) and carries the verified session to the web."""
    owner = _same(account)
    login(client, owner)
    assert account.secret
    ok = client.post(
        "/api/v1/auth/totp/verify",
        headers=bearer(owner.token),
        json={"code": totp_now(account.secret, clock)},
    )
    assert ok.status_code == 200, ok.text
    token = str(ok.json()["token"])
    client.cookies.clear()
    client.cookies.set("vault_session", token)
    return token


def test_d17_removing_a_lost_passkey_on_the_web_ends_the_finders_session(
    client: TestClient, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    key = SoftKey()
    item = register(client, verified_anna, key)
    finder = passkey_login(client, _same(verified_anna), key)  # found the key, knows the password
    assert finder.status_code == 200, finder.text
    finder_token = finder.json()["token"]
    clock.advance(seconds=30)
    owner_token = _web_with_code(client, verified_anna, clock)
    page = client.get("/passkeys")
    assert page.status_code == 200
    removed = client.post(
        f"/passkeys/{item['id']}/verwijderen", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert removed.headers["location"] == "/passkeys?verwijderd=1"
    assert client.get("/api/v1/auth/sessions", headers=bearer(finder_token)).status_code == 401
    # The owner's own session stays, and is told what happened.
    assert client.get("/api/v1/auth/sessions", headers=bearer(owner_token)).status_code == 200
    after = client.get("/passkeys?verwijderd=1")
    assert after.status_code == 200
    assert "bent u afgemeld" in after.text
    details = _removed_details(vault)[-1]
    # verified_anna's own first session, and the finder's, ended (ids only in the entry).
    assert details == {"sessions_ended": 2}
    with vault.db.session() as session:
        reasons = set(
            session.scalars(
                select(AuthSession.end_reason).where(
                    AuthSession.user_id == verified_anna.user_id, AuthSession.ended_at.is_not(None)
                )
            )
        )
    assert "passkey_removed" in reasons


def test_d17_removing_a_passkey_through_the_api_keeps_the_current_session_only(
    client: TestClient, verified_anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    first, second = SoftKey(), SoftKey()
    register(client, verified_anna, first, "Eerste")
    lost = register(client, verified_anna, second, "Kwijt")
    finder = passkey_login(client, _same(verified_anna), second)
    assert finder.status_code == 200, finder.text
    current = passkey_login(client, _same(verified_anna), first)
    assert current.status_code == 200, current.text
    token = current.json()["token"]
    r = client.delete(f"/api/v1/auth/passkeys/{lost['id']}", headers=bearer(token))
    assert r.status_code == 204, r.text
    assert client.get("/api/v1/auth/sessions", headers=bearer(finder.json()["token"])).status_code == 401
    assert client.get("/api/v1/auth/sessions", headers=bearer(verified_anna.token)).status_code == 401
    mine = client.get("/api/v1/auth/sessions", headers=bearer(token))
    assert mine.status_code == 200
    assert _removed_details(vault)[-1] == {"sessions_ended": 2}


def _only_a_passkey(client: TestClient, account: Account, vault: Vault, ctx: Context) -> tuple[str, str]:
    """The phone was lost: the administrator reset the app; the passkey is the only second factor.
    Returns the passkey's id and a fresh passkey session's token."""
    key = SoftKey()
    item = register(client, account, key)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, ctx, account.username)
    signed_in = passkey_login(client, account, key)
    assert signed_in.status_code == 200, signed_in.text
    return str(item["id"]), str(signed_in.json()["token"])


def test_d17_the_last_second_factor_cannot_be_removed_through_the_api(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    passkey_id, token = _only_a_passkey(client, verified_anna, vault, system_ctx)
    r = client.delete(f"/api/v1/auth/passkeys/{passkey_id}", headers=bearer(token))
    assert r.status_code == 409, r.text
    assert "last second factor" in r.text
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, passkey_id)
        assert row is not None
        assert row.revoked_at is None
    assert _removed_details(vault) == []
    # So a password alone still cannot set up a factor of its own beside it.
    attacker = _same(verified_anna)
    login(client, attacker)
    assert client.post("/api/v1/auth/totp/enrol", headers=bearer(attacker.token)).status_code == 401
    assert client.get("/api/v1/auth/sessions", headers=bearer(token)).status_code == 200


def test_d17_the_last_second_factor_cannot_be_removed_on_the_web(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    passkey_id, token = _only_a_passkey(client, verified_anna, vault, system_ctx)
    client.cookies.clear()
    client.cookies.set("vault_session", token)
    page = client.get("/passkeys")
    r = client.post(
        f"/passkeys/{passkey_id}/verwijderen", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    # POST-redirect-GET: the refusal is a 303 to the list with a fixed code, so a reload does not post.
    assert r.status_code == 303
    assert r.headers["location"] == "/passkeys?melding=laatste-factor"
    shown = client.get(r.headers["location"])
    assert shown.status_code == 200
    alert = shown.text.split('role="alert" id="pk-error">', 1)[1].split("</p>", 1)[0]
    assert "Dit is uw laatste tweede factor. Stel eerst een andere in" in alert
    assert passkey_id not in alert  # no id in the message
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, passkey_id)
        assert row is not None
        assert row.revoked_at is None


def _audit_rows(vault: Vault) -> list[tuple[str, str | None]]:
    with vault.db.session() as session:
        return [
            (str(e.tag), e.object_id) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def test_d17_the_last_factor_refusal_is_written_once_and_a_reload_repeats_nothing(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    """The refused POST writes what it writes (no removal) once; showing, and reloading, the page it
    redirects to is a GET that neither removes the key nor adds to the audit log."""
    passkey_id, token = _only_a_passkey(client, verified_anna, vault, system_ctx)
    client.cookies.clear()
    client.cookies.set("vault_session", token)
    page = client.get("/passkeys")
    before = _audit_rows(vault)
    r = client.post(
        f"/passkeys/{passkey_id}/verwijderen", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303
    after_post = _audit_rows(vault)
    assert after_post[: len(before)] == before
    assert (str(AuditTag.AUTH_PASSKEY_REMOVED), passkey_id) not in after_post
    for _ in range(2):  # shown, then reloaded
        shown = client.get(r.headers["location"])
        assert shown.status_code == 200
        assert "Dit is uw laatste tweede factor" in shown.text
    assert _audit_rows(vault) == after_post


def test_d17_an_unknown_or_empty_code_on_the_passkey_page_shows_nothing(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    _, token = _only_a_passkey(client, verified_anna, vault, system_ctx)
    client.cookies.clear()
    client.cookies.set("vault_session", token)
    for query in (
        "?melding=onbekend",
        "?melding=",
        "?melding=Dit+is+uw+laatste",
        "?melding=laatste-factor%00",
    ):
        shown = client.get(f"/passkeys{query}")
        assert shown.status_code == 200
        assert 'role="alert"' not in shown.text
        assert "laatste tweede factor" not in shown.text
        assert "onbekend" not in shown.text  # a code is never echoed


def test_d17_one_of_two_passkeys_can_be_removed_without_an_app(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    spare = register(client, verified_anna, SoftKey(), "Reserve")
    _, token = _only_a_passkey(client, verified_anna, vault, system_ctx)
    assert client.delete(f"/api/v1/auth/passkeys/{spare['id']}", headers=bearer(token)).status_code == 204
    # The one left is now the last factor.
    left = client.get("/api/v1/auth/passkeys", headers=bearer(token)).json()
    assert [p["name"] for p in left] == ["Sleutel"]
    assert client.delete(f"/api/v1/auth/passkeys/{left[0]['id']}", headers=bearer(token)).status_code == 409


def test_d17_a_suspect_passkey_does_not_count_as_the_remaining_factor(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    spare = register(client, verified_anna, SoftKey(), "Reserve")
    passkey_id, token = _only_a_passkey(client, verified_anna, vault, system_ctx)
    with transaction(vault.db) as session:
        row = session.get(PasskeyCredential, spare["id"])
        assert row is not None
        row.suspect_at = system_ctx.now()
    r = client.delete(f"/api/v1/auth/passkeys/{passkey_id}", headers=bearer(token))
    assert r.status_code == 409, r.text
