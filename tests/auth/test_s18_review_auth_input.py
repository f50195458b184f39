"""Session 18 review of signing in (D17; "no 500 for anything a client can send"): a passkey answer
whose credential id is not text the database can store — a lone surrogate, which a JSON body may
carry as ``"\\ud800"`` — ended in a server error (``UnicodeEncodeError`` while looking the key up),
on the API and on the web page's script alike, from a session that had passed only the password.
Now it is an ordinary refused passkey: 401, audited ``auth:passkey:failed`` (``unknown_credential``),
counted like any wrong answer. A passkey name with such a character is refused as a bad name (400).
"""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, login
from tests.web.world import csrf_of
from vault.domain import AuditTag
from vault.errors import InvalidInput
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.authentication.passkeys import _clean_name

UNSTORABLE = '{"doel": "login", "credential": {"id": "\\ud800", "type": "public-key"}}'


def _failures(vault: Vault, user_id: str) -> list[str | None]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == str(AuditTag.AUTH_PASSKEY_FAILED), AuditEntry.object_id == user_id
            )
        ).all()
        return [json.loads(row.details).get("reason") for row in rows]


def test_s18_d17_a_passkey_answer_with_an_unstorable_id_is_refused_not_a_500_on_the_api(
    client: TestClient, anna: Account, vault: Vault
) -> None:
    login(client, anna)
    r = client.post(
        "/api/v1/auth/passkeys/login",
        content='{"credential": {"id": "\\ud800", "type": "public-key"}}',
        headers={"content-type": "application/json", **bearer(anna.token)},
    )
    assert r.status_code == 401, r.text
    assert "ud800" not in r.text
    assert "Traceback" not in r.text
    assert _failures(vault, anna.user_id) == ["no_challenge"]  # refused and counted like any other


def test_s18_d17_a_passkey_answer_with_an_unstorable_id_is_refused_not_a_500_on_the_web(
    client: TestClient, anna: Account, vault: Vault
) -> None:
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": anna.username, "password": anna.password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    csrf = csrf_of(client.get("/tweede-factor").text)
    r = client.post(
        "/passkeys/aanmelden",
        content=UNSTORABLE,
        headers={"content-type": "application/json", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 401, r.text
    assert r.json() == {
        "fout": "De passkey is niet geaccepteerd. Probeer het opnieuw of gebruik een herstelcode."
    }
    assert _failures(vault, anna.user_id) == ["no_challenge"]


def test_s18_d17_a_passkey_name_with_an_unstorable_character_is_a_bad_name() -> None:
    try:
        _clean_name("sleutel \ud800", 0)
    except InvalidInput:
        return
    raise AssertionError("a name the database cannot store was accepted")
