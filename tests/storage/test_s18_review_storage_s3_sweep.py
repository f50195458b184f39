"""Review S18, storage: the S3 sweep touches only what this vault wrote.

``S3BlobStore.sweep_temp`` aborted every incomplete multipart upload under its prefix, whatever its
key. A vault at ``s3://bucket`` (or ``s3://bucket/vt``) shares the listing with everything below it:
another region's vault at ``s3://bucket/vt/utrecht`` (its own, longer grace period for slow links),
or another application's uploads in the same bucket. Their uploads in flight were aborted, so their
documents failed (503) — the blobs of ``list_blobs`` were already limited to this vault's own keys.
Real SeaweedFS (tests/s3.py); skips without it.
"""

from __future__ import annotations

import time
import uuid

from tests.s3 import SeaweedS3
from vault.storage import new_blob_id
from vault.storage.s3 import S3BlobStore, S3Location, make_client


def _store(server: SeaweedS3, prefix: str) -> S3BlobStore:
    return S3BlobStore(S3Location(server.bucket, prefix), make_client(server.endpoint, server.region))


def _open_uploads(store: S3BlobStore, key: str) -> int:
    return sum(1 for k, _, _ in store.incomplete_uploads() if k == key)


def test_s18_the_s3_sweep_never_aborts_an_upload_of_another_vault_under_its_prefix(
    seaweedfs: SeaweedS3,
) -> None:
    outer = f"vt-{uuid.uuid4().hex[:12]}/"
    region = _store(seaweedfs, outer)
    nested = _store(seaweedfs, f"{outer}utrecht/")
    client = make_client(seaweedfs.endpoint, seaweedfs.region)
    # The nested vault's upload in flight (its first part not arrived yet), and another
    # application's upload beside the vault's keys.
    theirs = nested._key(new_blob_id())
    other_app = f"{outer}exports/2026-12-07.tar"
    for key in (theirs, other_app):
        client.create_multipart_upload(Bucket=seaweedfs.bucket, Key=key)
    own = region._key(new_blob_id())
    client.create_multipart_upload(Bucket=seaweedfs.bucket, Key=own)  # a crash's leftover of its own
    time.sleep(1.1)

    aborted = region.sweep_temp(0)

    assert _open_uploads(nested, theirs) == 1, "the sweep aborted the nested vault's upload in flight"
    assert _open_uploads(region, other_app) == 1, "the sweep aborted another application's upload"
    assert _open_uploads(region, own) == 0, "its own abandoned upload is still swept"
    assert aborted == 1
    for key in (theirs, other_app):
        for k, upload, _ in region.incomplete_uploads():
            if k == key:
                client.abort_multipart_upload(Bucket=seaweedfs.bucket, Key=k, UploadId=upload)
