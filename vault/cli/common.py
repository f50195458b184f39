"""Shared CLI helpers: opening the vault, the operator's context, and one-line errors."""

from __future__ import annotations

import getpass

import typer

from vault.config import load_settings
from vault.context import Context
from vault.runtime import Vault, open_vault

__all__ = ["DEBUG", "echo_err", "opened_vault", "operator_context"]

DEBUG = {"enabled": False}


def echo_err(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def opened_vault() -> Vault:
    return open_vault(load_settings())


def operator_context(vault: Vault, access_point: str = "cli") -> Context:
    """A CLI operator acts under the local account name; the audit records it as such."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Context(
        actor_id=f"os:{who}"[:64],
        role="operator",
        access_point=access_point,
        clock=vault.clock,
    )
