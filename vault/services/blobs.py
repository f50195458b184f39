"""Blob housekeeping: check every referenced blob, and sweep blobs that no row references."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from vault.models import DocumentVersion
from vault.runtime import Vault

__all__ = ["BlobProblem", "check_blobs", "sweep_orphans"]


@dataclass(frozen=True)
class BlobProblem:
    version_id: str
    blob_id: str
    problem: str  # "missing" | "length mismatch" | "hash mismatch"


def check_blobs(vault: Vault) -> Iterator[BlobProblem | int]:
    """Yield a problem for every referenced blob that is missing or does not match; ints are progress."""
    with vault.db.session() as session:
        rows = session.execute(
            select(
                DocumentVersion.id,
                DocumentVersion.blob_id,
                DocumentVersion.ciphertext_length,
                DocumentVersion.ciphertext_sha256,
            ).order_by(DocumentVersion.id)
        ).all()
    for n, (version_id, blob_id, length, digest) in enumerate(rows, start=1):
        if not vault.blobs.exists(blob_id):
            yield BlobProblem(version_id, blob_id, "missing")
            continue
        hasher = hashlib.sha256()
        size = 0
        for chunk in vault.blobs.iter_chunks(blob_id):
            hasher.update(chunk)
            size += len(chunk)
        if size != length:
            yield BlobProblem(version_id, blob_id, "length mismatch")
        elif hasher.hexdigest() != digest:
            yield BlobProblem(version_id, blob_id, "hash mismatch")
        yield n


def sweep_orphans(vault: Vault, *, grace_seconds: float | None = None, now: float | None = None) -> int:
    """Remove blobs without a version row once older than the grace period, and stale temp files.

    The grace period protects uploads in flight: their blob is written before their row commits.
    """
    grace = vault.settings.blob_grace_seconds if grace_seconds is None else grace_seconds
    moment = time.time() if now is None else now
    removed = vault.blobs.sweep_temp(grace)
    candidates = [blob_id for blob_id, mtime in vault.blobs.list_blobs() if moment - mtime >= grace]
    if not candidates:
        return removed
    with vault.db.session() as session:
        referenced = set(
            session.scalars(select(DocumentVersion.blob_id).where(DocumentVersion.blob_id.in_(candidates)))
        )
    for blob_id in candidates:
        if blob_id not in referenced:
            vault.blobs.delete(blob_id)
            removed += 1
    return removed
