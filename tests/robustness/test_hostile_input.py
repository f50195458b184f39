"""Hostile input over the whole API and the web forms: each gets a 4xx with a reason and leaves no
trace but an audit entry where one belongs (a failed login, a refused access)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import API_PASSWORD, ApiUser
from tests.robustness.conftest import TEAM
from tests.robustness.support import (
    audit_count,
    create_account,
    doc_headers,
    last_audit,
    live_user,
    rss_kib,
    start_server,
    web_login,
)
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.http.middleware import MAX_SMALL_BODY_BYTES
from vault.models import DocumentVersion
from vault.runtime import Vault


def _versions(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DocumentVersion)) or 0)


def _no_blobs(vault: Vault) -> bool:
    return not [p for p in vault.settings.blob_dir.rglob("*") if p.is_file()]


def _reason(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error", "detail"}, body
    assert body["detail"], body
    return str(body["detail"])


# --- oversized bodies: refused early, memory flat (measured on a real server process) -------------------


@pytest.fixture
def small_limit_server(vault: Vault, tmp_path: Path) -> Iterator[tuple[str, int]]:
    from tests.robustness import support

    original = support.vault_env

    def env(v: Vault, **extra: str) -> dict[str, str]:
        return original(v, VAULT_MAX_UPLOAD_BYTES=str(1 << 20), **extra)

    support.vault_env = env  # only for this server's start
    try:
        server = start_server(vault, tmp_path, name="small-limit")
    finally:
        support.vault_env = original
    try:
        yield server.base_url, server.proc.pid
    finally:
        server.stop()


def _raw_post(base_url: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"POST {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode("latin-1") + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.decode("latin-1")


@pytest.mark.slow
def test_oversized_bodies_are_refused_early_with_a_reason_and_server_memory_stays_flat(
    vault: Vault, small_limit_server: tuple[str, int]
) -> None:
    base_url, pid = small_limit_server
    worker = live_user(base_url, vault, Role.MEDEWERKER, team=TEAM)
    from tests.robustness.conftest import open_team_case

    case_id = open_team_case(vault, worker.user_id)
    with httpx.Client(base_url=base_url, timeout=60) as http:
        # Warm up (first requests allocate), then measure.
        for _ in range(3):
            http.get("/healthz")
        rss_before = rss_kib(pid)
        before = audit_count(vault)

        # 1. A declared length far over the limit: refused before the body is read (raw socket: no
        # client library sends a length it does not mean to send).
        started = time.monotonic()
        status, reason = _raw_post(
            base_url,
            f"/api/v1/cases/{case_id}/documents?category=report",
            {**doc_headers(worker), "Content-Length": str(10 << 30)},
            b"x" * 1000,
        )
        assert status == 413  # Payload Too Large, with the limit named
        assert "limit" in reason
        assert time.monotonic() - started < 5

        # 2. A chunked upload (no declared length) of 64 MiB: cut off at the 1 MiB limit while streaming.
        def chunks() -> Iterator[bytes]:
            block = b"y" * (1 << 20)
            for _ in range(64):
                yield block

        try:
            r = http.post(
                f"/api/v1/cases/{case_id}/documents",
                params={"category": "report"},
                content=chunks(),
                headers=doc_headers(worker),
            )
            assert r.status_code in (400, 413), r.text
            assert "limit" in _reason(r)
        except httpx.TransportError:
            pass  # the server may close the connection on the rest of a refused body

        # 3. JSON bodies are read whole by the framework: over 1 MiB is refused before that (413).
        r = http.post(
            "/api/v1/auth/login",
            content=b'{"username": "' + b"a" * (8 << 20) + b'", "password": "x"}',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 413
        assert str(MAX_SMALL_BODY_BYTES) in _reason(r)

        def json_chunks() -> Iterator[bytes]:
            yield b'{"username": "'
            for _ in range(16):
                yield b"b" * (1 << 20)
            yield b'", "password": "x"}'

        try:
            r = http.post("/api/v1/auth/login", content=json_chunks(), headers={"Content-Type": "text/plain"})
            assert r.status_code == 413, r.text
        except httpx.TransportError:
            pass

        # 4. A multipart content type does not lift the limit: only the streamed routes are exempt,
        # by path (a 400 MB "login" labelled multipart was read whole into memory).
        multipart = {"Content-Type": "multipart/form-data; boundary=x"}
        r = http.post("/api/v1/auth/login", content=b"a" * (8 << 20), headers=multipart)
        assert r.status_code == 413, r.text
        assert str(MAX_SMALL_BODY_BYTES) in _reason(r)
        try:
            r = http.post("/api/v1/auth/login", content=json_chunks(), headers=multipart)
            assert r.status_code == 413, r.text
        except httpx.TransportError:
            pass
        assert http.get("/healthz").status_code == 200
        rss_after = rss_kib(pid)
    assert _versions(vault) == 0
    assert _no_blobs(vault)
    # Memory flat: well under the 64 MiB and 2 × (8 + 16) MiB that were sent.
    assert rss_after - rss_before < 24 * 1024, (rss_before, rss_after)
    # The refused upload attempts left no entry (refused before the gate); nothing else either.
    assert audit_count(vault) == before


# --- the web upload form: malformed multipart, wrong content types, replayed CSRF tokens ----------------


def test_malformed_multipart_and_wrong_content_types_on_the_web_upload_form(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, case_id: str
) -> None:
    web = web_login(vault, clock, team=TEAM)
    url = f"/zaken/{case_id}/documenten"
    same = {"Sec-Fetch-Site": "same-origin"}
    before = audit_count(vault)
    bad_bodies = {
        "no boundary": ("multipart/form-data", b"garbage"),
        "boundary never appears": ("multipart/form-data; boundary=zzz", b"just text, no parts at all"),
        "truncated part": (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + web.csrf.encode(),
        ),
        "header without end": ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-da"),
        "overlong boundary": ("multipart/form-data; boundary=" + "b" * 300, b"--" + b"b" * 300),
        "file before fields": (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
        ),
    }
    for what, (content_type, body) in bad_bodies.items():
        r = web.client.post(url, content=body, headers={**same, "Content-Type": content_type})
        assert 400 <= r.status_code < 500, (what, r.status_code)
        assert "<h1" in r.text, what  # a Dutch page with the reason, not a traceback
        assert "Traceback" not in r.text
    # A raw (script) upload without the CSRF header, or with JSON pretending to be a form.
    r = web.client.post(url, content=b"x", headers={**same, "Content-Type": "application/json"})
    assert r.status_code == 403
    r = web.client.post(
        url, content=b"x", headers={**same, "Content-Type": "text/plain", "X-CSRF-Token": web.csrf}
    )
    assert r.status_code == 400  # no category header: a reason, nothing stored
    assert _versions(vault) == 0
    assert _no_blobs(vault)
    assert audit_count(vault) == before


def test_replayed_csrf_tokens_are_refused_and_change_nothing(
    client: TestClient, vault: Vault, clock: FrozenClock, case_id: str
) -> None:
    alice = web_login(vault, clock, team=TEAM)
    bob = web_login(vault, clock, team=TEAM)
    same = {"Sec-Fetch-Site": "same-origin"}
    url = f"/zaken/{case_id}/documenten"
    upload_headers = {
        **same,
        "X-Document-Category": "report",
        "X-Document-Title": "t",
        "X-Document-Filename": "f.txt",
        "Content-Type": "text/plain",
    }
    # Alice's token replayed in Bob's session.
    r = bob.client.post(url, content=b"x", headers={**upload_headers, "X-CSRF-Token": alice.csrf})
    assert r.status_code == 403
    assert "verzoek" in r.text.lower()
    # A login form's token replayed with another login nonce (the cookie of a later visit).
    first = client.get("/login")
    from tests.robustness.support import csrf_of

    stale = csrf_of(first.text)
    other = TestClient(client.app, client=("203.0.113.5", 1))
    other.get("/login")  # a different nonce cookie
    username, *_ = create_account(vault, Role.MEDEWERKER, team=TEAM)
    r = other.post(
        "/login",
        data={"username": username, "password": API_PASSWORD, "csrf_token": stale},
        headers=same,
        follow_redirects=False,
    )
    assert r.status_code == 403
    # Bob's own token after he logged out: his session (and so the token) is gone.
    r = bob.client.post("/uitloggen", data={"csrf_token": bob.csrf}, headers=same, follow_redirects=False)
    assert r.status_code == 303
    r = bob.client.post(
        url, content=b"x", headers={**upload_headers, "X-CSRF-Token": bob.csrf}, follow_redirects=False
    )
    assert r.status_code in (303, 401, 403)
    assert _versions(vault) == 0
    assert _no_blobs(vault)


# --- file names, content types, ids --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "accepted_as"),
    [
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("..\\..\\boot.ini", ".._.._boot.ini"),
        ("/absolute/name.txt", "_absolute_name.txt"),
        ("nul\x00byte.txt", None),
        ("new\nline.txt", None),
        ("carriage\rreturn.txt", None),
        ("esc\x1b[31mred.txt", None),
        ("c1\x85control.txt", None),
        ("factuur\u202etxt.exe", None),
        ("x" * 256, None),
        (" ", None),
    ],
)
def test_path_like_and_control_character_file_names(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, filename: str, accepted_as: str | None
) -> None:
    before = audit_count(vault)
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "report"},
        content=b"inhoud",
        headers={**doc_headers(worker), "X-Document-Filename": quote(filename, safe="")},
    )
    if accepted_as is None:
        assert r.status_code == 400, r.text
        assert "name" in _reason(r).lower()
        assert _versions(vault) == 0
        assert _no_blobs(vault)
        assert audit_count(vault) == before
        return
    assert r.status_code == 201, r.text
    doc = r.json()["document_id"]
    back = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    assert f"filename*=UTF-8''{quote(accepted_as, safe='')}" in back.headers["content-disposition"]
    # The name is data, never a path: the blob store holds exactly one file, named by id.
    files = [p for p in vault.settings.blob_dir.rglob("*") if p.is_file()]
    assert len(files) == 1
    assert "passwd" not in str(files[0])
    assert "boot" not in str(files[0])


@pytest.mark.parametrize(
    "content_type",
    ["text/plain\x01", "x" * 200, "tëxt/plain", ""],
)
def test_wrong_content_types_on_upload_are_refused_or_neutralised(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, content_type: str
) -> None:
    headers = doc_headers(worker)
    headers["Content-Type"] = content_type
    try:
        r = client.post(
            f"/api/v1/cases/{case_id}/documents",
            params={"category": "report"},
            content=b"inhoud",
            headers={k: v.encode("utf-8") for k, v in headers.items()},  # type: ignore[misc]
        )
    except (httpx.LocalProtocolError, UnicodeEncodeError):
        return  # the client itself refuses to send it: nothing reached the server
    if content_type == "":
        assert r.status_code == 201  # stored as application/octet-stream
        doc = r.json()["document_id"]
        back = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
        # Served by what the bytes are (plain text, named f.txt: they agree), never by the label (D22).
        assert back.headers["content-type"] == "text/plain; charset=utf-8"
        assert back.headers["content-security-policy"].startswith("sandbox")
        return
    assert 400 <= r.status_code < 500, r.text
    assert _reason(r)
    assert _versions(vault) == 0


def test_json_with_wrong_content_type_deep_nesting_and_garbage_is_refused_with_a_reason(
    client: TestClient, vault: Vault
) -> None:
    before = audit_count(vault)
    deep = b'{"username": ' + b"[" * 100_000 + b"]" * 100_000 + b', "password": "x"}'
    bodies = {
        "deep nesting": (deep, "application/json"),
        "deep nesting of objects": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
        "not json": (b"username=a&password=b", "application/json"),
        "invalid utf-8": (b'{"username": "\xff\xfe", "password": "x"}', "application/json"),
        "form instead of json": (b"username=a&password=b", "application/x-www-form-urlencoded"),
        "xml": (b"<login><username>a</username></login>", "application/xml"),
        "extra field": (b'{"username": "a", "password": "b", "admin": true}', "application/json"),
        "wrong types": (b'{"username": 1, "password": ["b"]}', "application/json"),
        "huge number": (b'{"username": "a", "password": "b", "x": ' + b"9" * 5000 + b"}", "application/json"),
    }
    for what, (body, content_type) in bodies.items():
        r = client.post("/api/v1/auth/login", content=body, headers={"Content-Type": content_type})
        assert r.status_code in (400, 413, 415, 422), (what, r.status_code, r.text[:200])
        assert _reason(r), what
    assert audit_count(vault) == before, "a malformed request is refused before anything is recorded"


def test_overlong_and_unicode_confusable_usernames_never_log_in(client: TestClient, vault: Vault) -> None:
    username, user_id, _, _ = create_account(vault, Role.MEDEWERKER, team=TEAM)
    before = audit_count(vault)
    for overlong in ("a" * 65, "a" * 100_000):
        r = client.post("/api/v1/auth/login", json={"username": overlong, "password": API_PASSWORD})
        assert r.status_code == 422, r.status_code
        assert "username" in _reason(r)
        assert "aaaaaaaaaa" not in r.text, "the submitted value is never echoed"
    assert audit_count(vault) == before, "refused by validation: no attempt recorded"
    # Case and surrounding white space are folded on purpose (the same account); these are not.
    confusables = {
        "cyrillic e": username.replace("e", "\u0435", 1),
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in username),
        "zero-width joiner": username[:3] + "\u200d" + username[3:],
        "no-break space inside": username[:3] + "\u00a0" + username[3:],
        "combining accent": username[0] + "\u0301" + username[1:],
        "nul": username + "\x00",
    }
    for what, name in confusables.items():
        assert name != username
        r = client.post("/api/v1/auth/login", json={"username": name, "password": API_PASSWORD})
        assert r.status_code in (401, 422), (what, r.status_code)
        assert "token" not in r.json(), what
        if r.status_code == 401:
            entry = last_audit(vault)
            assert entry.tag == str(AuditTag.AUTH_LOGIN_FAILED), what
            assert entry.actor_id != user_id, "a look-alike name never counts as the real account"
    # The real account was not locked by the look-alikes.
    r = client.post("/api/v1/auth/login", json={"username": username, "password": API_PASSWORD})
    assert r.status_code == 200


def test_ids_of_the_wrong_shape_are_refused_on_every_operation_with_path_parameters(
    client: TestClient, vault: Vault, worker: ApiUser
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    bad_ids = ["../../etc/passwd", "1 OR 1=1", "%00", "x" * 5000, "０" * 36, "-1", "🙂", "null"]
    exercised = 0
    before_versions = _versions(vault)
    for path, item in paths.items():
        if "{" not in path:
            continue
        for method in ("get", "post", "delete"):
            if method not in item:
                continue
            for bad in bad_ids:
                url = path
                for part in path.split("/"):
                    if part.startswith("{"):
                        url = url.replace(part, quote(bad, safe=""))
                r = client.request(method.upper(), url, headers=worker.headers, json={})
                exercised += 1
                assert 400 <= r.status_code < 500, (method, path, bad, r.status_code)
                assert "etc/passwd" not in r.text
                assert "OR 1=1" not in r.text
    assert exercised >= 8 * 10
    assert _versions(vault) == before_versions
