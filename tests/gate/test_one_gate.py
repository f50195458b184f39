"""ARCHITECTURE "The one rule": no code path but the gate decrypts case content.

The test reads the source of every module in ``vault/`` and looks at which names each one imports
or uses. A new module that decrypts a document or a personal field fails it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "vault"
GATE = "services/gate.py"

# name -> modules (relative to vault/) allowed to use it besides vault/crypto itself
ALLOWED: dict[str, set[str]] = {
    "decrypt_stream": {GATE},
    "StreamDecryptor": {GATE},
    # Personal fields of a case: the gate only. TOTP secrets (vault/auth) are under their own subkey,
    # not a case key, and are no case content; so are break-the-glass justifications and review
    # comments and finding comments (audit/sealed.py, FIELD_METADATA subkey, for the privacy officer).
    "decrypt_text": {GATE, "auth/totp.py", "audit/sealed.py"},
    "decrypt_field": {GATE, "auth/totp.py"},
    "unwrap_data_key": {"services/keyring.py"},
    # services/purpose_sealing.py: the operator's `vault keys seal-purposes`, a system task that seals
    # (encrypts) the clear purposes of grants made before migration 0027; it decrypts nothing.
    "unwrap_case_key": {GATE, "services/keyring.py", "services/purpose_sealing.py"},
}
ENTRY_POINTS = ("api/", "cli/", "web/")


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "crypto" not in p.relative_to(ROOT).parts)


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.name for alias in node.names)
    return names


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_only_the_gate_decrypts_case_content(name: str) -> None:
    users = {str(p.relative_to(ROOT)) for p in _modules() if name in _names_used(p)}
    assert users <= ALLOWED[name], f"{name} used outside the gate: {sorted(users - ALLOWED[name])}"


def test_the_gate_exists_and_uses_every_decryption_path() -> None:
    used = _names_used(ROOT / GATE)
    assert {"decrypt_stream", "decrypt_text", "unwrap_case_key", "record"} <= used


def test_entry_points_never_import_crypto() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if str(p.relative_to(ROOT)).startswith(ENTRY_POINTS)
        and any(m == "cryptography" or m.startswith(("cryptography.", "vault.crypto")) for m in _imports(p))
    ]
    assert offenders == []


def test_only_vault_crypto_imports_cryptography() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if any(m == "cryptography" or m.startswith("cryptography.") for m in _imports(p))
    ]
    assert offenders == []
