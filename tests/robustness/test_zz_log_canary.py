"""Canary scan of the application logs: names, BSNs, TOTP secrets and codes, session tokens and
passwords sent through representative flows never appear in what the vault logs.

The flows run with the real logging configuration (``configure_logging`` at DEBUG, JSON lines into a
buffer); the real server's stderr is scanned in tests/robustness/test_crash.py. Also: the redaction
processor masks a BSN, TOTP code or e-mail address that code logs by mistake.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pyotp
import pytest
import structlog
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from tests.helpers import API_PASSWORD, ApiUser, api_user, create_account
from tests.robustness.support import csrf_of, free_port
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import OrgType, Role
from vault.logging import REDACTED, configure_logging, redact
from vault.runtime import Vault
from vault.services import worklists

CANARY_NAME = "Kanarie Pieternella Vogelzang"
CANARY_BSN = "111222333"
CANARY_TITLE = "Kanarietitel Huisbezoek Vogelzang"
CANARY_FILENAME = "kanarie-vogelzang.txt"
CANARY_CONTENT = b"KANARIE-INHOUD Vogelzang woont op Kanariepad 7"
CANARY_EMAIL = "p.vogelzang@kanarie.example"


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    try:
        yield buffer
    finally:
        configure_logging("INFO")


def test_no_canary_in_the_logs_of_login_totp_upload_disclosure_lookup_and_web_login(
    log_buffer: io.StringIO, client: TestClient, vault: Vault, clock: FrozenClock, case_id: str
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Robuust")
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team Kanarie", OrgType.LOCAL_TEAM))
    secrets: list[str] = [API_PASSWORD, worker.token, worker.secret, partner.token, partner.secret]

    # Failed logins and codes log the most: a wrong password, a wrong code, a right one.
    username, _, _, secret = create_account(vault, Role.MEDEWERKER, team="Team Robuust")
    secrets.append(secret)
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "Kanarie-fout-wachtwoord"})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": username, "password": API_PASSWORD})
    token = r.json()["token"]
    secrets.append(token)
    code = pyotp.TOTP(secret).at(clock.now())
    bad = client.post(
        "/api/v1/auth/totp/verify",
        headers={"Authorization": f"Bearer {token}"},
        json={"code": "000000" if code != "000000" else "111111"},
    )
    assert bad.status_code == 401
    good = client.post(
        "/api/v1/auth/totp/verify", headers={"Authorization": f"Bearer {token}"}, json={"code": code}
    )
    assert good.status_code == 200
    secrets += [good.json()["token"], *good.json()["recovery_codes"]]
    clock.advance(seconds=30)

    # Upload with canary title, file name and content; download; a disclosure; a partner retrieval.
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "safety_conditions"},
        content=CANARY_CONTENT,
        headers={
            **worker.headers,
            "X-Document-Title": quote(CANARY_TITLE),
            "X-Document-Filename": quote(CANARY_FILENAME),
            "Content-Type": "text/plain",
        },
    )
    assert r.status_code == 201, r.text
    doc = r.json()["document_id"]
    assert client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers).content == CANARY_CONTENT
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": partner.org_id,
            "purpose": "warme overdracht",
            "legal_basis": "wmo-4.1.1-2-help",
            "contact_name": "Marieke de Vries",  # D23
            "contact_phone": "030 123 45 67",
            "categories": ["safety_conditions"],
        },
    )
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers).status_code == 200
    _person_lookup(client, worker)

    # The web login (password, then code) and a refused CSRF post.
    web_user, _, _, web_secret = create_account(vault, Role.MEDEWERKER, team="Team Robuust")
    secrets.append(web_secret)
    web = TestClient(client.app, client=("198.51.100.9", 1))
    page = web.get("/login")
    r = web.post(
        "/login",
        data={"username": web_user, "password": API_PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = web.get("/tweede-factor")
    r = web.post(
        "/tweede-factor",
        data={"code": pyotp.TOTP(web_secret).at(clock.now()), "csrf_token": csrf_of(page.text)},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    secrets += [c.value for c in web.cookies.jar if c.value]

    # An error path that logs (a 5xx is logged with its code only): a document whose blob is gone.
    for blob in vault.settings.blob_dir.rglob("*"):
        if blob.is_file():
            blob.unlink()
    assert client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers).status_code == 500

    logged = log_buffer.getvalue()
    assert "request_failed" in logged or "unexpected_error" in logged, "the scan reads real log output"
    for line in logged.splitlines():
        if line.startswith("{"):
            json.loads(line)  # JSON lines only
    for canary in [
        CANARY_NAME,
        CANARY_BSN,
        CANARY_TITLE,
        CANARY_FILENAME,
        CANARY_CONTENT.decode(),
        "Kanarie-fout-wachtwoord",
        *secrets,
    ]:
        assert canary not in logged, "a canary reached the logs"


def _person_lookup(client: TestClient, worker: ApiUser) -> None:
    """D19 lookup with a canary BSN and name through whichever lookup operation the schema has."""
    paths = client.get("/openapi.json").json()["paths"]
    lookups = [p for p, item in paths.items() if "lookup" in p and "post" in item]
    for path in lookups:
        r = client.post(
            path,
            headers=worker.headers,
            json={
                "bsn": CANARY_BSN,
                "name": CANARY_NAME,
                "date_of_birth": "1980-01-01",
                "email": CANARY_EMAIL,
            },
        )
        assert r.status_code < 500, r.text


def test_redaction_masks_a_bsn_a_totp_code_an_email_and_a_token_logged_by_mistake() -> None:
    event = redact(
        None,
        "info",
        {
            "event": f"oops {CANARY_BSN} and 123456 for {CANARY_EMAIL}",
            "detail": "token Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4eHh4eA and 1234.56.789",
            "password": "hunter2",
            "totp_secret": "JBSWY3DPEHPK3PXP",
            "subject_name": CANARY_NAME,
            "case_id": "c0ffee00-0000-4000-8000-000000000000",
            "count": 3,
            "payload": {"bsn": CANARY_BSN},
        },
    )
    rendered = json.dumps(dict(event))
    for secret in (
        CANARY_BSN,
        "123456",
        CANARY_EMAIL,
        "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4eHh4eA",
        "hunter2",
        "JBSWY3DPEHPK3PXP",
        CANARY_NAME,
    ):
        assert secret not in rendered
    assert event["password"] == REDACTED
    assert event["case_id"] == "c0ffee00-0000-4000-8000-000000000000"
    assert event["count"] == 3


def test_a_logged_exception_keeps_only_its_type(log_buffer: io.StringIO) -> None:
    log = structlog.get_logger("canary")
    try:
        raise ValueError(f"BSN {CANARY_BSN} of {CANARY_NAME}")
    except ValueError:
        log.exception("failed")
    logging.getLogger("canary.stdlib").warning("stdlib %s", "line")
    out = log_buffer.getvalue()
    assert "ValueError" in out
    assert CANARY_BSN not in out
    assert CANARY_NAME not in out


def test_an_unexpected_error_under_uvicorn_logs_no_row_values(
    log_buffer: io.StringIO, vault: Vault, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uvicorn logs every exception that reaches it with its traceback; a database error's text holds
    the driver's DETAIL line and, unless hidden, the statement's values. None of it may be written."""
    username, _, _, secret = create_account(vault, Role.MEDEWERKER, team="Team Robuust")

    def failing(*_args: object, **_kwargs: object) -> None:
        raise IntegrityError(
            "INSERT INTO users (username, password_hash) VALUES (%(username)s, %(password_hash)s)",
            {"username": CANARY_NAME, "password_hash": "$argon2id$kanarie"},
            Exception(f"duplicate key\nDETAIL:  Key (username)=({CANARY_NAME}) already exists."),
            hide_parameters=vault.db.engine.hide_parameters,
        )

    monkeypatch.setattr(worklists, "my_cases", failing)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(vault), host="127.0.0.1", port=free_port(), log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        base = f"http://127.0.0.1:{server.config.port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            token = http.post("/api/v1/auth/login", json={"username": username, "password": API_PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['token']}"}
            code = pyotp.TOTP(secret).at(clock.now())
            verified = http.post("/api/v1/auth/totp/verify", headers=headers, json={"code": code})
            headers = {"Authorization": f"Bearer {verified.json()['token']}"}
            answer = http.get("/api/v1/worklists/my-cases", headers=headers)
    finally:
        server.should_exit = True
        thread.join(10)
    assert answer.status_code == 500
    assert CANARY_NAME not in answer.text
    out = log_buffer.getvalue()
    assert "IntegrityError" in out  # the failure is logged, by its type
    for secret_text in (CANARY_NAME, "argon2", "DETAIL", "Traceback", "INSERT INTO"):
        assert secret_text not in out, secret_text
    for line in out.splitlines():
        json.loads(line)  # every line, uvicorn's too, is one JSON object


def test_a_pdf_of_a_copy_logs_nothing_of_its_text(log_buffer: io.StringIO) -> None:
    """The PDF's font is subset to the letters of the text: the library doing it must not log them."""
    from vault.services.pdf import render_pdf

    render_pdf("Inzage", [("Uw gegevens", [("Naam", "Şükrü Çelik")])], footer="x")
    out = log_buffer.getvalue()
    for trace in ("Scedilla", "udieresis", "Ccedilla", "Glyph"):
        assert trace not in out


def _event_names() -> set[str]:
    """Every event name the vault logs with structlog (``log.warning("name", …)``)."""
    call = re.compile(r"\blog(?:ger)?\.(?:debug|info|warning|error|exception|critical)\(\s*\"([^\"]+)\"")
    root = Path(__file__).resolve().parents[2] / "vault"
    return {name for path in root.rglob("*.py") for name in call.findall(path.read_text(encoding="utf-8"))}


def test_every_event_name_is_logged_as_it_is_written() -> None:
    """The monitoring lines the docs promise (``auth_account_ceiling_reached``,
    ``kek_epoch_destruction_postponed`` …) are readable: the token pattern masked every name of 24
    characters or more as ``***``. A free-text event (a library's message) is still scrubbed."""
    names = _event_names()
    assert "kek_epoch_destruction_postponed" in names
    assert len(names) > 20
    for name in sorted(names):
        assert redact(None, "warning", {"event": name})["event"] == name
    for secret in ("Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4eHh4eA", "3f2a9c0d1e4b5a6978877665544332211"):
        assert redact(None, "warning", {"event": secret})["event"] == REDACTED
