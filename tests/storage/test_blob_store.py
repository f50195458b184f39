"""The local blob store: atomic, durable, no partial blobs, no path traversal."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.crypto.envelope import new_data_key
from vault.crypto.stream import decrypt_stream, encrypt_stream
from vault.errors import Conflict, InvalidInput, NotFound
from vault.storage import BlobInfo, BlobStore, LocalBlobStore, new_blob_id, validate_blob_id


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_put_and_read_back(store: LocalBlobStore) -> None:
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


def test_blob_files_are_fanned_out_and_private(store: LocalBlobStore) -> None:
    blob_id = "0123456789abcdef0123456789abcdef"
    store.put(blob_id, [b"x"])
    path = store.root / "01" / "23" / blob_id
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all_files(store.root) == [f"01/23/{blob_id}"]


def test_put_refuses_to_overwrite_an_existing_blob(store: LocalBlobStore) -> None:
    blob_id = new_blob_id()
    store.put(blob_id, [b"first"])
    with pytest.raises(Conflict):
        store.put(blob_id, [b"second"])
    assert b"".join(store.iter_chunks(blob_id)) == b"first"
    assert len(all_files(store.root)) == 1


def test_failed_put_leaves_no_visible_blob_and_no_temp_file(store: LocalBlobStore) -> None:
    blob_id = new_blob_id()

    def failing() -> Iterator[bytes]:
        yield b"partial data"
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError, match="client went away"):
        store.put(blob_id, failing())
    assert not store.exists(blob_id)
    assert all_files(store.root) == []
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
def test_invalid_blob_ids_are_rejected_everywhere(store: LocalBlobStore, bad_id: str) -> None:
    with pytest.raises(InvalidInput):
        validate_blob_id(bad_id)
    with pytest.raises(InvalidInput):
        store.put(bad_id, [b"x"])
    for call in (store.exists, store.delete, store.open, store.iter_chunks):
        with pytest.raises(InvalidInput):
            call(bad_id)
    assert all_files(store.root) == []


def test_missing_blob_is_not_found_at_call_time(store: LocalBlobStore) -> None:
    blob_id = new_blob_id()
    assert not store.exists(blob_id)
    with pytest.raises(NotFound):
        store.open(blob_id)
    with pytest.raises(NotFound):
        store.iter_chunks(blob_id)  # raised before iteration starts


def test_delete_is_idempotent(store: LocalBlobStore) -> None:
    blob_id = new_blob_id()
    store.put(blob_id, [b"x"])
    store.delete(blob_id)
    assert not store.exists(blob_id)
    store.delete(blob_id)


def test_list_blobs_gives_ids_and_mtimes_and_skips_temp_files(store: LocalBlobStore) -> None:
    ids = sorted(new_blob_id() for _ in range(5))
    before = time.time()
    for blob_id in ids:
        store.put(blob_id, [b"x"])
    (store.root / ids[0][:2] / ids[0][2:4] / f".tmp-{ids[0]}-deadbeef").write_bytes(b"half")
    (store.root / "stray.txt").write_bytes(b"not a blob")
    listed = sorted(store.list_blobs())
    assert [blob_id for blob_id, _ in listed] == ids
    assert all(mtime >= before - 2 for _, mtime in listed)


def test_sweep_temp_removes_only_old_crash_leftovers(store: LocalBlobStore) -> None:
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


def test_local_store_satisfies_the_protocol(store: LocalBlobStore) -> None:
    assert isinstance(store, BlobStore)


def test_d18_encrypted_document_through_the_store(store: LocalBlobStore) -> None:
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
