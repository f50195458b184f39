"""Slow and stalled anonymous bodies (docs/intake.md "Slow and stalled bodies").

A public form's body is read on the event loop, each chunk within an idle timeout and the whole body
by a deadline; the sync work runs on the public forms' own thread limiters. So anonymous clients that
send a little and then nothing can neither take the worker threads every staff page needs, nor keep
a report from being received; a stalled or trickling body is answered 408 and stores nothing.
A real uvicorn server on 127.0.0.1; the timeouts are shortened for the test, never asserted on.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.intake.test_intake_integrity import (
    BOUNDARY,
    CITIZEN_REPORT,
    _counts,
    _fields_part,
    _file_part,
    _solved,
)
from tests.web.conftest import ServerThread
from tests.web.world import World
from vault.app import create_app
from vault.runtime import Vault
from vault.web.public import routes

# More than anyio's shared pool of 40 worker threads that every sync route draws from.
STALLED = 45
ANSWER_WITHIN = 20.0  # generous: the shortened timeouts below are one or two seconds


@pytest.fixture
def server(vault: Vault, world: World) -> Iterator[ServerThread]:
    running = ServerThread(create_app(vault)).start()
    yield running
    running.stop()


def _request_head(server: ServerThread, path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY.decode()}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _parse(data: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head, "no answer from the server"
    return int(head.split(b" ", 2)[1]), json.loads(body or b"{}")


def _answer(sock: socket.socket, data: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Status and JSON body of the server's answer (read until the connection closes)."""
    sock.settimeout(ANSWER_WITHIN)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return _parse(data)


def _citizen_report_body(server: ServerThread) -> bytes:
    return _fields_part({**_solved(server.url), **CITIZEN_REPORT}) + b"--" + BOUNDARY + b"--\r\n"


def test_stalled_anonymous_bodies_leave_staff_pages_and_the_form_itself_working(
    server: ServerThread, vault: Vault
) -> None:
    head = (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="zorgen"\r\n\r\nbegin van een verhaal'
    )
    stalled: list[socket.socket] = []
    try:
        for _ in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(_request_head(server, "/advies/burger", 60_000) + head)  # ... and then nothing
            stalled.append(sock)
        time.sleep(1.0)
        for path in ("/login", "/melden"):
            try:
                status: object = httpx.get(f"{server.url}{path}", timeout=ANSWER_WITHIN).status_code
            except httpx.TimeoutException:
                status = "no answer"
            assert status == 200, f"GET {path} while {STALLED} anonymous bodies stall: {status}"
        # A report sent meanwhile is received: the stalled bodies hold none of the forms' threads.
        cases_before = _counts(vault)[0]
        body = _citizen_report_body(server)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(_request_head(server, "/melden/burger", len(body)) + body)
            status_code, answer = _answer(sock)
        assert status_code == 201, answer
        assert answer["reference"].startswith("VT-")
        assert _counts(vault)[0] == cases_before + 1
    finally:
        for sock in stalled:
            sock.close()


def test_a_stalled_public_form_body_is_answered_408_and_stores_nothing(
    server: ServerThread, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "BODY_IDLE_SECONDS", 1.0, raising=False)
    before = _counts(vault)
    body = _citizen_report_body(server)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_request_head(server, "/melden/burger", len(body)) + body[: len(body) // 2])
        status, answer = _answer(sock)
    assert status == 408, answer
    assert answer["ok"] is False
    assert answer["reason"] == "timeout"
    assert "niets ontvangen" in answer["message"]
    assert "0800-2000" in answer["message"]
    assert _counts(vault) == before
    # The same report sent in one go is received: the refusal was the stall, nothing else (the proof
    # of work of the stalled body was never used).
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_request_head(server, "/melden/burger", len(body)) + body)
        status, answer = _answer(sock)
    assert status == 201, answer
    assert _counts(vault)[0] == before[0] + 1


def test_a_trickling_public_form_body_is_cut_off_at_its_deadline_and_stores_nothing(
    server: ServerThread, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte every 0.1 s never trips the idle timeout; the deadline ends it."""
    monkeypatch.setattr(routes, "BODY_DEADLINE_SECONDS", 2.0, raising=False)
    before = _counts(vault)
    body = _citizen_report_body(server)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_request_head(server, "/melden/burger", len(body)))
        sock.settimeout(0.1)
        first = b""
        give_up = time.monotonic() + ANSWER_WITHIN
        for byte in body:
            if first or time.monotonic() > give_up:
                break
            try:
                sock.sendall(bytes([byte]))
                first = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # the server answered and closed while a byte was on its way
                break
        status, answer = _answer(sock, first)
    assert status == 408, answer
    assert answer["reason"] == "timeout"
    assert _counts(vault) == before


def test_a_stalled_attachment_keeps_the_report_and_says_the_attachment_is_missing(
    server: ServerThread, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the fields are in, the case is committed; an attachment that then stalls is cut off by the
    idle timeout and the person gets the reference with "maar de bijlage niet"."""
    monkeypatch.setattr(routes, "BODY_IDLE_SECONDS", 1.0, raising=False)
    before = _counts(vault)
    fields = _fields_part({**_solved(server.url), **CITIZEN_REPORT})
    attachment = _file_part("verslag.txt", b"regel\n" * 100_000)  # 600 kB
    body = fields + attachment + b"--" + BOUNDARY + b"--\r\n"
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        # Beyond what is read before the case is opened (the fields, ~256 KiB), then nothing.
        sock.sendall(_request_head(server, "/melden/burger", len(body)) + fields + attachment[:400_000])
        status, answer = _answer(sock)
    assert status == 201, answer
    assert answer["ok"] is True
    assert answer["attachment"] is False
    assert answer["reference"].startswith("VT-")
    assert "maar de bijlage niet" in answer["message"]
    assert _counts(vault)[:2] == (before[0] + 1, before[1] + 1)  # the case and its answers, no attachment
