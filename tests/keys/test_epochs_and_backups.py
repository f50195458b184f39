"""KEK epochs make crypto-shredding reach backups (D11, D12, D18); a VAULT_HOME copied without its key
provider decrypts nothing."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from tests.keys.conftest import PROVIDERS
from tests.robustness.support import running_server
from vault.config import Settings
from vault.context import FrozenClock
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.filekeys import FileKeyProvider, write_root_key
from vault.crypto.keys import SUBKEY_PURPOSE, SecretKey, SubkeyPurpose, WrappedKey
from vault.domain import Role
from vault.errors import ConfigError, Integrity
from vault.models import CaseKey, WrappedSubkey
from vault.runtime import Vault, open_vault
from vault.services import key_admin, keyring
from vault.services.destruction import destroy_case
from vault.services.setup import initialise


@pytest.mark.parametrize("kind", PROVIDERS)
def test_d12_backup_taken_before_destruction_cannot_decrypt_once_its_epoch_is_destroyed(
    kind: str, settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    vault = initialise(settings_for(kind), clock=clock)
    try:
        team = make_team(vault)
        ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        doomed, kept = new_case(vault, ctx, team), new_case(vault, ctx, team)
        upload(vault, ctx, doomed, b"te vernietigen")
        # The backup: a copy of the key rows of the database as they were the day before.
        with vault.db.session() as session:
            backup = {
                r.case_id: WrappedKey(r.kek_version, bytes(r.wrapped))
                for r in session.scalars(select(CaseKey))
            }
        cert = destroy_case(vault, ctx, doomed, reason="request")
        body = json.loads(cert.body)
        assert body["key_epoch"] == 1
        assert "epoch 1 is destroyed" in body["backups_unreadable_from"]

        keyring.rotate_kek(vault, ctx, retire_after=timedelta(days=35))
        list(keyring.rewrap_all(vault, ctx))
        epoch1 = next(e for e in key_admin.key_status(vault).epochs if e.version == 1)
        assert epoch1.destroy_after == clock.now() + timedelta(days=35)
        clock.advance(days=10)
        assert keyring.destroy_due_epochs(vault, ctx) == []
        # Within the retention the backup still opens: that is what backups are for.
        assert len(vault.keys.unwrap(backup[doomed], purpose=DEK_PURPOSE, context_id=doomed)) == 32

        clock.advance(days=26)
        assert keyring.destroy_due_epochs(vault, ctx) == [1]
        assert vault.keys.versions() == [2]
        for version in [*vault.keys.versions(), backup[doomed].version]:
            with pytest.raises(Integrity):
                vault.keys.unwrap(
                    WrappedKey(version, backup[doomed].blob), purpose=DEK_PURPOSE, context_id=doomed
                )
        # The live case that was rewrapped stays readable; its old backup copy does not.
        with pytest.raises(Integrity):
            vault.keys.unwrap(backup[kept], purpose=DEK_PURPOSE, context_id=kept)
        status = key_admin.key_status(vault)
        assert [(e.version, e.destroyed_at is not None) for e in status.epochs] == [(1, True), (2, False)]
    finally:
        vault.close()


def _every_byte(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_d18_home_copied_without_the_root_key_decrypts_nothing(tmp_path: Path, clock: FrozenClock) -> None:
    elsewhere = tmp_path / "keys-elsewhere"
    elsewhere.mkdir(mode=0o700)
    home = tmp_path / "home"
    settings = Settings(
        home=home,
        root_key_file=elsewhere / "root.key",
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
    )
    vault = initialise(settings, clock=clock)
    try:
        team = make_team(vault)
        ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
        case_id = new_case(vault, ctx, team)
        upload(vault, ctx, case_id, b"geheim verslag " * 100)
        with vault.db.session() as session:
            row = session.get(CaseKey, case_id)
            assert row is not None
            dek = vault.keys.unwrap(
                WrappedKey(row.kek_version, row.wrapped), purpose=DEK_PURPOSE, context_id=case_id
            )
        provider = vault.keys.provider
        assert isinstance(provider, FileKeyProvider)
        secrets = [dek, *provider._keks.values(), *(vault.keys.subkey(p).reveal() for p in SubkeyPurpose)]
    finally:
        vault.close()
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    everything = _every_byte(copy)
    assert (copy / "vault.db").exists()
    assert (copy / "keys.json").exists()  # only KEKs sealed under the root key
    for secret in [*secrets, (elsewhere / "root.key").read_bytes().split()[1]]:
        assert secret not in everything
    # The copy with another root key: the key file does not open.
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    write_root_key(other / "root.key", SecretKey(os.urandom(32)))
    with pytest.raises(ConfigError, match="VAULT_KEY_PROVIDER: file: the root key"):
        open_vault(settings.model_copy(update={"home": copy, "root_key_file": other / "root.key"}))
    # With a whole new key file and root key: nothing stored in the copy opens.
    fresh = initialise(
        Settings(home=tmp_path / "fresh", password_hashing="fast_insecure_for_tests", cookie_secure=False),
        clock=clock,
    )
    try:
        from vault.db import Database

        db = Database(f"sqlite:///{copy / 'vault.db'}")
        with db.session() as session:
            rows = [
                (SUBKEY_PURPOSE, s.purpose, s.kek_version, s.wrapped)
                for s in session.scalars(select(WrappedSubkey))
            ]
            rows += [
                (DEK_PURPOSE, c.case_id, c.kek_version, c.wrapped) for c in session.scalars(select(CaseKey))
            ]
        db.dispose()
        assert len(rows) == len(SubkeyPurpose) + 1
        for purpose, context, version, blob in rows:
            with pytest.raises(Integrity):
                fresh.keys.unwrap(WrappedKey(version, bytes(blob)), purpose=purpose, context_id=context)
    finally:
        fresh.close()


@pytest.mark.parametrize(
    ("settings", "beside"),
    [
        ({}, True),  # the demo's default: VAULT_HOME/root.key
        ({"root_key_file": "{home}/keys/root.key"}, True),  # a folder inside VAULT_HOME
        ({"root_key_file": "{db}/root.key", "database_url": "sqlite:///{db}/vault.db"}, True),
        ({"root_key_file": "{other}/root.key"}, False),
        ({"key_provider": "openbao"}, False),
    ],
)
def test_d18_a_root_key_beside_the_data_is_named(
    tmp_path: Path, settings: dict[str, str], beside: bool
) -> None:
    places = {"home": tmp_path / "home", "db": tmp_path / "db", "other": tmp_path / "elsewhere"}
    values = {k: v.format(**places) for k, v in settings.items()}
    assert Settings(home=places["home"], **values).root_key_beside_data is beside  # type: ignore[arg-type]


def test_d18_serve_warns_when_the_root_key_lies_beside_the_data(vault: Vault, tmp_path: Path) -> None:
    assert vault.settings.root_key_beside_data
    with running_server(vault, tmp_path) as server:
        pass
    assert "the root key file (VAULT_ROOT_KEY_FILE) lies beside the data" in server.stderr_text
