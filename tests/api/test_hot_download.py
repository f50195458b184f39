"""The download, the hot path (docs/architecture.md, "The download"): the shortcut past the router
answers exactly as the router would; the session and the gate's facts come from one statement; the
driver-level statement reads rows as SQLAlchemy does; the web download goes through the same job."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import column, select, table

from tests.helpers import ApiUser, api_user, ctx_for, new_case, team_id_of, upload
from vault.app import create_app
from vault.auth import AuthConfig
from vault.context import FrozenClock
from vault.db import Prebuilt
from vault.domain import AuditTag, Role
from vault.errors import Unavailable
from vault.http.middleware import HotRoute
from vault.models import AuditEntry
from vault.repositories.access import _SESSION_DOCUMENT_READ, session_document_read
from vault.runtime import Vault
from vault.services.authentication import session_token_hash
from vault.web.session import cookie_name

TEAM = "Team Noord"
BODY = b"verslag huisbezoek\n" * 40
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def document(vault: Vault, worker: ApiUser) -> str:
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    return upload(vault, ctx, new_case(vault, ctx, team_id_of(vault, TEAM)), BODY)


def _router_only(vault: Vault) -> FastAPI:
    app = create_app(vault)
    app.user_middleware = [m for m in app.user_middleware if cast(object, m.cls) is not HotRoute]
    return app


def _answer(client: TestClient, path: str, headers: dict[str, str]) -> tuple[Any, ...]:
    r = client.get(path, headers=headers)
    kept = {k: v for k, v in r.headers.items() if k not in {"x-request-id", "date", "content-length"}}
    return r.status_code, r.content, kept


def test_d16_d17_the_shortcut_answers_every_request_as_the_router_would(
    vault: Vault, client: TestClient, worker: ApiUser, document: str
) -> None:
    path = f"/api/v1/documents/{document}/content"
    asks: list[tuple[str, dict[str, str]]] = [
        (path, worker.headers),
        (f"{path}?version=1", worker.headers),
        (f"{path}?version=2", worker.headers),  # no such version: 404
        (f"{path}?version=abc", worker.headers),  # 422, as FastAPI's validation says
        (f"{path}?version=0", worker.headers),
        (f"{path}?version=1000001", worker.headers),
        (f"{path}?grant_id=nope", worker.headers),
        ("/api/v1/documents/not-a-uuid/content", worker.headers),
        (f"/api/v1/documents/{MISSING}/content", worker.headers),  # audited 404
        (path, {}),  # 401
        (path, {"Authorization": "Bearer not-a-token"}),
        (path, {"Authorization": "Basic abc"}),
        (path, {"Authorization": "Bearer " + "x" * 5000}),
        (path, {**worker.headers, "X-Break-Glass-Justification": "x" * 3000}),
        (path, {**worker.headers, "X-Break-Glass-Justification": "%ff%fe"}),
    ]
    with TestClient(_router_only(vault)) as router:
        for url, headers in asks:
            assert _answer(client, url, headers) == _answer(router, url, headers), url
    shortcut = _answer(client, path, worker.headers)
    assert shortcut[0] == 200
    assert shortcut[1] == BODY
    assert shortcut[2]["cache-control"] == "no-store"
    assert shortcut[2]["x-content-type-options"] == "nosniff"
    assert shortcut[2]["content-security-policy"].startswith("sandbox")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("version=abc", "query.version"),
        ("version=0", "query.version"),
        ("version=1000001", "query.version"),
        ("version=-1", "query.version"),
        ("version=%C2%B2", "query.version"),  # a superscript digit is no integer
        ("grant_id=nope", "query.grant_id"),
        ("grant_id=ABCDEF00-0000-4000-8000-000000000000", "query.grant_id"),  # ids are lowercase
    ],
)
def test_parameters_are_checked_as_the_schema_declares(
    vault: Vault, client: TestClient, worker: ApiUser, document: str, query: str, named: str
) -> None:
    before = len(_entries(vault, AuditTag.DOSSIER_DOCUMENT_READ))
    r = client.get(f"/api/v1/documents/{document}/content?{query}", headers=worker.headers)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(named)
    value = query.split("=", 1)[1]
    assert len(value) < 4 or value not in r.json()["detail"]  # the value is never echoed
    assert len(_entries(vault, AuditTag.DOSSIER_DOCUMENT_READ)) == before  # refused before the gate
    bad_id = client.get("/api/v1/documents/" + "a" * 37 + "/content", headers=worker.headers)
    assert bad_id.status_code == 422
    assert bad_id.json()["detail"].startswith("path.document_id")


def test_head_and_other_methods_still_go_through_the_router(
    client: TestClient, worker: ApiUser, document: str
) -> None:
    path = f"/api/v1/documents/{document}/content"
    for method in ("POST", "HEAD", "DELETE"):
        answer = client.request(method, path, headers=worker.headers)
        assert answer.status_code == 405, method  # the router's answer: only GET is served


def test_the_session_and_the_facts_come_from_one_statement(
    vault: Vault, client: TestClient, worker: ApiUser, document: str
) -> None:
    if not vault.db.is_sqlite:
        pytest.skip("statements are counted with SQLite's trace callback")
    seen: list[str] = []
    raw = vault.db.engine.raw_connection()  # the pool's one connection the group commit uses next
    driver = raw.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    raw.close()
    driver.set_trace_callback(seen.append)
    try:
        r = client.get(f"/api/v1/documents/{document}/content", headers=worker.headers)
    finally:
        driver.set_trace_callback(None)
    assert r.status_code == 200
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    # One for the session with every fact of the read, one for the audit chain's head.
    assert len(selects) == 2, selects
    assert "auth_sessions" in selects[0]
    assert "document_versions" in selects[0]


def test_the_prebuilt_statement_reads_rows_as_sqlalchemy_does(
    vault: Vault, worker: ApiUser, document: str
) -> None:
    token_hash = session_token_hash(AuthConfig.from_vault(vault), worker.token)
    statement = _SESSION_DOCUMENT_READ._statement
    asks = [(token_hash, document, None), (token_hash, document, 1), (token_hash, MISSING, None)]
    with vault.db.session() as session:
        for token, doc, version in asks:
            params = {"token_hash": token, "document_id": doc, "version": version}
            expected = session.execute(statement, params).first()
            row = session_document_read(session, token, doc, version)
            assert expected is not None
            assert row is not None
            assert tuple(row) == tuple(expected)
            assert row._fields == tuple(expected._fields)
        assert session_document_read(session, "0" * 64, document, None) is None
    assert expected is not None
    assert isinstance(row.expires_at.tzinfo, type(expected.expires_at.tzinfo))
    assert row.second_factor_verified is True


def test_a_driver_error_in_a_prebuilt_statement_is_a_clear_refusal(vault: Vault) -> None:
    broken = Prebuilt(select(table("no_such_table", column("x"))))
    with pytest.raises(Unavailable, match="nothing was stored or disclosed"), vault.db.session() as session:
        broken.first(session, {})


# --- the web download: the same job ------------------------------------------------------------------


def _browser(vault: Vault, token: str) -> TestClient:
    client = TestClient(create_app(vault))
    client.cookies.set(cookie_name(vault), token)
    return client


def _entries(vault: Vault, tag: AuditTag) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.tag == str(tag))))


def test_d16_web_download_reads_through_the_gate_with_its_audit_entry(
    vault: Vault, worker: ApiUser, document: str
) -> None:
    with _browser(vault, worker.token) as browser:
        r = browser.get(f"/documenten/{document}/inhoud", follow_redirects=False)
    assert r.status_code == 200
    assert r.content == BODY
    assert r.headers["content-security-policy"].startswith("sandbox")
    reads = [e for e in _entries(vault, AuditTag.DOSSIER_DOCUMENT_READ) if e.object_id == document]
    assert [(e.access_point, e.actor_id, e.actor_role) for e in reads] == [
        ("web", worker.user_id, "medewerker")
    ]


def test_d16_web_download_of_an_unknown_document_is_audited_and_a_dutch_page_with_the_menu(
    vault: Vault, worker: ApiUser
) -> None:
    with _browser(vault, worker.token) as browser:
        r = browser.get(f"/documenten/{MISSING}/inhoud", follow_redirects=False)
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "Afmelden" in r.text  # the menu of the logged-in user
    denied = _entries(vault, AuditTag.DOSSIER_ACCESS_DENIED)
    assert [e.object_id for e in denied if e.access_point == "web"] == [MISSING]


def test_d17_web_download_without_a_live_session_goes_to_login_and_ends_an_expired_one(
    vault: Vault, clock: FrozenClock, worker: ApiUser, document: str
) -> None:
    with _browser(vault, "not-a-token") as browser:
        r = browser.get(f"/documenten/{document}/inhoud", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    clock.advance(seconds=timedelta(days=2).total_seconds())
    with _browser(vault, worker.token) as browser:
        r = browser.get(f"/documenten/{document}/inhoud", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?reden=verlopen")
    ended = _entries(vault, AuditTag.AUTH_SESSION_ENDED)
    assert [e.actor_id for e in ended] == [worker.user_id]
    assert not [e for e in _entries(vault, AuditTag.DOSSIER_DOCUMENT_READ) if e.object_id == document]
