"""Storage of document ciphertext outside the database (see `blobs`)."""

from vault.storage.blobs import BlobInfo, BlobStore, LocalBlobStore, new_blob_id, validate_blob_id

__all__ = ["BlobInfo", "BlobStore", "LocalBlobStore", "new_blob_id", "validate_blob_id"]
