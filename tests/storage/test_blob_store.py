"""The blob stores: atomic, durable, no partial blobs, no path traversal, never an overwrite.

The contract tests run over the local store and over S3 (a real SeaweedFS, see tests/s3.py); the tests
at the end are specific to one of them.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.s3 import SeaweedS3
from vault.crypto.envelope import new_data_key
from vault.crypto.stream import decrypt_stream, encrypt_stream
from vault.errors import Conflict, InvalidInput, NotFound
from vault.storage import BlobInfo, BlobStore, LocalBlobStore, new_blob_id, validate_blob_id
from vault.storage.s3 import S3BlobStore, S3Location, make_client

Store = LocalBlobStore | S3BlobStore
MiB = 1 << 20


def s3_store(server: SeaweedS3, **kw: int) -> S3BlobStore:
    location = S3Location(server.bucket, f"st-{uuid.uuid4().hex[:12]}/")
    return S3BlobStore(location, make_client(server.endpoint, server.region), **kw)


@pytest.fixture
def store(tmp_path: Path, blob_backend: str, request: pytest.FixtureRequest) -> Store:
    if blob_backend == "s3":
        return s3_store(request.getfixturevalue("seaweedfs"))
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def local_store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def leftovers(store: Store) -> list[str]:
    """Everything the store holds: files (local), or objects and incomplete multipart uploads (S3)."""
    if isinstance(store, LocalBlobStore):
        return all_files(store.root)
    client = store._client
    prefix = store.location.prefix
    listed = client.list_objects_v2(Bucket=store.location.bucket, Prefix=prefix).get("Contents", [])
    objects = [item["Key"][len(prefix) :] for item in listed]
    uploads = [f"upload:{key[len(prefix) :]}" for key, _, _ in store.incomplete_uploads()]
    return sorted(objects + uploads)


def test_put_and_read_back(store: Store) -> None:
    blob_id = new_blob_id()
    info = store.put(blob_id, [b"abc", b"", bytearray(b"def"), memoryview(b"ghi")])
    assert info == BlobInfo(length=9, sha256=hashlib.sha256(b"abcdefghi").hexdigest())
    assert store.exists(blob_id)
    assert b"".join(store.iter_chunks(blob_id)) == b"abcdefghi"
    assert list(store.iter_chunks(blob_id, chunk_size=4)) == [b"abcd", b"efgh", b"i"]
    with store.open(blob_id) as handle:
        assert handle.read() == b"abcdefghi"


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=5000), chunk=st.integers(1, 700))
def test_round_trip_any_chunking(tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int) -> None:
    store = LocalBlobStore(tmp_path_factory.mktemp("blobs"))
    blob_id = new_blob_id()
    info = store.put(blob_id, [data[i : i + chunk] for i in range(0, len(data), chunk)])
    assert info.length == len(data)
    assert b"".join(store.iter_chunks(blob_id, chunk_size=chunk)) == data


def test_blob_files_are_fanned_out_and_private(local_store: LocalBlobStore) -> None:
    store = local_store
    blob_id = "0123456789abcdef0123456789abcdef"
    store.put(blob_id, [b"x"])
    path = store.root / "01" / "23" / blob_id
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all_files(store.root) == [f"01/23/{blob_id}"]


def test_put_refuses_to_overwrite_an_existing_blob(store: Store) -> None:
    blob_id = new_blob_id()
    store.put(blob_id, [b"first"])
    with pytest.raises(Conflict):
        store.put(blob_id, [b"second"])
    assert b"".join(store.iter_chunks(blob_id)) == b"first"
    assert len(leftovers(store)) == 1


def test_failed_put_leaves_no_visible_blob_and_no_temp_file(store: Store) -> None:
    blob_id = new_blob_id()

    def failing() -> Iterator[bytes]:
        yield b"partial data"
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="client went away"):
        store.put(blob_id, failing())
    assert not store.exists(blob_id)
    assert leftovers(store) == []
    assert list(store.list_blobs()) == []


@pytest.mark.parametrize(
    "bad_id",
    [
        "../../../../etc/passwd",
        "..",
        "/tmp/x",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0",
        "01234567-89ab-cdef-0123-456789abcdef",
        "0123456789abcdef0123456789abcde\x00",
        "0123456789abcdef0123456789abcdef\n",
        "..23456789abcdef0123456789abcdef",
        "01/3456789abcdef0123456789abcdef",
        "",
    ],
)
def test_invalid_blob_ids_are_rejected_everywhere(store: Store, bad_id: str) -> None:
    with pytest.raises(InvalidInput):
        validate_blob_id(bad_id)
    with pytest.raises(InvalidInput):
        store.put(bad_id, [b"x"])
    for call in (store.exists, store.delete, store.open, store.iter_chunks):
        with pytest.raises(InvalidInput):
            call(bad_id)
    assert leftovers(store) == []


def test_missing_blob_is_not_found_at_call_time(store: Store) -> None:
    blob_id = new_blob_id()
    assert not store.exists(blob_id)
    with pytest.raises(NotFound):
        store.open(blob_id)
    with pytest.raises(NotFound):
        store.iter_chunks(blob_id)  # raised before iteration starts


def test_delete_is_idempotent(store: Store) -> None:
    blob_id = new_blob_id()
    store.put(blob_id, [b"x"])
    store.delete(blob_id)
    assert not store.exists(blob_id)
    store.delete(blob_id)


def test_list_blobs_gives_ids_and_mtimes_and_skips_temp_files(local_store: LocalBlobStore) -> None:
    store = local_store
    ids = sorted(new_blob_id() for _ in range(5))
    before = time.time()
    for blob_id in ids:
        store.put(blob_id, [b"x"])
    (store.root / ids[0][:2] / ids[0][2:4] / f".tmp-{ids[0]}-deadbeef").write_bytes(b"half")
    (store.root / "stray.txt").write_bytes(b"not a blob")
    listed = sorted(store.list_blobs())
    assert [blob_id for blob_id, _ in listed] == ids
    assert all(mtime >= before - 2 for _, mtime in listed)


def test_sweep_temp_removes_only_old_crash_leftovers(local_store: LocalBlobStore) -> None:
    store = local_store
    blob_id = new_blob_id()
    store.put(blob_id, [b"keep"])
    directory = store.root / blob_id[:2] / blob_id[2:4]
    old = directory / f".tmp-{blob_id}-00000000"
    fresh = directory / f".tmp-{blob_id}-11111111"
    old.write_bytes(b"crash leftover")
    fresh.write_bytes(b"upload in progress")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert store.sweep_temp(older_than_seconds=600) == 1
    assert not old.exists()
    assert fresh.exists()
    assert store.exists(blob_id)


def test_store_satisfies_the_protocol(store: Store) -> None:
    assert isinstance(store, BlobStore)


def test_d18_encrypted_document_through_the_store(store: Store) -> None:
    dek = new_data_key()
    plaintext = os.urandom(300_000)
    blob_id = new_blob_id()
    info = store.put(
        blob_id, encrypt_stream(dek, "doc-1", [plaintext[i : i + 50_000] for i in range(0, 300_000, 50_000)])
    )
    stored = b"".join(store.iter_chunks(blob_id))
    assert info.sha256 == hashlib.sha256(stored).hexdigest()
    assert plaintext not in stored
    assert b"".join(decrypt_stream(dek, "doc-1", store.iter_chunks(blob_id, chunk_size=100_000))) == plaintext


# -- S3 (SeaweedFS) specifics --


@pytest.fixture
def s3(seaweedfs: SeaweedS3) -> S3BlobStore:
    return s3_store(seaweedfs, part_size=5 * MiB, parts_in_flight=2)


def test_s3_multipart_round_trip_is_exact_and_hashed(s3: S3BlobStore) -> None:
    data = os.urandom(5 * MiB) * 2 + os.urandom(3 * MiB + 17)  # three parts, the last short
    blob_id = new_blob_id()
    info = s3.put(blob_id, (data[i : i + 700_001] for i in range(0, len(data), 700_001)))
    assert info == BlobInfo(length=len(data), sha256=hashlib.sha256(data).hexdigest())
    assert hashlib.sha256(b"".join(s3.iter_chunks(blob_id, chunk_size=MiB))).digest() == (
        hashlib.sha256(data).digest()
    )
    assert leftovers(s3) == [f"{blob_id[:2]}/{blob_id}"], "no multipart upload left open"


def test_s3_stream_ending_on_a_part_boundary(s3: S3BlobStore) -> None:
    data = os.urandom(10 * MiB)
    blob_id = new_blob_id()
    assert s3.put(blob_id, [data[: 5 * MiB], data[5 * MiB :]]).length == len(data)
    assert b"".join(s3.iter_chunks(blob_id)) == data


@pytest.mark.parametrize("size", [10, 6 * MiB])
def test_s3_conditional_create_never_overwrites_even_past_the_existence_check(
    s3: S3BlobStore, size: int
) -> None:
    """The HEAD before a put narrows the race; If-None-Match: * closes it (single and multipart)."""
    from vault.storage.blobs import _StreamingSha256

    blob_id = new_blob_id()
    s3.put(blob_id, [b"first"])
    with pytest.raises(Conflict):
        s3._upload(s3._key(blob_id), [os.urandom(size)], _StreamingSha256())  # skips the HEAD
    assert b"".join(s3.iter_chunks(blob_id)) == b"first"
    assert leftovers(s3) == [f"{blob_id[:2]}/{blob_id}"], "the refused multipart upload was aborted"


def test_s3_failure_mid_multipart_upload_leaves_nothing_visible(s3: S3BlobStore) -> None:
    blob_id = new_blob_id()

    def failing() -> Iterator[bytes]:
        yield os.urandom(6 * MiB)  # one part already sent
        yield os.urandom(6 * MiB)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="client went away"):
        s3.put(blob_id, failing())
    assert not s3.exists(blob_id)
    assert leftovers(s3) == []


def test_s3_crash_mid_upload_is_invisible_and_swept_after_the_grace_period(s3: S3BlobStore) -> None:
    """A process that dies mid-upload never completes it: no object; sweep_temp aborts it once old."""
    blob_id = new_blob_id()
    key = s3._key(blob_id)
    client = s3._client
    upload = client.create_multipart_upload(Bucket=s3.location.bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=s3.location.bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 100)
    assert not s3.exists(blob_id)
    assert list(s3.list_blobs()) == []
    assert s3.sweep_temp(older_than_seconds=3600) == 0, "a fresh upload may still be in flight"
    assert leftovers(s3) == [f"upload:{blob_id[:2]}/{blob_id}"]
    time.sleep(1.1)  # the server records the start with one-second precision
    assert s3.sweep_temp(older_than_seconds=0) == 1
    assert leftovers(s3) == []


def _part_times(s3: S3BlobStore, key: str, upload_id: str) -> list[float]:
    """The server's LastModified of each part sent so far (one-second precision)."""
    answer = s3._client.list_parts(Bucket=s3.location.bucket, Key=key, UploadId=upload_id)
    return [part["LastModified"].timestamp() for part in answer.get("Parts", [])]


def _wait_for_parts(s3: S3BlobStore, key: str, count: int) -> tuple[str, list[float]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for upload_key, upload_id, _ in s3.incomplete_uploads():
            if upload_key == key and len(times := _part_times(s3, key, upload_id)) >= count:
                return upload_id, times
        time.sleep(0.05)
    raise AssertionError(f"the upload never sent part {count}")


def test_s3_sweep_spares_an_upload_still_sending_parts_and_aborts_abandoned_ones(s3: S3BlobStore) -> None:
    """The grace period counts from an upload's newest part (without parts: from its start), not from its
    start: a slow upload that outlasts the grace period is not cut off, one a crash left is aborted."""
    bucket, client = s3.location.bucket, s3._client
    crashed = s3._key(new_blob_id())  # a crash after one part
    crashed_upload = client.create_multipart_upload(Bucket=bucket, Key=crashed)["UploadId"]
    client.upload_part(Bucket=bucket, Key=crashed, UploadId=crashed_upload, PartNumber=1, Body=b"x" * 100)
    never_sent = s3._key(new_blob_id())  # a crash before the first part
    client.create_multipart_upload(Bucket=bucket, Key=never_sent)

    blob_id = new_blob_id()
    key = s3._key(blob_id)
    data = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the end"]
    resume = [threading.Event(), threading.Event()]

    def slow_client() -> Iterator[bytes]:  # part 1, a stall, part 2, a stall, the rest
        yield data[0]
        resume[0].wait(120)
        yield data[1]
        resume[1].wait(120)
        yield data[2]

    with ThreadPoolExecutor(max_workers=1) as pool:
        uploading = pool.submit(s3.put, blob_id, slow_client())
        try:
            _, (first,) = _wait_for_parts(s3, key, 1)
            time.sleep(1.1)  # the server records times to the second: part 2 lands in a later second
            resume[0].set()
            upload_id, (_, second) = _wait_for_parts(s3, key, 2)
            assert second > first
            fresh = s3._key(new_blob_id())  # just started, no part yet: may be about to send one
            fresh_upload = client.create_multipart_upload(Bucket=bucket, Key=fresh)["UploadId"]

            # A grace period that ends between the slow upload's parts: it started (and sent part 1, like
            # the crashed upload) longer ago than that, but its newest part is more recent.
            cutoff = (first + second) / 2
            assert s3.sweep_temp(older_than_seconds=time.time() - cutoff) == 2
            assert sorted(k for k, _, _ in s3.incomplete_uploads()) == sorted([key, fresh])
            assert s3._last_activity(crashed, crashed_upload, 0.0) is None, "aborted: the upload is gone"
            assert s3._last_activity(key, upload_id, 0.0) == second
        finally:
            for event in resume:
                event.set()
        info = uploading.result(timeout=120)  # the sweep did not cut it off
    assert info == BlobInfo(length=10 * MiB + 7, sha256=hashlib.sha256(b"".join(data)).hexdigest())
    assert b"".join(s3.iter_chunks(blob_id)) == b"".join(data)
    client.abort_multipart_upload(Bucket=bucket, Key=fresh, UploadId=fresh_upload)
    assert leftovers(s3) == [f"{blob_id[:2]}/{blob_id}"]


def test_s3_list_blobs_skips_foreign_objects_and_other_prefixes(
    s3: S3BlobStore, seaweedfs: SeaweedS3
) -> None:
    ids = sorted(new_blob_id() for _ in range(3))
    for blob_id in ids:
        s3.put(blob_id, [b"x"])
    client = s3._client
    client.put_object(Bucket=s3.location.bucket, Key=f"{s3.location.prefix}stray.txt", Body=b"no")
    client.put_object(Bucket=s3.location.bucket, Key=f"{s3.location.prefix}{ids[0]}", Body=b"no")
    other = s3_store(seaweedfs)
    other.put(new_blob_id(), [b"y"])
    assert [blob_id for blob_id, _ in sorted(s3.list_blobs())] == ids


def test_s3_unreachable_store_is_unavailable_and_names_nothing(seaweedfs: SeaweedS3) -> None:
    import socket

    from vault.errors import Unavailable
    from vault.storage import blob_store_ready

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store = S3BlobStore(S3Location("secret-bucket-name", "p/"), make_client(dead, "us-east-1"))
    blob_id = new_blob_id()
    for call in (
        lambda: store.put(blob_id, [b"x"]),
        lambda: store.iter_chunks(blob_id),
        lambda: store.exists(blob_id),
        lambda: list(store.list_blobs()),
        lambda: store.sweep_temp(0),
    ):
        with pytest.raises(Unavailable) as caught:
            call()
        message = str(caught.value)
        assert "secret-bucket-name" not in message
        assert "127.0.0.1" not in message
    assert not blob_store_ready(store)
    assert blob_store_ready(s3_store(seaweedfs))


def test_s3_wrong_credentials_are_unavailable(seaweedfs: SeaweedS3) -> None:
    import boto3

    from vault.errors import Unavailable
    from vault.storage.s3 import _client_config

    client = boto3.session.Session(aws_access_key_id="nobody", aws_secret_access_key="wrong").client(
        "s3", endpoint_url=seaweedfs.endpoint, region_name=seaweedfs.region, config=_client_config()
    )
    store = S3BlobStore(S3Location(seaweedfs.bucket, "creds/"), client)
    with pytest.raises(Unavailable):
        store.put(new_blob_id(), [b"x"])
    assert not store.ready()
