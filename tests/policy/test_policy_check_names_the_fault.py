"""D16/D17 policy administration: `vault policy check` and a reload say what is wrong with a policy.

The engine's own message (the file line, the rule id and the reason) reaches the operator, on the CLI
with a non-zero exit; an unexpected error still shows its type only (review finding P5)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vault.cli.main import main
from vault.context import Context
from vault.errors import ConfigError
from vault.policy import DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH, PolicyHolder
from vault.runtime import Vault
from vault.services import policy_admin

_ADMIN_LINE = "p, admin, administer, system, always, allow, p:admin-administer"


def _policy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The shipped policy with one line changed; the file line number of the change."""
    lines = DEFAULT_POLICY_PATH.read_text().splitlines()
    number = lines.index(old)
    lines[number] = new
    path = tmp_path / "policy.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, number + 1


def test_d16_policy_check_names_the_line_of_a_malformed_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, number = _policy(tmp_path, _ADMIN_LINE, _ADMIN_LINE.replace("p, admin,", "p, admn,"))
    monkeypatch.setattr(policy_admin, "DEFAULT_POLICY_PATH", path)
    with pytest.raises(ConfigError) as refused:
        policy_admin.check_policy_files()
    assert f"policy.csv line {number}: unknown role 'admn'" in refused.value.message


def test_d17_policy_check_names_the_rule_of_a_too_broad_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, number = _policy(tmp_path, _ADMIN_LINE, "p, admin, read, content, always, allow, p:admin-helpdesk")
    monkeypatch.setattr(policy_admin, "DEFAULT_POLICY_PATH", path)
    with pytest.raises(ConfigError) as refused:
        policy_admin.check_policy_files()
    assert f"policy.csv line {number} (p:admin-helpdesk)" in refused.value.message


def test_d16_an_unexpected_error_shows_its_type_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("parser internals: whatever the file held")

    monkeypatch.setattr(policy_admin, "PolicyEngine", broken)
    with pytest.raises(ConfigError) as refused:
        policy_admin.check_policy_files()
    assert "(RuntimeError)" in refused.value.message
    assert "whatever" not in refused.value.message


def test_d16_cli_policy_check_prints_the_fault_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, number = _policy(
        tmp_path, _ADMIN_LINE, _ADMIN_LINE.replace("administer, system", "administer, sytem")
    )
    monkeypatch.setattr(policy_admin, "DEFAULT_POLICY_PATH", path)
    monkeypatch.setattr(sys, "argv", ["vault", "policy", "check"])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert f"policy.csv line {number}: unknown category 'sytem'" in err


def test_d16_cli_policy_check_of_the_shipped_policy_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["vault", "policy", "check"])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code == 0
    assert "policy loads:" in capsys.readouterr().out


def test_d16_a_failed_reload_names_the_fault_and_keeps_the_policy(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "policy.csv"
    path.write_text(DEFAULT_POLICY_PATH.read_text())
    vault.policy = PolicyHolder(DEFAULT_MODEL_PATH, path)
    before = vault.policy.current
    broken, number = _policy(
        tmp_path, _ADMIN_LINE, "p, partner, read, content, always, allow, p:partner-browse"
    )
    assert broken == path
    with pytest.raises(ConfigError) as refused:
        policy_admin.reload_policy(vault, Context.system(clock=vault.clock))
    assert f"policy.csv line {number} (p:partner-browse)" in refused.value.message
    assert "previous policy stays in force" in refused.value.message
    assert vault.policy.current is before
