"""D16: a bad ``VAULT_AUDIT_*`` setting is one configuration line naming the variable (exit 2), as a bad
``VAULT_*`` setting is (``vault.config.load_settings``): never a pydantic traceback, never the value.

``vault audit verify`` runs from a timer for the privacy officer: a quorum or timeout of 0, an empty
origin, a non-numeric schedule ended it (and ``checkpoint``, ``key``, ``witness publish``, the server's
start) in ``pydantic_core.ValidationError`` with a full stack and no variable named in its first line.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.foundation.test_cli import _env, _one_line_error, run_cli
from tests.witness.conftest import free_port
from tests.witness.helpers import append
from vault.app import create_app
from vault.audit.checkpoints import load_audit_settings
from vault.errors import ConfigError
from vault.runtime import Vault


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("VAULT_AUDIT_WITNESS_QUORUM", "0", ["audit", "verify"]),
        ("VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS", "0", ["witness", "publish"]),
        ("VAULT_AUDIT_ORIGIN", "", ["audit", "checkpoint"]),
        ("VAULT_AUDIT_CHECKPOINT_MINUTES", "tien", ["audit", "key"]),
        (
            "VAULT_AUDIT_ORIGIN",
            "evil.example/audit\r\x1b[2Kvault.veiligthuis.local/audit",
            ["audit", "checkpoint"],
        ),
    ],
)
def test_d16_a_bad_vault_audit_setting_is_one_line_not_a_pydantic_traceback(
    vault: Vault, database_url: str, variable: str, value: str, command: list[str]
) -> None:
    append(vault, 2)  # a log with entries: every command reaches the audit settings
    env = {**_env(vault.settings.resolved_home, database_url), variable: value}
    done = run_cli(command, env)
    _one_line_error(done, variable)
    assert done.returncode == 2
    if len(value) > 4:  # the value is never echoed (a "0" is in "greater than 0")
        assert value not in done.stderr


def test_d16_the_server_refuses_a_bad_vault_audit_setting_at_start_in_one_line(
    vault: Vault, database_url: str
) -> None:
    env = {
        **_env(vault.settings.resolved_home, database_url),
        "VAULT_COOKIE_SECURE": "false",
        "VAULT_AUDIT_WITNESS_QUORUM": "0",
    }
    done = run_cli(["serve", "--host", "127.0.0.1", "--port", str(free_port())], env, timeout=90)
    _one_line_error(done, "VAULT_AUDIT_WITNESS_QUORUM")
    assert done.returncode == 2


def test_d16_the_app_does_not_start_with_a_bad_vault_audit_setting(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_AUDIT_VERIFY_HOURS", "-1")
    with pytest.raises(ConfigError, match=r"^VAULT_AUDIT_VERIFY_HOURS: "), TestClient(create_app(vault)):
        pass


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VAULT_AUDIT_WITNESSES", "geheim" * 4000),  # over the length cap: named, never echoed
        ("VAULT_AUDIT_ORIGIN", "geheim\u202e/audit"),  # a format character: the origin must be printable
        ("VAULT_AUDIT_CHECKPOINT_ON_START", "geheim"),
    ],
)
def test_d16_load_audit_settings_names_the_variable_and_never_echoes_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_audit_settings()
    assert raised.value.message.startswith(f"{variable}: ")
    assert "geheim" not in raised.value.message
