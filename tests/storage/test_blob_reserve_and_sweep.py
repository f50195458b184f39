"""The local blob store's disk reserve and its sweep of crashed uploads (review finding 16).

The small-filesystem behaviour (uploads until 507, then reads and logins) is in
tests/robustness/test_disk_reserve.py; here what needs no root: the refusal before any byte is read,
which filesystems are watched, and that the sweep at opening takes leftovers but never a live upload.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.config import Settings
from vault.errors import InsufficientStorage
from vault.storage.blobs import DiskReserve, LocalBlobStore, new_blob_id


def _temp_files(root: Path) -> list[Path]:
    return list(root.rglob(".tmp-*"))


def test_below_the_reserve_a_new_blob_is_refused_before_a_byte_is_read(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    stats = os.statvfs(tmp_path)
    beyond = stats.f_bavail * stats.f_frsize + (1 << 40)  # more than the disk has free
    store = LocalBlobStore(root, reserve=DiskReserve(beyond, (("blobs", root),)))
    started = False

    def chunks() -> Iterator[bytes]:
        nonlocal started
        started = True
        yield b"x" * 1024

    with pytest.raises(InsufficientStorage) as refused:
        store.put(new_blob_id(), chunks())
    assert "nothing was stored" in str(refused.value)
    assert not started
    assert _temp_files(root) == []


def test_the_reserve_watches_the_blob_folder_and_the_sqlite_database(settings: Settings) -> None:
    reserve = DiskReserve.for_settings(settings)
    assert reserve.reserve_bytes == settings.disk_reserve_mib << 20
    watched = dict(reserve.watched)
    assert watched["blobs"] == settings.blob_dir
    if settings.is_sqlite:
        assert watched["database"] == Path(str(settings.url.database)).parent
    else:
        assert "database" not in watched  # PostgreSQL's disk is its server's


def test_the_default_reserve_holds_a_day_of_audit_entries() -> None:
    # docs/security.md: 200,000 entries a day x 1 KiB (704 bytes measured, indexes included) = 195 MiB,
    # doubled for the SQLite WAL and bursts, rounded up.
    assert Settings(home=Path("/nonexistent")).disk_reserve_mib == 512


def test_opening_the_store_sweeps_a_crashed_uploads_temp_file(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    LocalBlobStore(root)
    blob_id = new_blob_id()
    directory = root / blob_id[:2] / blob_id[2:4]
    directory.mkdir(parents=True)
    leftover = directory / f".tmp-{blob_id}-0123456789abcdef"
    leftover.write_bytes(b"partial ciphertext")
    LocalBlobStore(root)
    assert not leftover.exists()


def test_a_live_uploads_temp_file_survives_another_worker_opening_the_store(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    seen: list[Path] = []

    def chunks() -> Iterator[bytes]:
        yield b"first part "
        seen.extend(_temp_files(root))
        LocalBlobStore(root)  # a second worker starts and sweeps, mid-upload
        seen.extend(_temp_files(root))
        yield b"second part"

    blob_id = new_blob_id()
    info = store.put(blob_id, chunks())
    assert len(seen) == 2
    assert seen[0] == seen[1]  # the upload's temp file was not swept
    assert info.length == len(b"first part second part")
    assert b"".join(store.iter_chunks(blob_id)) == b"first part second part"
    assert _temp_files(root) == []
