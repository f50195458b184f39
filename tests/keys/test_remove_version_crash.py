"""Destroying a KEK epoch killed between the key provider and the database (D11 destruction through the
KEK epoch, D12 backups, D16 audited, D18 key management).

The provider's KEK goes first, the transaction that records the destruction commits after it. A process
killed in between (simulated here: another process removes the KEK from the provider and dies with
``os._exit``, as a ``kill -9`` would leave it) left the epoch "retired" in the database and absent from
the provider; the rerun said "no such KEK version" forever, ``destroy-due`` skipped the epoch and the
audit log never recorded its destruction. The rerun now completes the database side, once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from tests.keys.conftest import PROVIDERS
from tests.keys.test_rotation_beside_a_running_vault import _cli, _env
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.providers import open_provider
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import AuditEntry, KekEpoch
from vault.runtime import Vault, key_provider_spec, open_vault
from vault.services import key_admin, keyring
from vault.services.documents import read_document
from vault.services.setup import initialise

# Another process opens the vault, removes the KEK from the provider and is killed before its
# database transaction commits: nothing of the database side happens.
_KILLED_AFTER_THE_PROVIDER = """
import os, sys
from vault.config import Settings
from vault.runtime import open_vault
vault = open_vault(Settings())
vault.keys.remove_version(int(sys.argv[1]))
os._exit(137)
"""


def _killed_after_the_provider_step(settings: Settings, version: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_THE_PROVIDER, str(version)],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 137, done.stderr


def _rotated(settings: Settings, clock: FrozenClock) -> tuple[str, Context, str]:
    """A vault with one case and document, rotated to epoch 2 (epoch 1 retired, due a day later, no
    key under it); every process closed again (a PKCS#11 token takes one login per process)."""
    vault = initialise(settings, clock=clock)
    try:
        team = make_team(vault)
        ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        case_id = new_case(vault, ctx, team)
        doc = upload(vault, ctx, case_id, b"dossier A")
        op = Context.system(access_point="cli", clock=clock)
        assert keyring.start_rotation(vault, op, retire_after=timedelta(days=1)) == (2, False)
        list(keyring.rewrap_all(vault, op))
    finally:
        vault.close()
    return case_id, ctx, doc


def _epoch(vault: Vault, version: int) -> KekEpoch | None:
    with vault.db.session() as session:
        return session.get(KekEpoch, version)


def _entries(vault: Vault, tag: AuditTag, version: int) -> int:
    with vault.db.session() as session:
        stmt = select(func.count()).where(AuditEntry.tag == tag.value, AuditEntry.object_id == str(version))
        return int(session.scalar(stmt) or 0)


@pytest.mark.parametrize("kind", PROVIDERS)
def test_d11_d18_remove_version_killed_after_the_provider_is_completed_by_the_cli_rerun(
    kind: str, settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    settings = settings_for(kind)
    _, ctx, doc = _rotated(settings, clock)
    _killed_after_the_provider_step(settings, 1)
    stale = _cli(settings, "keys", "status")
    assert "epoch 1: 0 keys, retired" in stale.stdout  # the database does not know yet

    rerun = _cli(settings, "keys", "remove-version", "1")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "KEK version 1 removed"
    status = _cli(settings, "keys", "status")
    assert "epoch 1: 0 keys, destroyed" in status.stdout
    assert "held by former provider" not in status.stdout

    again = _cli(settings, "keys", "remove-version", "1")
    assert again.returncode == 1
    assert again.stderr.splitlines() == ["error: KEK epoch 1 was destroyed already"]
    vault = open_vault(settings, clock=clock)
    try:
        epoch = _epoch(vault, 1)
        assert epoch is not None
        assert epoch.destroyed_at is not None
        assert _entries(vault, AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED, 1) == 1
        assert _entries(vault, AuditTag.SYSTEM_KEYS_REMOVED, 1) == 1
        assert b"".join(read_document(vault, ctx, doc).chunks) == b"dossier A"
    finally:
        vault.close()


def test_d11_d18_destroy_due_completes_an_epoch_a_killed_run_removed_from_the_provider(
    settings: Settings, clock: FrozenClock
) -> None:
    _rotated(settings, clock)
    _killed_after_the_provider_step(settings, 1)
    clock.advance(days=2)
    vault = open_vault(settings, clock=clock)  # the next scheduled `vault keys destroy-due`
    try:
        op = Context.system(access_point="cli", clock=clock)
        assert keyring.destroy_due_epochs(vault, op) == [1]
        epoch = _epoch(vault, 1)
        assert epoch is not None
        assert epoch.destroyed_at == clock.now()
        assert _entries(vault, AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED, 1) == 1
        clock.advance(days=1)
        assert keyring.destroy_due_epochs(vault, op) == []  # idempotent: recorded once
        assert _entries(vault, AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED, 1) == 1
    finally:
        vault.close()


def test_d11_d18_completing_a_killed_removal_keeps_its_checks(settings: Settings, clock: FrozenClock) -> None:
    """An epoch gone from the provider is recorded destroyed only where an uninterrupted removal
    would have destroyed it: never the current epoch, never while a key is wrapped under it."""
    vault = initialise(settings, clock=clock)
    try:
        team = make_team(vault)
        ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        new_case(vault, ctx, team)
        new_case(vault, ctx, team)
        op = Context.system(access_point="cli", clock=clock)
        keyring.start_rotation(vault, op, retire_after=timedelta(days=1))
        rewrap = keyring.rewrap_all(vault, op, batch_size=1)
        assert next(rewrap).done == 1  # killed there: one case key is still under epoch 1
        rewrap.close()
    finally:
        vault.close()
    _killed_after_the_provider_step(settings, 1)  # as if the check had been skipped: the KEK is gone
    vault = open_vault(settings, clock=clock)
    try:
        with pytest.raises(Conflict, match="still wraps"):
            keyring.remove_kek_version(vault, op, 1)
        with pytest.raises(Conflict, match="current"):
            keyring.remove_kek_version(vault, op, 2)
        epoch = _epoch(vault, 1)
        assert epoch is not None
        assert epoch.destroyed_at is None
        assert _entries(vault, AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED, 1) == 0
    finally:
        vault.close()


def test_remove_version_of_an_epoch_that_does_not_exist_says_so(
    settings: Settings, clock: FrozenClock
) -> None:
    _rotated(settings, clock)
    done = _cli(settings, "keys", "remove-version", "999")
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["error: KEK epoch 999 does not exist"]


def test_d18_an_epoch_held_by_a_former_provider_is_not_recorded_destroyed(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    """After `vault keys migrate` (here file to file) the older epochs live on in the provider the
    vault left: absent from the configured one, yet not destroyed. Removing one there is refused with
    where to remove it; ``destroy-due`` leaves it."""
    _rotated(settings, clock)
    moved = settings.model_copy(update={"key_file": tmp_path / "migrated-keys.json"})
    vault = open_vault(settings, clock=clock)
    try:
        target = open_provider(key_provider_spec(moved), allow_empty=True)
        op = Context.system(access_point="cli", clock=clock)
        assert [p.done for p in key_admin.migrate_keys(vault, op, target)] == [1]
        target.close()
    finally:
        vault.close()
    vault = open_vault(moved, clock=clock)
    try:
        with pytest.raises(Conflict) as refused:
            keyring.remove_kek_version(vault, op, 1)
        assert str(refused.value) == "KEK epoch 1 is held by the former provider file: remove it there"
        clock.advance(days=400)
        assert keyring.destroy_due_epochs(vault, op) == []
        for version in (1, 2):
            epoch = _epoch(vault, version)
            assert epoch is not None
            assert epoch.destroyed_at is None
    finally:
        vault.close()
