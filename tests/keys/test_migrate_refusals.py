"""D18, D16, D11: `vault keys migrate` while a migration is unfinished, into a key store this vault did
not make, or `vault keys split` before the restart after one: refused up front with one line, nothing
created (K12, K21, K19); an interrupted migration has audited the epoch it made (K13)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case
from tests.keys.conftest import Hsm
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.filekeys import FileKeyProvider, write_root_key
from vault.crypto.keys import KEY_SIZE, SecretKey
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import AuditEntry, KekEpoch
from vault.runtime import Vault
from vault.services import key_admin, key_recovery, keyring
from vault.services.setup import initialise


def _epochs(vault: Vault) -> list[int]:
    with vault.db.session() as session:
        return sorted(session.scalars(select(KekEpoch.version)))


def _vault_with_cases(settings: Settings, clock: FrozenClock, cases: int = 3) -> Vault:
    vault = initialise(settings, clock=clock)
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    for _ in range(cases):
        new_case(vault, ctx, team)
    return vault


def _interrupted_migration(vault: Vault, op: Context, to: str) -> None:
    """`vault keys migrate --to <to> --batch-size 1`, interrupted after its first batch."""
    target, _ = key_admin.migration_target(vault, to)
    run = key_admin.migrate_keys(vault, op, target, batch_size=1)
    assert next(run).done == 1
    run.close()
    target.close()


def test_d18_migrate_to_another_target_while_a_migration_is_unfinished_is_refused_then_resumable(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    vault = _vault_with_cases(settings, clock)
    try:
        op = Context.system(access_point="cli", clock=clock)
        _interrupted_migration(vault, op, f"file:{tmp_path / 'a-keys.json'}")
        assert _epochs(vault) == [1, 2]

        target_b, _ = key_admin.migration_target(vault, f"file:{tmp_path / 'b-keys.json'}")
        try:
            with pytest.raises(Conflict, match="migration to KEK epoch 2 in a file provider did not finish"):
                list(key_admin.migrate_keys(vault, op, target_b, batch_size=1))
            assert target_b.versions() == [], "the refused run made a KEK in the other target"
        finally:
            target_b.close()
        assert _epochs(vault) == [1, 2], "the refused run recorded an epoch"

        target_a, _ = key_admin.migration_target(vault, f"file:{tmp_path / 'a-keys.json'}")
        try:  # resuming the first migration still works and finishes it
            list(key_admin.migrate_keys(vault, op, target_a, batch_size=1))
        finally:
            target_a.close()
        with vault.db.session() as session:
            migrated = session.scalars(
                select(AuditEntry.object_id).where(AuditEntry.tag == AuditTag.SYSTEM_KEYS_MIGRATED.value)
            ).all()
        assert migrated == ["2"]
        assert _epochs(vault) == [1, 2]
    finally:
        vault.close()


def test_d16_an_interrupted_migration_has_audited_the_epoch_it_made_and_retired_the_older(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    vault = _vault_with_cases(settings, clock)
    try:
        op = Context.system(access_point="cli", clock=clock)
        _interrupted_migration(vault, op, f"file:{tmp_path / 'new-keys.json'}")
        with vault.db.session() as session:
            epochs = {e.version: e for e in session.scalars(select(KekEpoch))}
            assert epochs[1].retired_at is not None
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.object_type == "kek", AuditEntry.object_id == "2")
            ).all()
        assert [(e.tag, e.actor_id) for e in entries] == [(AuditTag.SYSTEM_KEYS_ROTATE.value, "system")]
        details = json.loads(entries[0].details)
        assert details == {"retire_after_days": vault.settings.key_retire_after_days, "to": "file"}
    finally:
        vault.close()


def test_d18_migrate_to_a_foreign_key_store_at_the_same_epoch_is_refused_not_a_silent_success(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    vault = _vault_with_cases(settings, clock, cases=1)
    try:
        root = SecretKey(secrets.token_bytes(KEY_SIZE))  # another installation's (staging's) key store
        write_root_key(tmp_path / "staging-root.key", root)
        FileKeyProvider.create(tmp_path / "staging-keys.json", root, first_version=1).close()
        op = Context.system(access_point="cli", clock=clock)
        target, _ = key_admin.migration_target(
            vault, f"file:path={tmp_path / 'staging-keys.json'};root={tmp_path / 'staging-root.key'}"
        )
        try:
            with pytest.raises(Conflict, match="this vault did not put there"):
                list(key_admin.migrate_keys(vault, op, target))
        finally:
            target.close()
        assert _epochs(vault) == [1]
        with vault.db.session() as session:
            assert not session.scalars(
                select(AuditEntry).where(AuditEntry.tag == AuditTag.SYSTEM_KEYS_MIGRATED.value)
            ).all()
    finally:
        vault.close()


def test_d18_split_is_refused_like_rotate_while_the_current_epoch_is_in_a_migration_target(
    settings_for: Callable[[str], Settings], hsm: Hsm, clock: FrozenClock, tmp_path: Path
) -> None:
    vault = _vault_with_cases(settings_for("pkcs11"), clock, cases=1)
    try:
        op = Context.system(access_point="cli", clock=clock)
        target, _ = key_admin.migration_target(
            vault, f"file:path={tmp_path / 'keys.json'};root={tmp_path / 'root.key'}"
        )
        list(key_admin.migrate_keys(vault, op, target))  # done; the restart with file: not yet
        target.close()
        with pytest.raises(Conflict, match="not held by"):
            keyring.start_rotation(vault, op)
        with pytest.raises(Conflict, match="not held by"):
            key_recovery.split_backup_key(vault, op, shares=3, threshold=2)
        assert vault.keys.versions() == [1], "split made a second KEK with the migration epoch's number"
        with vault.db.session() as session:
            assert {e.version: e.provider for e in session.scalars(select(KekEpoch))} == {
                1: "pkcs11",
                2: "file",
            }
    finally:
        vault.close()
