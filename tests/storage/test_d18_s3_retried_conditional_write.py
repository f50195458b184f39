"""D18 (review S4): every S3 write is conditional (``If-None-Match: *``). When the store applied a write
but its reply was lost, botocore's retry meets the vault's own object (412). That is not a conflict:
the object is read back, and the same bytes are a successful write. Different bytes under the id are
``Unavailable`` (retryable, nothing of ours stored), never a 409. Real SeaweedFS; the lost reply is
botocore's own ``needs-retry`` decision, as after a 5xx or a broken connection."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.s3 import SeaweedS3
from vault.config import parse_s3_url
from vault.errors import Unavailable
from vault.storage import new_blob_id
from vault.storage.s3 import S3BlobStore, make_client

_PART = 5 << 20


def _store(seaweedfs: SeaweedS3, operation: str) -> S3BlobStore:
    """A store whose client retries the first ``operation`` as if its reply had been lost."""
    client = make_client(seaweedfs.endpoint, seaweedfs.region)
    attempts = {"n": 0}

    def reply_lost_once(**_: object) -> int | None:
        attempts["n"] += 1
        return 0 if attempts["n"] == 1 else None  # retry at once

    client.meta.events.register(f"needs-retry.s3.{operation}", reply_lost_once)
    location = parse_s3_url(f"s3://{seaweedfs.bucket}/s4-{new_blob_id()[:8]}")
    return S3BlobStore(location, client, part_size=_PART)


def test_d18_a_retried_put_of_our_own_blob_is_a_successful_write(seaweedfs: SeaweedS3) -> None:
    store = _store(seaweedfs, "PutObject")
    blob_id = new_blob_id()
    body = b"VTDOC ciphertext of one small document"
    info = store.put(blob_id, [body])
    assert info.sha256 == hashlib.sha256(body).hexdigest()
    assert info.length == len(body)
    assert b"".join(store.iter_chunks(blob_id)) == body


def test_d18_a_retried_multipart_completion_of_our_own_blob_is_a_success(
    seaweedfs: SeaweedS3,
) -> None:
    store = _store(seaweedfs, "CompleteMultipartUpload")
    blob_id = new_blob_id()
    body = os.urandom(_PART + 1000)
    info = store.put(blob_id, [body])
    assert (info.length, info.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert b"".join(store.iter_chunks(blob_id)) == body


def test_d18_another_object_under_the_id_is_unavailable_not_a_conflict(seaweedfs: SeaweedS3) -> None:
    client = make_client(seaweedfs.endpoint, seaweedfs.region)
    other = make_client(seaweedfs.endpoint, seaweedfs.region)
    location = parse_s3_url(f"s3://{seaweedfs.bucket}/s4-{new_blob_id()[:8]}")
    store = S3BlobStore(location, client)
    blob_id = new_blob_id()
    key = f"{location.prefix}{blob_id[:2]}/{blob_id}"

    def someone_else_writes_first(**_: object) -> None:
        client.meta.events.unregister("before-call.s3.PutObject", someone_else_writes_first)
        other.put_object(Bucket=location.bucket, Key=key, Body=b"not our bytes")

    client.meta.events.register("before-call.s3.PutObject", someone_else_writes_first)
    with pytest.raises(Unavailable):
        store.put(blob_id, [b"our bytes"])
    assert b"".join(store.iter_chunks(blob_id)) == b"not our bytes"  # left as it was
