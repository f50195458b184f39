"""Blob housekeeping: check every referenced blob, sweep blobs that no row references, and drop an
upload's sealed blob once its referencing transaction is known to have failed."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Final

import structlog
from sqlalchemy import select

from vault.errors import NotFound, Unavailable
from vault.models import DocumentVersion
from vault.runtime import Vault

__all__ = ["SWEEP_BATCH", "BlobProblem", "check_blobs", "discard_sealed_blob", "sweep_orphans"]

log = structlog.get_logger(__name__)

# Blob ids checked against the database in one query: well below every driver's bind-parameter limit.
SWEEP_BATCH: Final = 5_000


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
        # Every referenced blob counts as checked, a missing one too (review S18: the count left
        # missing blobs out, so the administrator read fewer checked documents than there are).
        problem = _blob_problem(vault, blob_id, length, digest)
        if problem is not None:
            yield BlobProblem(version_id, blob_id, problem)
        yield n


def _blob_problem(vault: Vault, blob_id: str, length: int, digest: str) -> str | None:
    """What is wrong with one referenced blob, None when it is present and matches."""
    hasher = hashlib.sha256()
    size = 0
    try:
        for chunk in vault.blobs.iter_chunks(blob_id):
            hasher.update(chunk)
            size += len(chunk)
    except NotFound:  # never there, or removed meanwhile
        return "missing"
    if size != length:
        return "length mismatch"
    if hasher.hexdigest() != digest:
        return "hash mismatch"
    return None


def sweep_orphans(
    vault: Vault,
    *,
    grace_seconds: float | None = None,
    now: float | None = None,
    batch_size: int = SWEEP_BATCH,
) -> int:
    """Remove blobs without a version row once older than the grace period, and stale temp files.

    The grace period protects uploads in flight: their blob is written before their row commits.
    The listing is streamed and checked against the database ``batch_size`` blobs at a time: one
    ``IN (...)`` with every blob of a large store would pass the databases' limit on bind parameters
    (65,535 for PostgreSQL), and a list of every id would hold the whole store in memory.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    grace = vault.settings.blob_grace_seconds if grace_seconds is None else grace_seconds
    moment = time.time() if now is None else now
    removed = vault.blobs.sweep_temp(grace)
    old_enough = (blob_id for blob_id, mtime in vault.blobs.list_blobs() if moment - mtime >= grace)
    while candidates := list(islice(old_enough, batch_size)):
        removed += _remove_unreferenced(vault, candidates)
    return removed


def _remove_unreferenced(vault: Vault, candidates: list[str]) -> int:
    """Delete those of ``candidates`` that no document version references; how many were deleted."""
    with vault.db.session() as session:
        referenced = set(
            session.scalars(select(DocumentVersion.blob_id).where(DocumentVersion.blob_id.in_(candidates)))
        )
    removed = 0
    for blob_id in candidates:
        if blob_id not in referenced:
            vault.blobs.delete(blob_id)
            removed += 1
    return removed


def discard_sealed_blob(vault: Vault, blob_id: str, failure: BaseException) -> None:
    """After the transaction that was to reference ``blob_id`` failed with ``failure`` (D18).

    The blob is deleted only when no row can reference it: after a refusal, bad input or a
    rolled-back statement at once; after ``Unavailable`` (the connection may have dropped while
    COMMIT ran, so the row may be committed) only when a new transaction finds no version row that
    references it. When that check fails too, or after an interruption, the blob is left to
    ``sweep_orphans``, which deletes it only if no row references it after the grace period. A delete
    that meets a store outage is left to the sweep too, and never replaces ``failure``.
    """
    if not isinstance(failure, Exception) or (
        isinstance(failure, Unavailable) and _referenced(vault, blob_id)
    ):
        log.warning("blob_left_for_sweep", reason="outcome_unknown")
        return
    try:
        vault.blobs.delete(blob_id)
    except Unavailable:
        log.warning("blob_left_for_sweep", reason="store_unavailable")


def _referenced(vault: Vault, blob_id: str) -> bool:
    """Whether a committed version row references ``blob_id``; True when that cannot be told."""
    try:
        with vault.db.session() as session:
            found = session.scalar(select(DocumentVersion.id).where(DocumentVersion.blob_id == blob_id))
    except Unavailable:
        return True
    return found is not None
