"""D18 (bad input: one line, non-zero exit, no traceback, no piece of a secret): a garbage key file (a
KEK version beyond 32 bits, JSON nested too deep), a garbled ``latest_version`` from OpenBao on
rotation and a non-ASCII OpenBao token are refused as such (K16, K17, K20)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.keys.conftest import Bao
from vault.config import Settings
from vault.context import FrozenClock
from vault.crypto.filekeys import FileKeyProvider, read_root_key
from vault.errors import ConfigError, Unavailable
from vault.services.setup import initialise

CLI = [sys.executable, "-c", "from vault.cli.main import main; main()"]


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VAULT_HOME": str(settings.home),
        "VAULT_DATABASE_URL": settings.database_url or "",
        "VAULT_PASSWORD_HASHING": "fast_insecure_for_tests",
        **extra,
    }


def _tamper(settings: Settings, how: str) -> None:
    path = settings.resolved_key_file
    doc = json.loads(path.read_text())
    if how == "version_beyond_32_bits":
        doc["keks"]["4294967296"] = "AAAA"
        text = json.dumps(doc)
    else:  # nested_too_deep
        text = "[" * 200_000 + "]" * 200_000
    path.write_text(text)
    path.chmod(0o600)


@pytest.mark.parametrize("how", ["version_beyond_32_bits", "nested_too_deep"])
def test_d18_a_garbage_key_file_is_one_line_exit_2_not_a_traceback(
    settings: Settings, clock: FrozenClock, how: str
) -> None:
    initialise(settings, clock=clock).close()
    _tamper(settings, how)
    with pytest.raises(ConfigError, match="is malformed"):
        FileKeyProvider.open(settings.resolved_key_file, read_root_key(settings.resolved_root_key_file))
    result = subprocess.run(
        [*CLI, "keys", "status"], env=_env(settings), capture_output=True, text=True, timeout=120
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-500:]
    assert len(lines) == 1, result.stderr[-500:]
    assert lines[0].startswith("error: VAULT_KEY_PROVIDER: file: key file ")
    assert "malformed" in lines[0]


def test_d18_a_running_server_meeting_a_garbage_key_file_answers_unavailable(
    settings: Settings, clock: FrozenClock
) -> None:
    vault = initialise(settings, clock=clock)
    try:
        _tamper(settings, "version_beyond_32_bits")
        with pytest.raises(Unavailable):  # what a request meeting a newer or older epoch does: 503
            vault.keys.reload()
    finally:
        vault.close()


@pytest.mark.parametrize("garbled", ["x", [2], {"v": 2}])
def test_d18_openbao_garbled_latest_version_on_rotation_is_unavailable(
    settings_for: Callable[[str], Settings],
    openbao: Bao,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    garbled: object,
) -> None:
    vault = initialise(settings_for("openbao"), clock=clock)
    try:
        provider = vault.keys.provider
        real_call = provider._call  # type: ignore[attr-defined]

        def garbling(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            doc: dict[str, Any] = real_call(method, path, body)
            if method == "GET" and isinstance(doc.get("data"), dict):
                doc["data"]["latest_version"] = garbled
            return doc

        monkeypatch.setattr(provider, "_call", garbling)
        with pytest.raises(Unavailable, match="answered unexpectedly"):
            vault.keys.rotate()
        monkeypatch.undo()
        assert vault.keys.versions() == [1]  # nothing was made
    finally:
        vault.close()


def test_d18_a_non_ascii_openbao_token_is_one_line_without_a_traceback_or_a_piece_of_the_token(
    settings: Settings, clock: FrozenClock
) -> None:
    initialise(settings, clock=clock).close()
    token = "s.Kx7fQ2\u00a0"  # a pasted token with a trailing no-break space
    env = _env(
        settings,
        VAULT_KEY_PROVIDER="openbao",
        VAULT_OPENBAO_ADDR="http://127.0.0.1:9",
        VAULT_OPENBAO_TOKEN=token,
    )
    result = subprocess.run([*CLI, "keys", "status"], env=env, capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert lines == [
        "error: VAULT_KEY_PROVIDER: openbao: VAULT_OPENBAO_TOKEN is not a valid token "
        "(printable ASCII without spaces only)"
    ], result.stderr[-500:]
    assert not any(piece in result.stderr + result.stdout for piece in ("Kx7", "\u00a0", "position"))
