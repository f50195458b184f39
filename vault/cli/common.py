"""Shared CLI helpers: opening the vault, the operator's context, and one-line errors."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO, cast

import typer

from vault.audit.checkpoints import load_audit_settings
from vault.config import Settings, load_settings
from vault.context import Context
from vault.errors import InvalidInput
from vault.runtime import Vault, open_vault

__all__ = ["DEBUG", "checked_settings", "echo_err", "opened_vault", "operator_account", "operator_context"]

DEBUG = {"enabled": False}


def echo_err(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def checked_settings() -> Settings:
    """The environment's settings. A bad ``VAULT_*`` or ``VAULT_AUDIT_*`` value is refused here, before
    anything is opened or served: one ``error: <VARIABLE>: …`` line, exit 2 (``ConfigError``)."""
    settings = load_settings()
    load_audit_settings()
    return settings


def opened_vault() -> Vault:
    return open_vault(checked_settings())


def operator_account() -> str:
    """The name of the process's real uid, or ``uid:<n>`` when it has no entry in the user database.

    Never LOGNAME / USER (what ``getpass.getuser`` reads): the caller sets those freely and could put
    an action on somebody else's name (D16 "user"). SUDO_USER is not recorded either: it is an
    environment variable too, any root process can set it, and sudo's own log names who ran sudo."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def operator_context(vault: Vault, access_point: str = "cli") -> Context:
    """A CLI operator acts under the local account the process runs as; the audit records it as such."""
    return Context(
        actor_id=f"os:{operator_account()}"[:64],
        role="operator",
        access_point=access_point,
        clock=vault.clock,
    )


def create_output(path: Path) -> TextIO:
    """A new text file for ``--output``; an existing one is never overwritten (one line, not a
    traceback). The caller removes it when writing fails halfway: no partial file stays."""
    return cast(TextIO, _create(path, "x"))


def create_binary_output(path: Path) -> BinaryIO:
    """``create_output`` for bytes (a PDF)."""
    return cast(BinaryIO, _create(path, "xb"))


def _create(path: Path, mode: str) -> IO[Any]:
    try:
        return path.open(mode, encoding=None if "b" in mode else "utf-8", newline=None if "b" in mode else "")
    except FileExistsError:
        raise InvalidInput(f"--output: {path} exists, not overwritten") from None
    except FileNotFoundError:
        raise InvalidInput(f"--output: the folder {path.parent} does not exist") from None
    except NotADirectoryError:
        raise InvalidInput(f"--output: {path.parent} is not a folder") from None
    except PermissionError:
        raise InvalidInput(f"--output: no permission to create {path}") from None
    except OSError as exc:
        raise InvalidInput(f"--output: cannot create {path} ({exc.strerror or type(exc).__name__})") from None
