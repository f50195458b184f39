"""D11/D12/D18 on SQLite: destroying a case erases its wrapped data key and then checkpoints the WAL
(``Database.scrub_erased``), whose old frames and the main file still hold the erased row. While
another connection reads (a running server always has one), that checkpoint is busy: the erasure
then overwrites the key before deleting it, and the checkpoint is retried by the next transaction,
so the vault's own files never keep a key that opens with the live KEK."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.helpers import new_case, upload
from vault.context import Context
from vault.crypto.keys import WrappedKey
from vault.models import CaseKey
from vault.runtime import Vault
from vault.services import destruction


def _files(vault: Vault) -> bytes:
    db_file = Path(vault.settings.url.database or "")
    return b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))


def _wrapped(vault: Vault, case_id: str) -> WrappedKey:
    with vault.db.session() as session:
        row = session.get(CaseKey, case_id)
        assert row is not None
        return WrappedKey(row.kek_version, bytes(row.wrapped))


def test_d11_an_erased_case_key_leaves_the_sqlite_files_once_a_busy_reader_is_done(
    vault: Vault, team: str, worker: Context
) -> None:
    if not vault.db.is_sqlite:
        pytest.skip("SQLite files only")
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"te vernietigen")
    assert vault.db.scrub_erased()  # everything so far in the main file
    wrapped = _wrapped(vault, case_id)
    assert wrapped.blob in _files(vault)

    reader = sqlite3.connect(vault.settings.url.database or "")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM cases").fetchone()  # another request is reading meanwhile
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    with capture_logs() as logs:
        destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    reader.rollback()
    reader.close()
    warned = [e for e in logs if e["log_level"] == "warning"]
    assert [e["event"] for e in warned] == ["erased_rows_checkpoint_busy"]
    assert case_id not in repr(warned)  # no ids of the case, no data

    with vault.db.session() as session:  # the next transaction retries the checkpoint
        assert session.get(CaseKey, case_id) is None
    assert wrapped.blob not in _files(vault), "the erased case key is still in the SQLite files"


def test_d11_a_process_that_ends_after_a_busy_erasure_checkpoints_before_it_closes(
    vault: Vault, team: str, worker: Context
) -> None:
    """A CLI sweep ends right after its last destruction: closing the database retries the checkpoint."""
    if not vault.db.is_sqlite:
        pytest.skip("SQLite files only")
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"te vernietigen")
    assert vault.db.scrub_erased()
    wrapped = _wrapped(vault, case_id)

    reader = sqlite3.connect(vault.settings.url.database or "")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM cases").fetchone()
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    reader.rollback()  # the server's connection stays open (SQLite's own checkpoint at close skipped)

    vault.db.dispose()  # no transaction in between
    still_there = wrapped.blob in _files(vault)
    reader.close()
    assert not still_there, "the erased case key is still in the SQLite files"
