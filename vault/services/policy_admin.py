"""Reloading the static policy: validate the reviewed files, then swap a new engine in.

A running server reloads on SIGHUP (``vault policy reload`` sends it); a reload that fails to
parse keeps the old engine in place. Every reload is audited with the node that reloaded (host name,
process id, a digest of its VAULT_HOME) and a digest of the policy it now runs.

The pid file (``VAULT_HOME/server.pid``) names the one server of a VAULT_HOME: the process that
``vault serve`` runs (with ``--workers N``, uvicorn's supervisor, which restarts its workers on SIGHUP).
A second server on the same home is refused while the recorded process is a live vault server; a
stale file (a dead process, or a pid reused by something else) is replaced. Claims and removals hold
an ``flock`` on VAULT_HOME, so two servers starting at once cannot both win.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import ConfigError, Conflict
from vault.policy import DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH, PolicyEngine
from vault.runtime import Vault

__all__ = [
    "check_policy_files",
    "claim_pidfile",
    "load_policy_files",
    "node_identity",
    "pidfile",
    "policy_digest",
    "reload_policy",
    "remove_pidfile",
    "signal_servers",
    "write_pidfile",
]

log = structlog.get_logger(__name__)


def check_policy_files() -> int:
    """Parse model and policy as a reload would; return the number of policy lines."""
    return len(load_policy_files(DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH).lines)


def load_policy_files(model_path: Path, policy_path: Path) -> PolicyEngine:
    """An engine built from these files exactly as a reload builds it (invariants included), or
    ``ConfigError`` naming why they do not load. For the administrator's page, which compares it with
    the engine in force (``policy_digest``): a change on disk that is not reloaded yet shows."""
    try:
        return PolicyEngine(model_path, policy_path)
    except Exception as exc:  # noqa: BLE001 - any parse problem is a configuration error
        raise ConfigError(f"policies/: the policy does not load: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    """What is wrong with the policy files: the engine's own message (it names the line or rule id;
    policy text is neither personal data nor secret), or only the type of an unexpected error (a
    parser's internals could quote anything)."""
    return exc.message if isinstance(exc, ConfigError) else f"({type(exc).__name__})"


def reload_policy(vault: Vault, ctx: Context) -> int:
    """Build a new engine and swap it in atomically; the old one stays if the files are broken."""
    try:
        engine = vault.policy.reload()
    except Exception as exc:  # noqa: BLE001 - keep serving with the old policy, and say so
        reason = _reason(exc)
        log.error("policy_reload_failed", error=type(exc).__name__, reason=reason)
        raise ConfigError(
            f"policies/: the policy does not load: {reason}; the previous policy stays in force"
        ) from None
    details: dict[str, str | int] = {"lines": len(engine.lines), "policy_sha256": policy_digest(engine)}
    details.update(node_identity(vault))
    with vault.db.session() as session:
        record(session, ctx, AuditTag.SYSTEM_POLICY_RELOAD, details=details)
    return len(engine.lines)


def policy_digest(engine: PolicyEngine) -> str:
    """SHA-256 of the policy lines the engine decides by: two nodes whose entries show the same digest
    run the same policy, whatever the files looked like (comments, spacing)."""
    text = "\n".join("\t".join(line.values) for line in engine.lines)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def node_identity(vault: Vault) -> dict[str, str | int]:
    """Which server this is, for audit details: the host name, the process id and a digest of its
    VAULT_HOME (one server per home, so the digest tells apart two servers on one host; the path itself
    may hold an account name). No personal data, nothing secret."""
    home = str(vault.settings.resolved_home).encode("utf-8", "surrogateescape")
    return {
        "node": socket.gethostname()[:64] or "unknown",
        "pid": os.getpid(),
        "home_sha256": hashlib.sha256(home).hexdigest()[:16],
    }


def pidfile(vault_home: Path) -> Path:
    return vault_home / "server.pid"


# The commands that serve a vault: ``vault serve`` and ``vault demo`` (which serves after loading).
_SERVING_COMMANDS = frozenset({b"serve", b"demo"})


def _is_vault_server(pid: int) -> bool:
    """Whether ``pid`` is a live ``vault serve`` / ``vault demo`` (or uvicorn on the vault's factory).

    Read from /proc: a recycled pid, a zombie (empty command line) or another ``vault`` command — even
    ``vault witness serve`` — is no server of this home."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if any(b"vault.app:create_app" in arg for arg in args):
        return True
    for index, arg in enumerate(args):
        if arg == b"vault.cli.main" or os.path.basename(arg) == b"vault":
            command = next((a for a in args[index + 1 :] if a and not a.startswith(b"-")), None)
            return command in _SERVING_COMMANDS
    return False


def _recorded_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@contextmanager
def _home_locked(vault_home: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the VAULT_HOME directory while the pid file is read and changed."""
    fd = os.open(vault_home, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def claim_pidfile(vault_home: Path, server_pid: int) -> None:
    """Record ``server_pid`` as the server of this VAULT_HOME, or refuse (``Conflict``) while the pid
    file names another live vault server; nothing is written then. Claiming again for the pid already
    recorded (each worker of one supervisor) changes nothing."""
    path = pidfile(vault_home)
    with _home_locked(vault_home):
        holder = _recorded_pid(path)
        if holder == server_pid:
            return
        if holder is not None and _is_vault_server(holder):
            raise Conflict(
                f"another vault server (pid {holder}) already serves {vault_home}; stop it first, "
                "or give this one a VAULT_HOME of its own"
            )
        # Written beside and renamed into place: `vault policy reload` never reads half a file.
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{server_pid}\n")
        os.replace(temporary, path)


def write_pidfile(vault_home: Path) -> None:
    """Record this process as the server of VAULT_HOME (see ``claim_pidfile``)."""
    claim_pidfile(vault_home, os.getpid())


def signal_servers(vault_home: Path) -> int | None:
    """Send SIGHUP to the server recorded in VAULT_HOME; its pid, or None when none runs."""
    pid = _recorded_pid(pidfile(vault_home))
    # A stale file must never make us signal an unrelated process that reused the pid.
    if pid is None or not _is_vault_server(pid):
        return None
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError:
        return None
    return pid


def remove_pidfile(vault_home: Path) -> None:
    """Remove the pid file if it still names this process: never another server's claim."""
    path = pidfile(vault_home)
    try:
        with _home_locked(vault_home):
            if _recorded_pid(path) == os.getpid():
                path.unlink()
    except OSError:
        pass
