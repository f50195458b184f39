"""The HSM backup key and the KEK backups are read from the database, which an attacker with write
access to it controls. The token authenticates the backup key (an HMAC under a key that never leaves
it) before any KEK is sealed to it, and recovery imports a KEK only after it opened the keys stored
under its epoch (D18). Real SoftHSM2 token, real CLI where the operator sees the answer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from tests.helpers import worker_with_document
from tests.keys.conftest import Hsm
from tests.robustness.support import free_port
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.pkcs11 import Pkcs11KeyProvider
from vault.crypto.recovery import BackupKeyNotAuthenticated, new_kek_material, seal_kek_backup
from vault.errors import InvalidInput
from vault.models import AuditEntry, KekBackup, KekBackupKey, KekEpoch
from vault.runtime import Vault, open_vault
from vault.services import key_recovery, keyring
from vault.services.documents import read_document
from vault.services.setup import initialise

CLI = [sys.executable, "-c", "from vault.cli.main import main; main()"]


def _env(settings: Settings, hsm: Hsm) -> dict[str, str]:
    return {
        **os.environ,
        "VAULT_HOME": str(settings.home),
        "VAULT_DATABASE_URL": settings.database_url or "",
        "VAULT_KEY_PROVIDER": "pkcs11",
        "VAULT_PKCS11_MODULE": hsm.module,
        "VAULT_PKCS11_TOKEN_LABEL": settings.pkcs11_token_label or hsm.token_label,
        "VAULT_PKCS11_PIN": hsm.pin,
        "VAULT_PKCS11_KEY_LABEL": settings.pkcs11_key_label,
        "SOFTHSM2_CONF": hsm.conf,
    }


def _cli(settings: Settings, hsm: Hsm, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=_env(settings, hsm), capture_output=True, text=True, timeout=120)


def _first_line_of_serve(settings: Settings, hsm: Hsm) -> str:
    """What ``vault serve`` says first on stderr (its warnings come before uvicorn starts)."""
    server = subprocess.Popen(
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        env=_env(settings, hsm),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stderr is not None
        return server.stderr.readline()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _attacker_public_key() -> bytes:
    return X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _state(vault: Vault) -> tuple[list[int], list[int], list[int], int]:
    """(token versions, epoch rows, backed-up versions, audit entries): what a refusal must not change."""
    provider = vault.keys.provider
    provider.reload()
    with vault.db.session() as session:
        epochs = sorted(session.scalars(select(KekEpoch.version)))
        backups = sorted(session.scalars(select(KekBackup.version)))
        entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return provider.versions(), epochs, backups, entries


def _refused_rotation(settings: Settings, hsm: Hsm) -> str:
    refused = _cli(settings, hsm, "keys", "rotate")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    (line,) = refused.stderr.splitlines()  # one line, no traceback
    assert line.startswith("error: the HSM backup key in the database")
    assert "not authenticated by this token" in line
    assert "`vault keys split`" in line
    assert hsm.pin not in refused.stdout + refused.stderr
    return line


def test_d18_rotation_refuses_a_backup_key_planted_in_the_database_and_changes_nothing(
    settings_for: Callable[[str], Settings], hsm: Hsm, clock: FrozenClock
) -> None:
    settings = settings_for("pkcs11")
    vault = initialise(settings, clock=clock)
    ctx, doc = worker_with_document(vault, b"verslag van het huisbezoek")
    vault.close()

    # Database write access only: a backup key row of the attacker's own, once without a tag …
    vault = open_vault(settings, clock=clock)
    try:
        with vault.db.session() as session:
            planted = KekBackupKey(
                public_key=_attacker_public_key(), share_set=1, shares=5, threshold=3, created_at=clock.now()
            )
            session.add(planted)
        before = _state(vault)
    finally:
        vault.close()
    _refused_rotation(settings, hsm)

    # … and once with a tag copied from a genuine backup key the token did authenticate.
    split = _cli(settings, hsm, "keys", "split", "--shares", "3", "--threshold", "2")
    assert split.returncode == 0, split.stderr
    vault = open_vault(settings, clock=clock)
    try:
        with vault.db.session() as session:
            genuine = session.scalars(select(KekBackupKey).where(KekBackupKey.superseded_at.is_(None))).one()
            session.add(
                KekBackupKey(
                    public_key=_attacker_public_key(),
                    share_set=genuine.share_set,
                    shares=genuine.shares,
                    threshold=genuine.threshold,
                    created_at=clock.now(),
                    tag=genuine.tag,
                )
            )
        before = _state(vault)
    finally:
        vault.close()
    _refused_rotation(settings, hsm)
    status = _cli(settings, hsm, "keys", "status")
    assert status.returncode == 0, status.stderr
    assert "is NOT authenticated by this token" in status.stdout
    assert _first_line_of_serve(settings, hsm).startswith("warning: HSM backup key: share set")

    vault = open_vault(settings, clock=clock)
    try:
        assert _state(vault) == before  # no KEK in the token, no epoch, no backup, no audit entry
        with pytest.raises(BackupKeyNotAuthenticated):  # the service refuses too, not only the CLI
            keyring.rotate_kek(vault, ctx)
        assert _state(vault) == before
        assert b"".join(read_document(vault, ctx, doc).chunks) == b"verslag van het huisbezoek"
    finally:
        vault.close()


def test_d18_backup_key_made_before_authentication_is_refused_until_split_again(
    settings_for: Callable[[str], Settings], hsm: Hsm, clock: FrozenClock
) -> None:
    settings = settings_for("pkcs11")
    vault = initialise(settings, clock=clock)
    try:
        ctx = Context.system(clock=clock)
        key_recovery.split_backup_key(vault, ctx, shares=5, threshold=3)
        list(keyring.rewrap_all(vault, ctx))
        third = keyring.rotate_kek(vault, ctx)  # authenticated by the token: backed up
        list(keyring.rewrap_all(vault, ctx))
        with vault.db.session() as session:
            assert third in set(session.scalars(select(KekBackup.version)))
            # A row from before the change (migration 0025 leaves its tag empty).
            session.scalars(select(KekBackupKey)).one().tag = None
    finally:
        vault.close()
    _refused_rotation(settings, hsm)
    assert _cli(settings, hsm, "keys", "split").returncode == 0  # a new, authenticated backup key
    rotated = _cli(settings, hsm, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    vault = open_vault(settings, clock=clock)
    try:
        newest = vault.keys.current_version()
        with vault.db.session() as session:
            current = session.scalars(select(KekBackupKey).where(KekBackupKey.superseded_at.is_(None))).one()
            backup = session.get(KekBackup, newest)
            assert backup is not None
            assert backup.backup_key_id == current.id
    finally:
        vault.close()


def test_d18_hsm_recovery_refuses_a_forged_kek_backup_and_imports_nothing(
    settings_for: Callable[[str], Settings], hsm: Hsm, clock: FrozenClock
) -> None:
    settings = settings_for("pkcs11")
    vault = initialise(settings, clock=clock)
    try:
        ctx, doc = worker_with_document(vault, b"zorgmelding")
        made = key_recovery.split_backup_key(vault, ctx, shares=5, threshold=3)
        list(keyring.rewrap_all(vault, ctx))
        # Database write access only: the backup replaced by one sealed to the (public) backup key.
        with vault.db.session() as session:
            public = session.scalars(select(KekBackupKey.public_key)).one()
            row = session.scalars(select(KekBackup).where(KekBackup.version == made.version)).one()
            genuine = bytes(row.blob)
            row.blob = seal_kek_backup(public, bytes(new_kek_material()), made.version)
    finally:
        vault.close()

    lost = settings.model_copy(update={"pkcs11_token_label": hsm.spare_label})
    shares = made.shares.mnemonics[:3]
    with pytest.raises(InvalidInput) as refused:
        key_recovery.restore_hsm_keys(lost, shares)
    assert f"the backup of epoch {made.version} does not open the keys stored under that epoch" in str(
        refused.value
    )
    assert "nothing was imported" in str(refused.value)
    token = Pkcs11KeyProvider.open(
        module=hsm.module, token_label=hsm.spare_label, pin=hsm.pin, key_label=settings.pkcs11_key_label
    )
    try:
        assert token.versions() == []  # nothing imported
    finally:
        token.close()

    # The genuine backup recovers, and the new token authenticates the recovered backup key.
    vault = open_vault(settings, clock=clock)
    try:
        with vault.db.session() as session:
            session.scalars(select(KekBackup)).one().blob = genuine
    finally:
        vault.close()
    result = key_recovery.restore_hsm_keys(lost, shares)
    assert result.restored == [made.version]
    vault = open_vault(lost, clock=clock)
    try:
        assert b"".join(read_document(vault, ctx, doc).chunks) == b"zorgmelding"
        after = keyring.rotate_kek(vault, ctx)
        with vault.db.session() as session:
            assert session.get(KekBackup, after) is not None
    finally:
        vault.close()
