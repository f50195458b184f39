"""D17: setting the authenticator app up again (a passkey session after an administrator reset it) needs
a fresh step-up for its first code. When the step-up lapses between the QR code and the code, the code
is not accepted (never without a valid step-up), the page says in Dutch what happened, and after the
step-up the person comes back to the same setup: the pending secret is kept (never in a URL, a page or
the audit log) and a code of the app they already scanned activates it. Before, they were sent to the
step-up and then to their start page, and had to begin the setup again.

Real app, real database, a software authenticator (real P-256 signatures); the FrozenClock is the only
double.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, totp_now
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from tests.web.world import csrf_of
from vault.context import Context, FrozenClock
from vault.models import AuditEntry
from vault.models.identity import TotpFactor
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

LAPSED = "Uw bevestiging is verlopen"


def _setup_started(
    client: TestClient, account: Account, vault: Vault, system_ctx: Context
) -> tuple[SoftKey, str, str, str]:
    """Passkey session after a reset; the QR code shown. Returns the key, the session token, the secret
    and the enrolment page's CSRF token."""
    key = SoftKey()
    register(client, account, key)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, system_ctx, account.username)
    signed_in = passkey_login(client, account, key)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["token"]
    client.cookies.clear()
    client.cookies.set("vault_session", token)
    page = client.get("/passkeys")
    enrol = client.post("/tweede-factor/instellen", data={"csrf_token": csrf_of(page.text)})
    assert enrol.status_code == 200, enrol.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrol.text)
    assert secret is not None
    return key, token, secret.group(1), csrf_of(enrol.text)


def _factor(vault: Vault, user_id: str) -> TotpFactor:
    with vault.db.session() as session:
        factor = session.get(TotpFactor, user_id)
        assert factor is not None
        session.expunge(factor)
        return factor


def _passkey_step_up(client: TestClient, token: str, key: SoftKey) -> str:
    options = client.post("/api/v1/auth/passkeys/step-up/options", headers=bearer(token)).json()
    r = client.post(
        "/api/v1/auth/passkeys/step-up",
        headers=bearer(token),
        json={"credential": key.get(options["options"])},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def _audit_text(vault: Vault) -> str:
    with vault.db.session() as session:
        return " ".join(f"{e.details} {e.object_id} {e.rule}" for e in session.scalars(select(AuditEntry)))


def test_d17_a_code_typed_after_the_step_up_lapsed_is_refused_and_the_setup_resumes_after_it(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    key, token, secret, csrf = _setup_started(client, verified_anna, vault, system_ctx)
    pending = _factor(vault, verified_anna.user_id)
    clock.advance(minutes=6)  # the step-up window (5 minutes) ends while the QR code is shown
    code = totp_now(secret, clock)
    late = client.post("/tweede-factor", data={"code": code, "csrf_token": csrf}, follow_redirects=False)
    assert late.status_code == 303, late.text
    where = late.headers["location"]
    assert where == "/bevestigen?terug=/tweede-factor"
    assert code not in where
    assert secret not in where
    assert not _factor(vault, verified_anna.user_id).active  # never accepted without a valid step-up
    told = client.get(where)
    assert told.status_code == 200
    assert LAPSED in told.text  # in Dutch, what happened and what to do
    assert secret not in told.text
    assert code not in told.text
    # The step-up (here the passkey), then back to the same setup: the same pending secret.
    client.cookies.set("vault_session", _passkey_step_up(client, token, key))
    back = client.get("/tweede-factor")
    assert back.status_code == 200, back.text
    assert "Voer de code van uw authenticator-app in" in back.text
    assert secret not in back.text  # not shown again
    kept = _factor(vault, verified_anna.user_id)
    assert (kept.secret_sealed, kept.active) == (pending.secret_sealed, False)
    clock.advance(seconds=30)  # the app's next code, of the secret scanned before
    done = client.post(
        "/tweede-factor",
        data={"code": totp_now(secret, clock), "csrf_token": csrf_of(back.text)},
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    assert "herstelcode" in done.text.lower()  # activated: the new recovery codes, shown once
    assert _factor(vault, verified_anna.user_id).active
    logged = _audit_text(vault)
    assert secret not in logged
    assert code not in logged


def test_d17_without_a_pending_setup_the_second_factor_page_still_leads_home(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    signed_in = passkey_login(client, verified_anna, key)
    client.cookies.clear()
    client.cookies.set("vault_session", signed_in.json()["token"])
    r = client.get("/tweede-factor", follow_redirects=False)  # the app is active: nothing pending
    assert r.status_code == 303
    assert r.headers["location"] != "/tweede-factor"  # home, as before


def test_d17_the_step_up_page_says_nothing_of_the_app_for_other_pages(
    client: TestClient, verified_anna: Account
) -> None:
    client.cookies.set("vault_session", verified_anna.token or "")
    page: Any = client.get("/bevestigen?terug=/tweede-factor")  # the app is active: nothing being set up
    assert page.status_code == 200, page.text
    assert "Bevestig met een nieuwe code" in page.text
    assert LAPSED not in page.text
