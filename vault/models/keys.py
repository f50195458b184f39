"""Key metadata: KEK epochs (when each was created, retired, is due for and was destroyed) and the purpose
subkeys, stored only wrapped by the key provider.

A backup of the database holds these rows too; that is safe: a subkey wrapped under an epoch whose KEK
was destroyed opens with nothing, and the epoch rows carry no key material. The HSM backups
(``kek_backups``) are sealed to a backup key whose private half exists only as SLIP-39 shares held by
people (``kek_backup_keys``: its public half).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["KekBackup", "KekBackupKey", "KekEpoch", "WrappedSubkey"]


class KekEpoch(Base):
    """One KEK version. Retired when a newer one becomes current; destroyed (in the provider) once the
    backup retention after retirement has passed. From ``destroyed_at`` on, no backup can open a key
    wrapped under it."""

    __tablename__ = "kek_epochs"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    destroy_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WrappedSubkey(Base):
    """A purpose subkey (blind index, pseudonym, TOTP, session, audit signing, field metadata), wrapped
    by the key provider under KEK ``kek_version`` with purpose ``subkey`` and the purpose as context."""

    __tablename__ = "wrapped_subkeys"

    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    kek_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class KekBackupKey(Base):
    """An HSM backup key (``vault keys split`` with the pkcs11 provider): its X25519 public half; the
    private half exists only as ``shares`` SLIP-39 shares of set ``share_set``, ``threshold`` of which
    rebuild it. The newest one not ``superseded_at`` receives the backups of new KEK versions, once the
    token verifies ``tag`` (its HMAC over the row's statement, `vault.crypto.recovery.BackupKeyRecord`;
    null for keys made before backup keys were authenticated: they are refused)."""

    __tablename__ = "kek_backup_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    share_set: Mapped[int] = mapped_column(Integer, nullable=False)
    shares: Mapped[int] = mapped_column(Integer, nullable=False)
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tag: Mapped[bytes | None] = mapped_column(LargeBinary)


class KekBackup(Base):
    """The backup of one PKCS#11 KEK version, sealed to backup key ``backup_key_id`` (docs/format.md).
    Erased when its epoch is destroyed."""

    __tablename__ = "kek_backups"

    version: Mapped[int] = mapped_column(
        ForeignKey("kek_epochs.version"), primary_key=True, autoincrement=False
    )
    backup_key_id: Mapped[int] = mapped_column(ForeignKey("kek_backup_keys.id"), nullable=False)
    blob: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
