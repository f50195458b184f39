"""HSM backups of new PKCS#11 KEK versions (D18): which backup key receives them, and only when the
token authenticates it. `vault.services.key_recovery` makes the backup key (`vault keys split`) and
puts the KEKs back (`vault keys recover`); `vault.services.keyring` backs up each new epoch.

The public half of a backup key is read from the database, which an attacker with write access to it
could change. So it is trusted only when the token verifies the row's tag (an HMAC under a key that
never leaves the token, `vault.crypto.pkcs11`); otherwise rotation refuses before the provider makes
anything (`BackupKeyNotAuthenticated`, one line on the CLI).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.crypto.keys import KekProvider
from vault.crypto.recovery import BackupKeyNotAuthenticated, BackupKeyRecord, KekBackupTarget
from vault.models import KekBackup, KekBackupKey
from vault.runtime import Vault

log = structlog.get_logger(__name__)

__all__ = ["arm_backup", "backup_key_record", "backup_key_status", "current_backup_key", "store_backup"]


def current_backup_key(session: Session) -> KekBackupKey | None:
    """The HSM backup key that receives the backups of new KEK versions (the newest not superseded)."""
    stmt = (
        select(KekBackupKey)
        .where(KekBackupKey.superseded_at.is_(None))
        .order_by(KekBackupKey.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def backup_key_record(row: KekBackupKey) -> BackupKeyRecord:
    return BackupKeyRecord(
        key_id=row.id,
        public_key=bytes(row.public_key),
        share_set=row.share_set,
        shares=row.shares,
        threshold=row.threshold,
        tag=None if row.tag is None else bytes(row.tag),
    )


def arm_backup(session: Session, provider: KekProvider) -> int | None:
    """Make the provider back up the versions it creates next to the current backup key (a PKCS#11
    provider once `vault keys split` made one); returns that key's id, None when there is none.

    Fails closed (`BackupKeyNotAuthenticated`) when the token does not verify the key's tag: a key
    made before backup keys were authenticated, by another token, or planted in the database. The
    caller has made nothing yet; it stops."""
    if not isinstance(provider, KekBackupTarget):
        return None
    key = current_backup_key(session)
    try:
        provider.back_up_new_versions(None if key is None else backup_key_record(key))
    except BackupKeyNotAuthenticated:
        log.warning("hsm_backup_key_refused", backup_key_id=None if key is None else key.id)
        raise
    return key.id if key else None


def store_backup(
    session: Session, provider: KekProvider, version: int, backup_key: int | None, now: datetime
) -> None:
    """Store the backup blob the provider made for ``version`` (after its epoch row exists)."""
    if backup_key is None or not isinstance(provider, KekBackupTarget):
        return
    blob = provider.take_backup(version)
    if blob is not None:
        session.add(KekBackup(version=version, backup_key_id=backup_key, blob=blob, created_at=now))
        session.flush()


def backup_key_status(vault: Vault) -> str | None:
    """One line about the current HSM backup key for the operator (`vault keys status`, start-up
    checks); None when the provider takes no backups. Names the share set only."""
    provider = vault.keys.provider
    if not isinstance(provider, KekBackupTarget):
        return None
    with vault.db.session() as session:
        row = current_backup_key(session)
        record = None if row is None else backup_key_record(row)
    if record is None:
        return "HSM backup key: none (new KEKs are not backed up; `vault keys split` makes one)"
    if provider.backup_key_is_authentic(record):
        return (
            f"HSM backup key: share set {record.share_set} ({record.threshold} of {record.shares} shares), "
            "authenticated by the token"
        )
    return (
        f"HSM backup key: share set {record.share_set} is NOT authenticated by this token: rotation "
        "refuses to back up to it; run `vault keys split` for a new backup key"
    )
