"""An OpenBao (or a proxy in front of it) that answers 200 with something other than the JSON object the
transit API sends is a provider failure: `Unavailable` (503, nothing disclosed), never a bare decoding
error (500) and never `Integrity` (which says a wrapped key was altered or presented for another case).

A small forwarding proxy on 127.0.0.1 sits in front of the real OpenBao dev server of
``tests/keys/conftest.py``; while it is told to, it answers every request with one kind of garbage.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.keys.conftest import Bao
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.keys import Keys
from vault.crypto.providers import ProviderSpec, open_provider
from vault.errors import ConfigError, Integrity, Unavailable

KEY = b"k" * 32

# What the proxy answers (status 200) instead of OpenBao's answer, by name.
GARBAGE: dict[str, tuple[str, bytes]] = {
    "html_page": ("text/html", b"<html><body>Service temporarily unavailable</body></html>"),
    "not_utf8": ("application/json", b"\xff\xfe{\x00"),
    "json_list": ("application/json", b"[]"),
    "data_is_a_list": ("application/json", b'{"data": []}'),
    "data_is_a_string": ("application/json", b'{"data": "ok"}'),
    "no_data": ("application/json", b'{"warnings": null}'),
    "batch_items_not_objects": ("application/json", b'{"data": {"batch_results": ["x"]}}'),
    "success_without_plaintext": ("application/json", b'{"data": {"batch_results": [{"ciphertext": "x"}]}}'),
    "plaintext_not_base64": ("application/json", b'{"data": {"batch_results": [{"plaintext": "%%%"}]}}'),
    "keys_not_an_object": ("application/json", b'{"data": {"keys": [1], "type": "aes256-gcm96"}}'),
}


class _Proxy(ThreadingHTTPServer):
    upstream: str
    garbage: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Proxy

    def log_message(self, format: str, *args: object) -> None:
        return

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.server.garbage is not None:
            kind, payload = GARBAGE[self.server.garbage]
            self._answer(200, kind, payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("x-vault-token", "content-type")}
        with httpx.Client(base_url=self.server.upstream, trust_env=False, timeout=10) as client:
            r = client.request(self.command, self.path, content=body, headers=headers)
        self._answer(r.status_code, r.headers.get("content-type", "application/json"), r.content)

    def _answer(self, status: int, kind: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _forward  # noqa: N815 (the stdlib's names)


@pytest.fixture
def proxy(openbao: Bao) -> Iterator[_Proxy]:
    server = _Proxy(("127.0.0.1", 0), _Handler)
    server.upstream = openbao.addr
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _spec(proxy: _Proxy, bao: Bao) -> ProviderSpec:
    host, port = proxy.server_address[:2]
    return ProviderSpec(
        kind="openbao", addr=f"http://{host!s}:{port}", token=bao.token, key_name=f"t{uuid.uuid4().hex[:12]}"
    )


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_openbao_garbled_answer_during_a_request_is_unavailable_never_integrity_or_a_500(
    proxy: _Proxy, openbao: Bao, garbage: str
) -> None:
    spec = _spec(proxy, openbao)
    open_provider(spec, create_version=1).close()
    keys = Keys(open_provider(spec))
    try:
        wrapped = keys.wrap(KEY, purpose=DEK_PURPOSE, context_id="case-a")
        proxy.garbage = garbage
        with pytest.raises(Unavailable) as err:
            keys.wrap(KEY, purpose=DEK_PURPOSE, context_id="case-b")
        assert openbao.token not in str(err.value)
        with pytest.raises(Unavailable):
            keys.unwrap(wrapped, purpose=DEK_PURPOSE, context_id="case-a")
        with pytest.raises(Unavailable):
            keys.rotate()
        proxy.garbage = None
        # OpenBao's own refusal of a misbound key is still Integrity, and the key still opens.
        with pytest.raises(Integrity):
            keys.unwrap(wrapped, purpose=DEK_PURPOSE, context_id="case-b")
        assert keys.unwrap(wrapped, purpose=DEK_PURPOSE, context_id="case-a") == KEY
    finally:
        keys.close()


@pytest.mark.parametrize("garbage", ["html_page", "data_is_a_list", "no_data", "keys_not_an_object"])
def test_openbao_garbled_answer_at_start_up_is_one_config_error_line(
    proxy: _Proxy, openbao: Bao, garbage: str
) -> None:
    spec = _spec(proxy, openbao)
    open_provider(spec, create_version=1).close()
    proxy.garbage = garbage
    with pytest.raises(ConfigError) as err:
        open_provider(spec).close()
    assert err.value.message.endswith("did not answer as expected")
    assert openbao.token not in err.value.message
    # Nor is a garbled answer to "does the key exist?" taken for "no": nothing is created.
    with pytest.raises(ConfigError):
        open_provider(spec, allow_empty=True).close()
    proxy.garbage = None
    assert json.loads(json.dumps(open_provider(spec).versions())) == [1]
