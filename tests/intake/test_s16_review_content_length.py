"""Session 16 review, P3: a Content-Length of thousands of digits is a refusal, not a 500.

The public form compared the declared Content-Length with its limit by ``int(declared)``. Python
refuses to convert a string of more than 4300 digits (``sys.get_int_max_str_digits``); uvicorn's
httptools parser passes such a header on (leading zeros: its value is small), so ``ValueError``
became the staff pages' 500 page ("Er ging iets mis") instead of the form's JSON the page's script
reads. No 500 for anything a client can send (docs/intake.md "Flow of a submission", step 1).
A real uvicorn server on 127.0.0.1, so the header reaches the app as a client sends it.
"""

from __future__ import annotations

import json
import socket

from tests.web.conftest import ServerThread
from tests.web.world import World
from vault.app import create_app
from vault.runtime import Vault

BODY = b'--b\r\nContent-Disposition: form-data; name="zorgen"\r\n\r\nx\r\n--b--\r\n'


def _exchange(port: int, declared: bytes) -> bytes:
    head = (
        b"POST /melden/burger HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: same-origin\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nConnection: close\r\n"
        b"Content-Length: " + declared + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(head + BODY)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_d16_a_content_length_of_thousands_of_digits_is_answered_as_the_form_answers(
    vault: Vault, world: World
) -> None:
    """D16/D18 hygiene: a client-sent header never ends in a 500 (which the script cannot read)."""
    server = ServerThread(create_app(vault)).start()
    try:
        answer = _exchange(server.port, b"0" * 5000 + str(len(BODY)).encode())
    finally:
        server.stop()
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 500 " not in status_line, status_line
    assert status_line.split()[1] in {b"400", b"411", b"413"}, status_line
    body = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert body["ok"] is False
    assert "0800-2000" in body["message"]
