"""Storage of document ciphertext outside the database (see `blobs`; `s3` for object storage)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vault.storage.blobs import (
    BlobInfo,
    BlobStore,
    DiskReserve,
    LocalBlobStore,
    new_blob_id,
    validate_blob_id,
)

if TYPE_CHECKING:
    from vault.config import Settings

__all__ = [
    "BlobInfo",
    "BlobStore",
    "DiskReserve",
    "LocalBlobStore",
    "blob_store_ready",
    "new_blob_id",
    "open_blob_store",
    "validate_blob_id",
]


def open_blob_store(settings: Settings) -> BlobStore:
    """The store VAULT_BLOB_STORE chooses: the local folder VAULT_HOME/blobs, or ``s3://bucket/prefix``."""
    if settings.blob_store_url is None:
        return LocalBlobStore(settings.blob_dir, reserve=DiskReserve.for_settings(settings))
    from vault.storage.s3 import S3BlobStore

    return S3BlobStore.from_url(
        settings.blob_store_url, endpoint=settings.s3_endpoint, region=settings.s3_region
    )


def blob_store_ready(store: BlobStore) -> bool:
    """Readiness: the store can be reached (S3: the bucket answers; local: the folder is writable)."""
    ready = getattr(store, "ready", None)
    if callable(ready):
        return bool(ready())
    if isinstance(store, LocalBlobStore):
        return store.root.is_dir() and os.access(store.root, os.W_OK)
    return True
