"""The passkey pages' script posts JSON; a body it would never send gets a 400 with a reason, even
before the second factor (a password alone reaches these endpoints), never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.world import PASSWORD, World, csrf_of
from vault.app import create_app
from vault.runtime import Vault

ENDPOINTS = (
    "/passkeys/aanmelden/opties",
    "/passkeys/aanmelden",
    "/passkeys/registratie/opties",
    "/passkeys/registratie",
)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 60_000,  # nesting deeper than the parser's recursion, well under the size cap
        b'{"a":' * 30_000 + b"1" + b"}" * 30_000,
        b"not json",
        b"[1, 2]",  # JSON, but no object
        b"\xff\xfe",
    ],
    ids=["deep-array", "deep-object", "garbage", "array", "not-utf8"],
)
def test_a_body_the_script_never_sends_is_a_400_with_a_reason(
    vault: Vault, world: World, body: bytes
) -> None:
    client = TestClient(create_app(vault), raise_server_exceptions=False)
    page = client.get("/login")
    form = {"username": world.worker.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303  # no second factor yet
    token = csrf_of(client.get("/tweede-factor").text)
    for path in ENDPOINTS:
        response = client.post(
            path, content=body, headers={"X-CSRF-Token": token, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.status_code)
        assert response.json()["fout"], path  # the page shows this Dutch reason
