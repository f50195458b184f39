"""``vault keys …`` and ``vault blobs …``: key rotation and status, blob checks and sweeps."""

from __future__ import annotations

from typing import Annotated

import typer

from vault.cli.common import echo_err, opened_vault, operator_context
from vault.services import blobs as blob_service
from vault.services import keyring

keys_app = typer.Typer(
    help="Key-encryption keys: rotate, status, remove a retired version.", no_args_is_help=True
)
blobs_app = typer.Typer(
    help="Document blobs: check against the database, sweep orphans.", no_args_is_help=True
)


@keys_app.command("status")
def status() -> None:
    """KEK versions and how many case keys each still wraps."""
    vault = opened_vault()
    try:
        st = keyring.key_status(vault)
    finally:
        vault.close()
    for version in st.versions:
        mark = " (current)" if version == st.current_version else ""
        typer.echo(f"version {version}{mark}: {st.keys_per_version.get(version, 0)} case keys")


@keys_app.command("rotate")
def rotate(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Keys rewrapped per transaction.")] = 500,
) -> None:
    """Add a KEK version and rewrap every case key under it; rerun after an interruption to finish."""
    vault = opened_vault()
    ctx = operator_context(vault)
    try:
        st = keyring.key_status(vault)
        pending = sum(n for v, n in st.keys_per_version.items() if v != st.current_version)
        if pending:
            typer.echo(
                f"resuming: {pending} case keys are not yet under version {st.current_version}", err=True
            )
        else:
            version = keyring.rotate_kek(vault, ctx)
            typer.echo(f"new KEK version {version}", err=True)
        done = 0
        for progress in keyring.rewrap_all(vault, ctx, batch_size=batch_size):
            done = progress.done
            typer.echo(f"rewrapped {progress.done}/{progress.total}", err=True)
        typer.echo(f"all case keys under version {vault.keys.current_version()} ({done} rewrapped)")
    finally:
        vault.close()


@keys_app.command("remove-version")
def remove_version(version: int) -> None:
    """Remove a retired KEK version once no case key uses it."""
    vault = opened_vault()
    try:
        keyring.remove_kek_version(vault, operator_context(vault), version)
    finally:
        vault.close()
    typer.echo(f"KEK version {version} removed")


@blobs_app.command("check")
def check() -> None:
    """Report every referenced blob that is missing or does not match its length and hash."""
    vault = opened_vault()
    problems = 0
    checked = 0
    try:
        for item in blob_service.check_blobs(vault):
            if isinstance(item, int):
                checked = item
                continue
            problems += 1
            typer.echo(f"{item.problem}: version {item.version_id} blob {item.blob_id}")
    finally:
        vault.close()
    if problems:
        echo_err(f"{problems} of the referenced blobs are missing or altered")
        raise typer.Exit(1)
    typer.echo(f"all {checked} referenced blobs present and intact")


@blobs_app.command("sweep")
def sweep(
    grace_seconds: Annotated[
        float | None, typer.Option(min=0, help="Minimum age of an orphan (default VAULT_BLOB_GRACE_SECONDS).")
    ] = None,
) -> None:
    """Remove blobs that no document version references, once older than the grace period."""
    vault = opened_vault()
    try:
        removed = blob_service.sweep_orphans(vault, grace_seconds=grace_seconds)
    finally:
        vault.close()
    typer.echo(f"removed {removed} orphan or incomplete blobs")
