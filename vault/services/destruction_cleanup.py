"""What a destruction does after its transaction committed (D11, D18): scrub the erased key from
SQLite's files, then delete the case's blobs (ciphertext under the erased key).

The scrub comes first and does not depend on the object store. A blob delete that meets a store
outage does not undo or fail the destruction, which has committed (key erased, rows removed,
certificate signed): the blobs still to delete are left, and logged as a count with the case id only.
Their rows are gone, so the orphan sweep (``vault blobs sweep``, ``blobs.sweep_orphans``) removes
them once they are older than the grace period. After the first outage the rest are not tried: each
try would wait for the store's retries.
"""

from __future__ import annotations

import structlog

from vault.errors import Unavailable
from vault.runtime import Vault

__all__ = ["clean_up_after_destruction"]

log = structlog.get_logger(__name__)


def clean_up_after_destruction(vault: Vault, case_id: str, blob_ids: list[str]) -> int:
    """Scrub, then delete the blobs; returns how many were left to the orphan sweep."""
    vault.db.scrub_erased()
    for done, blob_id in enumerate(blob_ids):
        try:
            vault.blobs.delete(blob_id)
        except Unavailable:
            left = len(blob_ids) - done
            log.warning("blob_delete_deferred", case_id=case_id, blobs=left, cleanup="blob_sweep")
            return left
    return 0
