"""Every HTTP route in the OpenAPI schema is documented in docs/api.md (issue: foundation)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from vault.app import create_app
from vault.runtime import Vault

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.split("?")[0])


def test_every_route_is_documented(vault: Vault) -> None:
    text = DOC.read_text()
    documented = {_norm(p) for p in re.findall(r"`(/[A-Za-z0-9_/{}.\-]+)", text)}
    prefixes = {_norm(p) for p in re.findall(r"^#+ .*`(/api/[a-z0-9/_\-]+)`", text, flags=re.MULTILINE)}
    with TestClient(create_app(vault)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    missing = [
        path
        for path in paths
        if _norm(path) not in documented
        and not any(_norm(path).startswith(pre) and _norm(path)[len(pre) :] in documented for pre in prefixes)
    ]
    assert len(paths) > 40
    assert missing == []
