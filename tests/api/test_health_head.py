"""Load balancers probe with HEAD as often as with GET: /healthz and /readyz answer both, HEAD with
the same status and headers and no body; the schema documents each probe once (GET)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.robustness.support import running_server
from vault.runtime import Vault


def test_head_probes_answer_like_get(client: TestClient) -> None:
    for path in ("/healthz", "/readyz"):
        head = client.head(path)
        assert head.status_code == 200, path
        assert head.headers["content-type"] == "application/json"
        assert head.headers["x-content-type-options"] == "nosniff"  # the middleware ran as for GET


def test_head_probe_on_a_served_vault_has_no_body(vault: Vault, tmp_path: Path) -> None:
    with running_server(vault, tmp_path) as server, httpx.Client(base_url=server.base_url) as http:
        for path in ("/healthz", "/readyz"):
            get = http.get(path)
            head = http.head(path)
            assert head.status_code == get.status_code == 200, path
            assert head.content == b""
            assert int(head.headers["content-length"]) == len(get.content) > 0


def test_the_schema_lists_each_probe_once(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert set(paths["/healthz"]) == {"get"}
    assert set(paths["/readyz"]) == {"get"}
