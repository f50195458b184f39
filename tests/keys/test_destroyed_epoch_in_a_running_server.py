"""A running server and the epochs another process destroys or moves (D11/D12 destruction, D18 keys).

With the file key provider each process holds the KEKs it loaded. `vault keys rotate` / `destroy-due`
in another process removes an epoch's KEK from the key file; from that moment a backup's copy of a key
wrapped under it must not open anywhere — also not in a `vault serve` started before (the destruction
certificate promises backups unreadable from that date). Two `Vault` objects on one database and one
key file are the two processes, as in ``test_rotation_beside_a_running_vault.py``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.keys import WrappedKey
from vault.crypto.providers import open_provider
from vault.domain import Role
from vault.errors import Integrity, Unavailable
from vault.models import CaseKey
from vault.runtime import Vault, key_provider_spec, open_vault
from vault.services import key_admin, keyring
from vault.services.documents import read_document
from vault.services.setup import initialise


def _staff(vault: Vault) -> tuple[str, Context]:
    team = make_team(vault)
    return team, ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)


def _wrapped_key(vault: Vault, case_id: str) -> WrappedKey:
    """The case's wrapped key as a database backup holds it."""
    with vault.db.session() as session:
        row = session.scalars(select(CaseKey).where(CaseKey.case_id == case_id)).one()
        return WrappedKey(row.kek_version, bytes(row.wrapped))


def _rotate_and_destroy_epoch_1(cli: Vault, ctx: Context, clock: FrozenClock) -> None:
    """`vault keys rotate --retire-after 35d`, then `vault keys destroy-due` 36 days later."""
    keyring.rotate_kek(cli, ctx, retire_after=timedelta(days=35))
    list(keyring.rewrap_all(cli, ctx))
    clock.advance(days=36)
    assert keyring.destroy_due_epochs(cli, ctx) == [1]


def test_d12_running_server_refuses_a_backup_key_once_another_process_destroyed_its_epoch(
    settings: Settings, clock: FrozenClock
) -> None:
    cli = initialise(settings, clock=clock)
    server = open_vault(settings, clock=clock)  # `vault serve`, running throughout
    try:
        team, ctx = _staff(cli)
        case_id = new_case(server, ctx, team)
        doc = upload(server, ctx, case_id, b"verslag")
        backup = _wrapped_key(cli, case_id)  # the nightly database backup, under epoch 1
        assert server.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)  # still live
        keyring.rotate_kek(cli, ctx, retire_after=timedelta(days=35))
        list(keyring.rewrap_all(cli, ctx))
        new_case(server, ctx, team)  # the server goes on working under the new epoch
        # Retired but not yet destroyed: the backup still opens on the server (within the retention).
        assert server.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
        clock.advance(days=36)
        assert keyring.destroy_due_epochs(cli, ctx) == [1]
        with pytest.raises(Integrity):
            cli.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
        with pytest.raises(Integrity):  # as in the CLI: the key is gone, opaquely
            server.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
        # The live case, rewrapped under epoch 2, reads on as before.
        assert b"".join(read_document(server, ctx, doc).chunks) == b"verslag"
    finally:
        server.close()
        cli.close()


def test_d12_idle_server_that_never_met_the_new_epoch_refuses_a_destroyed_epoch_within_a_second(
    settings: Settings, clock: FrozenClock
) -> None:
    """The server wrapped and read nothing under the new epoch, so the destroyed one is still the
    newest it knows: that one is re-checked at most a second later."""
    cli = initialise(settings, clock=clock)
    server = open_vault(settings, clock=clock)
    try:
        team, ctx = _staff(cli)
        case_id = new_case(server, ctx, team)
        backup = _wrapped_key(cli, case_id)
        assert server.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
        _rotate_and_destroy_epoch_1(cli, ctx, clock)
        time.sleep(1.1)
        with pytest.raises(Integrity):
            server.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
    finally:
        server.close()
        cli.close()


def test_d12_running_server_fails_closed_when_the_key_file_cannot_be_read_for_an_older_epoch(
    settings: Settings, clock: FrozenClock
) -> None:
    """Whether an older epoch was destroyed cannot be checked: refused (503), not opened from memory."""
    cli = initialise(settings, clock=clock)
    server = open_vault(settings, clock=clock)
    try:
        team, ctx = _staff(cli)
        case_id = new_case(server, ctx, team)
        backup = _wrapped_key(cli, case_id)
        keyring.rotate_kek(cli, ctx, retire_after=timedelta(days=35))
        list(keyring.rewrap_all(cli, ctx))
        new_case(server, ctx, team)
        key_file = settings.resolved_key_file
        key_file.chmod(0o644)  # refused by the loader: loose permissions
        with pytest.raises(Unavailable, match="key file cannot be read again"):
            server.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
        key_file.chmod(0o600)
        assert server.keys.unwrap(backup, purpose=DEK_PURPOSE, context_id=case_id)
    finally:
        server.close()
        cli.close()


def test_d18_case_moved_by_migrate_read_on_a_server_not_yet_restarted_is_503_not_integrity(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    cli = initialise(settings, clock=clock)
    server = open_vault(settings, clock=clock)  # started before the migration, on the old key file
    try:
        team, ctx = _staff(cli)
        doc = upload(server, ctx, new_case(server, ctx, team), b"verslag")
        target_settings = settings.model_copy(
            update={"key_file": tmp_path / "new-keys.json", "root_key_file": tmp_path / "new-root.key"}
        )
        target = open_provider(key_provider_spec(target_settings), allow_empty=True)
        list(key_admin.migrate_keys(cli, ctx, target))
        target.close()
        with pytest.raises(Unavailable, match="KEK epoch 2 is not held by file:") as err:
            read_document(server, ctx, doc)
        assert "restart" in str(err.value)
        restarted = open_vault(target_settings, clock=clock)
        try:
            assert b"".join(read_document(restarted, ctx, doc).chunks) == b"verslag"
        finally:
            restarted.close()
    finally:
        server.close()
        cli.close()
