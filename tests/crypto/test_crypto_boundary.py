"""Only vault/crypto/ may import `cryptography` (ARCHITECTURE.md, STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import vault

PACKAGE = Path(vault.__file__).resolve().parent


def imports_cryptography(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "cryptography" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "cryptography":
            return True
    return False


def test_only_vault_crypto_imports_cryptography() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "crypto" and imports_cryptography(path)
    ]
    assert offenders == []


def test_boundary_check_detects_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from cryptography.hazmat.primitives import hashes\n")
    assert imports_cryptography(sample)
