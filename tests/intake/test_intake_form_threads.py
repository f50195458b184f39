"""Stalled bodies never hold the public forms' own threads (docs/intake.md "Slow and stalled bodies").

Every report needs one of the ``FORM_THREADS`` form threads for its fields, admission and case. So
a form thread parses only what was read ahead on the event loop: whatever is not a named attachment
(the fields, their part headers, a browser's empty file input, what follows the closing boundary)
must end within it. A body padded past it is refused at once, before any proof of work is asked, so
as many anonymous clients as there are form threads, each sending such a body and then nothing,
cannot keep an honest report from being received.

A real uvicorn server on 127.0.0.1; the idle timeout is lengthened so that, were the stalled bodies
holding the form threads, the honest report would get no answer within the bounded wait.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.intake.test_intake_integrity import BOUNDARY, CITIZEN_REPORT, _counts, _fields_part, _solved
from tests.intake.test_intake_slow_bodies import _answer, _parse, _request_head
from tests.web.conftest import ServerThread
from tests.web.world import World
from vault.app import create_app
from vault.runtime import Vault
from vault.web.public import routes

PADDING = 300 * 1024  # beyond what is read ahead on the event loop (256 KiB)
ANSWER_WITHIN = 10.0  # bounded wait for an answer; the stalled bodies' idle timeout is 25 s


def _empty_file_input_with_data() -> bytes:
    """A browser's empty file input (filename="") that carries bytes anyway."""
    return (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="zorgen"\r\n\r\nx\r\n'
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="bijlage"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + b"A" * PADDING
    )


def _bytes_after_the_end(filler: bytes) -> bytes:
    """A whole form, then more after its closing boundary."""
    return _fields_part({"zorgen": "x"}) + b"--" + BOUNDARY + b"--\r\n" + filler * PADDING


def _repeated_field_with_large_headers() -> bytes:
    """One name over and over (the fields keep one value per name), each part with large headers
    and no value: fewer parts than the form's 40 fields, no field data, many bytes."""
    headers = b"".join(b"X-%d-" % i + b"n" * 1000 + b": " + b"v" * 1000 + b"\r\n" for i in range(7))
    part = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="zorgen"\r\n' + headers + b"\r\n\r\n"
    return part * (PADDING // len(part) + 1)


# Each padded body and its refusal: 400 for what no form holds, 413 for what only runs on too long.
PADDED_BODIES = {
    "empty file input with data": (_empty_file_input_with_data(), 400),
    "bytes after the closing boundary": (_bytes_after_the_end(b"A"), 400),
    "white space after the closing boundary": (_bytes_after_the_end(b" "), 413),
    "a repeated field with large headers": (_repeated_field_with_large_headers(), 413),
}


@pytest.fixture
def server(vault: Vault, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerThread]:
    monkeypatch.setattr(routes, "BODY_IDLE_SECONDS", 25.0, raising=False)
    running = ServerThread(create_app(vault)).start()
    yield running
    running.stop()


def _report_answer(server: ServerThread) -> tuple[int, dict[str, object]]:
    """An honest citizen's report, sent in one go; its answer, waited for at most ``ANSWER_WITHIN``."""
    body = _fields_part({**_solved(server.url), **CITIZEN_REPORT}) + b"--" + BOUNDARY + b"--\r\n"
    data = b""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_request_head(server, "/melden/burger", len(body)) + body)
        sock.settimeout(ANSWER_WITHIN)
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    assert data, f"a report got no answer within {ANSWER_WITHIN} s while padded bodies stall"
    return _parse(data)


@pytest.mark.parametrize(("padded", "refused_with"), list(PADDED_BODIES.values()), ids=list(PADDED_BODIES))
def test_padded_stalled_bodies_are_refused_and_do_not_hold_up_a_report(
    server: ServerThread, vault: Vault, padded: bytes, refused_with: int
) -> None:
    before = _counts(vault)
    stalled: list[socket.socket] = []
    try:
        for _ in range(routes.FORM_THREADS):
            sock = socket.create_connection(("127.0.0.1", server.port))
            # Declared longer than sent: the body then stalls (the client sends nothing more).
            sock.sendall(_request_head(server, "/melden/burger", len(padded) + 100_000) + padded)
            stalled.append(sock)
        time.sleep(1.0)
        status, answer = _report_answer(server)
        assert status == 201, answer
        assert str(answer["reference"]).startswith("VT-")
        # Each padded body was refused with the intake's Dutch JSON, and none of them stored anything.
        for sock in stalled:
            refused_status, refusal = _answer(sock)
            assert refused_status == refused_with, refusal
            assert refusal["ok"] is False
            assert refusal["reason"] == "invalid"
            assert "0800-2000" in refusal["message"]
        assert _counts(vault)[0] == before[0] + 1
    finally:
        for sock in stalled:
            sock.close()
