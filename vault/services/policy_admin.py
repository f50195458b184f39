"""Reloading the static policy: validate the reviewed files, then swap a new engine in.

A running server reloads on SIGHUP (``vault policy reload`` sends it); a reload that fails to
parse keeps the old engine in place. Every reload is audited.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import structlog

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import ConfigError
from vault.policy import DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH, PolicyEngine
from vault.runtime import Vault

__all__ = [
    "check_policy_files",
    "pidfile",
    "reload_policy",
    "remove_pidfile",
    "signal_servers",
    "write_pidfile",
]

log = structlog.get_logger(__name__)


def check_policy_files() -> int:
    """Parse model and policy as a reload would; return the number of policy lines."""
    try:
        engine = PolicyEngine(DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH)
    except Exception as exc:  # noqa: BLE001 - any parse problem is a configuration error
        raise ConfigError(f"policies/: the policy does not load ({type(exc).__name__})") from None
    return len(engine.lines)


def reload_policy(vault: Vault, ctx: Context) -> int:
    """Build a new engine and swap it in atomically; the old one stays if the files are broken."""
    try:
        engine = vault.policy.reload()
    except Exception as exc:  # noqa: BLE001 - keep serving with the old policy, and say so
        log.error("policy_reload_failed", error=type(exc).__name__)
        raise ConfigError("policies/: the policy does not load; the previous policy stays in force") from None
    with vault.db.session() as session:
        record(session, ctx, AuditTag.SYSTEM_POLICY_RELOAD, details={"lines": len(engine.lines)})
    return len(engine.lines)


def pidfile(vault_home: Path) -> Path:
    return vault_home / "server.pid"


def write_pidfile(vault_home: Path) -> None:
    pidfile(vault_home).write_text(f"{os.getpid()}\n")


def signal_servers(vault_home: Path) -> int | None:
    """Send SIGHUP to the server recorded in VAULT_HOME; its pid, or None when none runs."""
    path = pidfile(vault_home)
    try:
        pid = int(path.read_text().strip())
        # A stale file must never make us signal an unrelated process that reused the pid.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"vault" not in cmdline and b"uvicorn" not in cmdline:
            return None
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return None
    return pid


def remove_pidfile(vault_home: Path) -> None:
    path = pidfile(vault_home)
    try:
        if int(path.read_text().strip()) == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
