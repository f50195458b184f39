"""The HTTP side of a publication round: requests to the witnesses, each against one deadline.

Every socket operation of a request gets only the time left before its deadline, and the answer is
read in chunks up to 64 KiB, so a witness that drips its answer a byte at a time cannot hold a round.
``Connections.cut`` (the round's deadline) shuts every connection still open. Witnesses are reached
directly (``http.client``): proxy settings from the environment are not used.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import time
import urllib.parse
from typing import Final

__all__ = ["Connections", "reported_size"]

_MAX_RESPONSE: Final = 64 * 1024
_CHUNK: Final = 4096
# A tree size as C2SP writes it (tlog-checkpoint, tlog-witness): decimal, no leading zero, u64.
_SIZE: Final = re.compile(r"0|[1-9][0-9]{0,19}")
_MAX_SIZE: Final = 2**64 - 1


def reported_size(answer: str) -> int | None:
    """The tree size in a witness's 409 body (``<size>\\n``): at most 20 digits and at most 2**64 - 1.

    Anything else is no size: a body of thousands of digits (a hostile witness, or whoever sits in
    its http:// connection) would otherwise make ``int()`` raise and end the whole round."""
    reported = answer.strip()
    if _SIZE.fullmatch(reported) is None:
        return None
    size = int(reported)
    return size if size <= _MAX_SIZE else None


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no complete answer before the deadline")
    return left


def _exchange(
    conn: http.client.HTTPConnection, sock: socket.socket, path: str, body: bytes, deadline: float
) -> tuple[int, str]:
    """One request on a connected ``conn``; every socket operation gets only the time that is left,
    and the answer is read in chunks, so a witness that drips its answer cannot hold it open."""
    sock.settimeout(_left(deadline))
    conn.request("POST", path, body=body, headers={"Content-Type": "text/plain; charset=utf-8"})
    sock.settimeout(_left(deadline))
    response = conn.getresponse()
    received = bytearray()
    while len(received) < _MAX_RESPONSE:
        sock.settimeout(_left(deadline))
        chunk = response.read1(min(_CHUNK, _MAX_RESPONSE - len(received)))
        if not chunk:
            break
        received += chunk
    return response.status, bytes(received).decode("utf-8", "replace")


class Connections:
    """The open connections of one round, so that the round's deadline can cut them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False

    @property
    def was_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        """The round's deadline passed: shut every connection still open (wakes a blocked read)."""
        with self._lock:
            self._cut = True
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def post(self, url: str, body: bytes, timeout: float) -> tuple[int, str]:
        """POST ``body`` to ``url``; ``TimeoutError`` unless the whole answer is in within ``timeout``."""
        deadline = time.monotonic() + timeout
        parts = urllib.parse.urlsplit(url)
        if parts.hostname is None:
            raise ValueError("witness URL without a host")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname, parts.port, timeout=_left(deadline))
        try:
            conn.connect()
            sock = conn.sock
            with self._lock:
                if self._cut:
                    raise TimeoutError("the round's deadline passed")
                self._open.add(sock)
            try:
                return _exchange(conn, sock, path, body, deadline)
            finally:
                with self._lock:
                    self._open.discard(sock)
        finally:
            conn.close()
