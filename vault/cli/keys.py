"""``vault keys …`` and ``vault blobs …``: key epochs (status, rotate, destroy), provider migration,
M-of-N split and recovery of the root key or the HSM backup key, sealing the purposes of disclosures
made before migration 0027; blob checks and sweeps."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated

import typer

from vault.audit import record
from vault.cli.common import echo_err, opened_vault, operator_context
from vault.config import load_settings
from vault.domain import AuditTag
from vault.runtime import Vault
from vault.services import blobs as blob_service
from vault.services import kek_backups, key_admin, key_recovery, keyring, purpose_sealing
from vault.transaction import transaction

keys_app = typer.Typer(
    help="Key-encryption keys: status, rotate, destroy epochs, migrate, split, recover.", no_args_is_help=True
)
blobs_app = typer.Typer(
    help="Document blobs: check against the database, sweep orphans.", no_args_is_help=True
)


def _days(text: str) -> timedelta:
    """``35d`` or ``35`` → 35 days."""
    value = text.strip().lower().removesuffix("d")
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 3650:
        raise typer.BadParameter("give a number of days, e.g. 35d")
    return timedelta(days=int(value))


def _when(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "-"


@contextmanager
def _changing_keys() -> Iterator[Vault]:
    """The opened vault, with the right to change its keys: one such command at a time."""
    vault = opened_vault()
    try:
        with key_admin.key_changes(vault):
            yield vault
    finally:
        vault.close()


@keys_app.command("status")
def status() -> None:
    """The key provider, every KEK epoch with its dates, how many keys each still wraps, and how many
    disclosure purposes from before migration 0027 are still in clear (D22; a count, never a purpose)."""
    vault = opened_vault()
    try:
        st = key_admin.key_status(vault)
        backup = kek_backups.backup_key_status(vault)
    finally:
        vault.close()
    typer.echo(f"provider: {st.provider}")
    for e in st.epochs:
        mark = " (current)" if e.version == st.current_version else ""
        if e.destroyed_at:
            state = f"destroyed {_when(e.destroyed_at)}"
        elif e.retired_at:
            state = f"retired {_when(e.retired_at)}, destroy after {_when(e.destroy_after)}"
        else:
            state = "in use"
        where = "" if e.held else f" [held by former provider {e.provider}: remove it there]"
        if e.destroyed_at:  # K11: recorded destroyed while the provider still stores the KEK
            where = (
                f" [STILL HELD by the provider: run `vault keys remove-version {e.version}`]"
                if e.held
                else ""
            )
        typer.echo(f"epoch {e.version}{mark}: {e.keys} keys, {state}{where}")
    if backup is not None:
        typer.echo(backup)
    hint = " (run `vault keys seal-purposes`)" if st.unsealed_purposes else ""
    typer.echo(f"unsealed disclosure purposes: {st.unsealed_purposes}{hint}")


@keys_app.command("rotate")
def rotate(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Keys rewrapped per transaction.")] = 500,
    retire_after: Annotated[
        str | None,
        typer.Option(help="Backup retention: destroy the old epoch this long after (e.g. 35d)."),
    ] = None,
) -> None:
    """New KEK epoch, rewrap every key under it, destroy the epochs whose retention has passed.

    Run it on a schedule; rerun after an interruption to finish (with the same --retire-after). With
    pkcs11, refused (one line, nothing changed) while the HSM backup key is not authenticated by the
    token: run `vault keys split` for a new one."""
    after = _days(retire_after) if retire_after else None
    with _changing_keys() as vault:
        ctx = operator_context(vault)
        st = key_admin.key_status(vault)
        pending = sum(n for v, n in st.keys_per_version.items() if v != st.current_version)
        version, resumed = keyring.start_rotation(vault, ctx, retire_after=after)
        if resumed:
            typer.echo(
                f"resuming the rotation to epoch {version}: {pending} keys are not yet under it", err=True
            )
        else:
            typer.echo(f"new KEK epoch {version}", err=True)
        done = _rewrap_with_progress(keyring.rewrap_all(vault, ctx, batch_size=batch_size))
        typer.echo(f"all keys under epoch {vault.keys.current_version()} ({done} rewrapped)")
        for version in keyring.destroy_due_epochs(vault, ctx):
            typer.echo(f"epoch {version} destroyed (its backup retention has passed)")


def _rewrap_with_progress(progress: Iterator[keyring.RotationProgress]) -> int:
    """A progress bar on a terminal; ``rewrapped N/T`` lines otherwise (logs, scripts)."""
    done = 0
    if not sys.stderr.isatty():
        for step in progress:
            done = step.done
            typer.echo(f"rewrapped {step.done}/{step.total}", err=True)
        return done
    first = next(progress, None)
    if first is None:
        return 0
    with typer.progressbar(length=first.total, label="rewrapping", file=sys.stderr) as bar:
        bar.update(first.done)
        done = first.done
        for step in progress:
            bar.update(step.done - done)
            done = step.done
    return done


@keys_app.command("destroy-due")
def destroy_due() -> None:
    """Destroy every retired epoch whose backup retention has passed (run daily)."""
    with _changing_keys() as vault:
        destroyed = keyring.destroy_due_epochs(vault, operator_context(vault))
    typer.echo(f"destroyed epochs: {', '.join(map(str, destroyed)) or 'none due'}")


@keys_app.command("remove-version")
def remove_version(version: int) -> None:
    """Destroy a retired KEK epoch now, once no key uses it (before its scheduled date)."""
    with _changing_keys() as vault:
        keyring.remove_kek_version(vault, operator_context(vault), version)
    typer.echo(f"KEK version {version} removed")


@keys_app.command("migrate")
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="file:PATH[;root=PATH] | pkcs11[:token=…;label=…;module=…] | "
            "openbao[:addr=…;mount=…;key=…]; the PIN or token comes from VAULT_PKCS11_PIN / "
            "VAULT_OPENBAO_TOKEN.",
        ),
    ],
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Keys rewrapped per transaction.")] = 500,
) -> None:
    """Rewrap every case key and subkey under a new epoch in another key provider (resumable)."""
    with _changing_keys() as vault:
        target, described = key_admin.migration_target(vault, to)
        try:
            ctx = operator_context(vault)
            moving = key_admin.migrate_keys(vault, ctx, target, batch_size=batch_size)
            done = _rewrap_with_progress(moving)
        finally:
            target.close()
    typer.echo(f"{done} case keys now under {described}")
    typer.echo(
        f"next: set VAULT_KEY_PROVIDER={described.split(':')[0]} (and its settings) and restart; the old "
        "provider's keys are retired and can be removed once the backup retention has passed"
    )


@keys_app.command("split")
def split(
    shares: Annotated[int, typer.Option(min=2, max=16, help="How many holders get a share.")] = 5,
    threshold: Annotated[int, typer.Option(min=2, max=16, help="How many shares recover the key.")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Keys rewrapped per transaction.")] = 500,
) -> None:
    """SLIP-39 shares, printed once, one per holder: of a new root key (file provider: the key file is
    sealed under it, so the shares of an earlier split no longer open it) or of a new HSM backup key
    (pkcs11: a new KEK epoch backed up to it; every key is rewrapped under it)."""
    with _changing_keys() as vault:
        ctx = operator_context(vault)
        if vault.settings.key_provider == "pkcs11":
            made = key_recovery.split_backup_key(vault, ctx, shares=shares, threshold=threshold)
            what = f"the HSM backup key (KEK epoch {made.version} is backed up to it)"
            result = made.shares
        else:
            result = key_recovery.split_root_key(vault, ctx, shares=shares, threshold=threshold)
            what = "the new root key"
        typer.echo(f"{shares} shares, any {threshold} recover {what} (set {result.identifier}).")
        typer.echo("Give each holder one share; they are not shown again.")
        if vault.settings.key_provider != "pkcs11":  # K15: the root key was replaced
            typer.echo(
                "the key file is sealed under the new root key: earlier shares no longer open it, but "
                "they still open copies of it made before now (run `vault keys rotate` to retire their "
                "KEKs)",
                err=True,
            )
        for number, words in enumerate(result.mnemonics, start=1):
            typer.echo(f"\nshare {number} of {shares}:\n{words}")
        if vault.settings.key_provider == "pkcs11":
            done = _rewrap_with_progress(keyring.rewrap_all(vault, ctx, batch_size=batch_size))
            current = vault.keys.current_version()
            typer.echo(f"all keys under epoch {current} ({done} rewrapped)", err=True)


@keys_app.command("seal-purposes")
def seal_purposes(
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Grants sealed per transaction.")
    ] = purpose_sealing.BATCH_SIZE,
) -> None:
    """Seal under their case key the purposes of disclosures made before migration 0027 (D18, D22, D12);
    those of destroyed cases are blanked. Run once after upgrading; resumable, a rerun seals 0."""
    with _changing_keys() as vault:
        done = purpose_sealing.seal_legacy_purposes(vault, operator_context(vault), batch_size=batch_size)
    typer.echo(f"{done.sealed} disclosure purposes sealed")
    if done.blanked:
        typer.echo(f"{done.blanked} disclosure purposes of destroyed cases blanked")


def _read_shares() -> list[str]:
    """Shares typed one by one (hidden) on a terminal; one per line on standard input otherwise."""
    words: list[str] = []
    if sys.stdin.isatty():
        while not words or len(words) < key_recovery.shares_needed(words[0]):
            words.append(typer.prompt(f"share {len(words) + 1} (words, hidden)", hide_input=True))
        return words
    for line in sys.stdin:
        if line.strip():
            words.append(line.strip())
            if len(words) >= key_recovery.shares_needed(words[0]):
                return words
    if not words:
        raise typer.BadParameter("no share on standard input (one share per line)")
    return words  # too few: recovery refuses them with its own reason


@keys_app.command("recover")
def recover() -> None:
    """Rebuild the root key file (file provider, the file must be missing) or put the KEKs back on a new,
    empty token (pkcs11) from shares: typed one by one, or one per line on standard input. Each KEK is
    imported only after it opened the keys stored under its epoch; one that does not stops it all."""
    settings = load_settings()
    words = _read_shares()
    lost: list[int] = []
    unchecked: list[int] = []
    if settings.key_provider == "pkcs11":
        hsm = key_recovery.restore_hsm_keys(settings, words)
        identifier, indexes, lost, unchecked = hsm.identifier, hsm.indexes, hsm.missing, hsm.unchecked
        what, restored = key_recovery.HSM_BACKUP_KEY, len(hsm.restored)
        epochs = ", ".join(map(str, hsm.restored))
        done = f"KEK epochs {epochs} imported into token {settings.pkcs11_token_label}"
    else:
        root = key_recovery.restore_root_key(settings, words)
        identifier, indexes = root.identifier, root.indexes
        what, restored = key_recovery.ROOT_KEY, None
        done = f"root key restored to {settings.resolved_root_key_file}"
    del words
    vault = opened_vault()
    try:
        key_recovery.record_recovery(
            vault, operator_context(vault), identifier, indexes, what=what, restored=restored
        )
    finally:
        vault.close()
    typer.echo(f"{done} from shares {', '.join(map(str, indexes))}")
    if lost:
        echo_err(f"epochs {', '.join(map(str, lost))} had no backup; keys still under them cannot be opened")
    if unchecked:
        typer.echo(
            f"epochs {', '.join(map(str, unchecked))} wrap no key (nothing to check their backups against): "
            "not imported",
            err=True,
        )


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
        _audit_blobs(vault, AuditTag.ADMIN_BLOBS_CHECKED, {"checked": checked, "problems": problems})
    finally:
        vault.close()
    if problems:
        echo_err(f"{problems} of the referenced blobs are missing or altered")
        raise typer.Exit(1)
    typer.echo(f"all {checked} referenced blobs present and intact")


# Below this, a live vault's uploads in flight (sealed, their row not yet committed) may be swept.
MIN_LIVE_GRACE_SECONDS = 60


@blobs_app.command("sweep")
def sweep(
    grace_seconds: Annotated[
        float | None, typer.Option(min=0, help="Minimum age of an orphan (default VAULT_BLOB_GRACE_SECONDS).")
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(help="Every vault server is stopped (no upload in flight): allows a grace below 60 s."),
    ] = False,
) -> None:
    """Remove blobs that no document version references, once older than the grace period."""
    vault = opened_vault()
    try:
        grace = vault.settings.blob_grace_seconds if grace_seconds is None else grace_seconds
        if grace < MIN_LIVE_GRACE_SECONDS and not offline:
            echo_err(
                f"a grace period below {MIN_LIVE_GRACE_SECONDS} seconds would delete the blobs of uploads "
                "still in flight; stop every vault server and pass --offline, or use a longer grace period"
            )
            raise typer.Exit(2)
        removed = blob_service.sweep_orphans(vault, grace_seconds=grace_seconds)
        _audit_blobs(vault, AuditTag.ADMIN_BLOBS_SWEPT, {"removed": removed, "grace_seconds": int(grace)})
    finally:
        vault.close()
    typer.echo(f"removed {removed} orphan or incomplete blobs")


def _audit_blobs(vault: Vault, tag: AuditTag, details: dict[str, int]) -> None:
    """D16: the operator's check or sweep of the blob store, counts only, under the operator's account
    (as the administrator's page records its check)."""
    with transaction(vault.db) as session:
        record(session, operator_context(vault), tag, object_type="blob_store", details=details)
