"""``vault blobs sweep`` on a store with more blobs than the database takes bind parameters.

The sweep used to put every blob id past the grace period into one ``IN (...)``: past 65,535 blobs
(psycopg's limit; a region's vault gets there, documents are kept 20 years) it failed every time and
orphans were never removed. Now the listing is streamed and checked in batches. SQLite lets a
connection lower its own limit (``SQLITE_LIMIT_VARIABLE_NUMBER``), so a thousand blobs and a small
batch show here what 70,000 blobs and the default batch show on PostgreSQL (run by hand: slow).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.domain import Role
from vault.runtime import Vault
from vault.services.blobs import sweep_orphans
from vault.storage.blobs import LocalBlobStore, new_blob_id

LATER = 2 * 3600.0  # the sweep runs as if two hours had passed: every blob is past a one-hour grace


def _orphans(vault: Vault, n: int) -> list[str]:
    """``n`` blobs that no version references (a failed upload's ciphertext), written as the store
    lays them out."""
    store = vault.blobs
    assert isinstance(store, LocalBlobStore)
    ids = [new_blob_id() for _ in range(n)]
    for blob_id in ids:
        folder = store.root / blob_id[:2] / blob_id[2:4]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / blob_id).write_bytes(b"orphan ciphertext")
    return ids


def _kept(vault: Vault, n: int) -> list[str]:
    """Blobs of ``n`` real document versions: the sweep must leave them."""
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    before = {blob_id for blob_id, _ in vault.blobs.list_blobs()}
    for i in range(n):
        upload(vault, ctx, case_id, f"dossierstuk {i}".encode())
    return sorted({blob_id for blob_id, _ in vault.blobs.list_blobs()} - before)


@pytest.fixture
def parameter_limit(vault: Vault) -> Iterator[Any]:
    """``limit(n)``: on SQLite every connection the vault checks out takes at most ``n`` bind
    parameters per statement, as PostgreSQL takes at most 65,535."""
    limits: list[int] = []

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if limits and isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limits[-1])

    event.listen(vault.db.engine, "checkout", on_checkout)
    yield limits.append
    event.remove(vault.db.engine, "checkout", on_checkout)


@pytest.fixture
def version_lookups(vault: Vault) -> Iterator[list[int]]:
    """The number of blob ids in each statement the sweep sends to check them against the versions."""
    sizes: list[int] = []

    def before_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "FROM document_versions" in statement and " IN (" in statement:
            sizes.append(len(parameters))

    event.listen(vault.db.engine, "before_cursor_execute", before_execute)
    yield sizes
    event.remove(vault.db.engine, "before_cursor_execute", before_execute)


def test_blobs_sweep_checks_candidates_in_batches_and_keeps_every_referenced_blob(
    vault: Vault, parameter_limit: Any, version_lookups: list[int]
) -> None:
    kept = _kept(vault, 3)
    orphans = _orphans(vault, 1_000)
    # SQLite: at most 300 ids per statement (the old single IN (...) of 1,003 fails here); the batch
    # of 128 stays below it, as the default batch (5,000) stays below PostgreSQL's 65,535.
    parameter_limit(300)
    removed = sweep_orphans(vault, grace_seconds=3600, now=time.time() + LATER, batch_size=128)
    assert removed == len(orphans)
    assert not any(vault.blobs.exists(blob_id) for blob_id in orphans)
    assert all(vault.blobs.exists(blob_id) for blob_id in kept)
    assert version_lookups, "the sweep checked nothing against the database"
    assert max(version_lookups) <= 128
    assert len(version_lookups) == math.ceil((len(orphans) + len(kept)) / 128)
