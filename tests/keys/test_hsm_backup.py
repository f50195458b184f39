"""M-of-N recovery of the HSM: PKCS#11 KEKs stay sensitive and non-extractable, but each one made after
`vault keys split` is backed up (sealed to the HSM backup key, whose private half exists only as
SLIP-39 shares); `vault keys recover` puts them on a new token. End to end through the real CLI for
both the file provider's root key and the HSM (D18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from pkcs11 import Attribute
from sqlalchemy import select

from tests.helpers import worker_with_document
from tests.keys.conftest import Hsm
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.pkcs11 import Pkcs11KeyProvider
from vault.crypto.recovery import (
    new_backup_key,
    new_kek_material,
    open_kek_backup,
    recover_backup_key,
    seal_kek_backup,
)
from vault.domain import AuditTag
from vault.errors import Integrity, InvalidInput
from vault.models import AuditEntry, KekBackup, KekBackupKey
from vault.runtime import open_vault
from vault.services import key_recovery, keyring
from vault.services.documents import read_document
from vault.services.setup import initialise

CLI = [sys.executable, "-c", "from vault.cli.main import main; main()"]


def test_backup_blob_opens_only_with_the_shares_key_and_its_own_version() -> None:
    backup = new_backup_key(shares=5, threshold=3)
    material = new_kek_material()
    blob = seal_kek_backup(backup.public_key, material, 7)
    assert bytes(material) not in blob
    assert "***" in repr(backup)
    assert backup.public_key.hex() not in repr(backup)
    recovered = recover_backup_key([backup.shares.mnemonics[i] for i in (4, 0, 2)])
    assert recovered.public_key == backup.public_key
    assert recovered.indexes == [1, 3, 5]
    assert open_kek_backup(recovered.private, blob, 7).reveal() == bytes(material)
    altered = bytearray(blob)
    altered[-1] ^= 1
    other = recover_backup_key(new_backup_key(shares=3, threshold=2).shares.mnemonics[:2])
    for key, candidate, version in [
        (recovered.private, blob, 8),  # AAD binds the KEK version
        (recovered.private, bytes(altered), 7),
        (other.private, blob, 7),
        (recovered.private, blob[:-1], 7),
    ]:
        with pytest.raises(Integrity):
            open_kek_backup(key, candidate, version)
    with pytest.raises(InvalidInput):
        recover_backup_key(backup.shares.mnemonics[:2])


def test_d18_backed_up_pkcs11_keks_stay_sensitive_and_backups_go_with_their_epoch(
    settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    vault = initialise(settings_for("pkcs11"), clock=clock)
    try:
        ctx, doc = worker_with_document(vault, b"verslag")
        with pytest.raises(InvalidInput):
            key_recovery.split_backup_key(vault, ctx, shares=3, threshold=4)
        made = key_recovery.split_backup_key(vault, ctx, shares=5, threshold=3)
        assert made.version == 2
        assert vault.keys.current_version() == 2
        assert [p.done for p in keyring.rewrap_all(vault, ctx)] == [1]
        third = keyring.rotate_kek(vault, ctx)  # every later epoch is backed up too
        list(keyring.rewrap_all(vault, ctx))
        provider = vault.keys.provider
        assert isinstance(provider, Pkcs11KeyProvider)
        for version in (made.version, third):
            kek = provider.key_object(version)
            assert kek[Attribute.EXTRACTABLE] is False
            assert kek[Attribute.SENSITIVE] is True
        recovered = recover_backup_key(made.shares.mnemonics[1:4])
        with vault.db.session() as session:
            backups = {b.version: bytes(b.blob) for b in session.scalars(select(KekBackup))}
            (key_row,) = session.scalars(select(KekBackupKey))
            assert key_row.public_key == recovered.public_key
            assert key_row.superseded_at is None
        assert sorted(backups) == [2, 3]  # epoch 1 was made by the token: not backed up
        for version, blob in backups.items():
            assert len(open_kek_backup(recovered.private, blob, version).reveal()) == 32
        keyring.remove_kek_version(vault, ctx, 2)
        with vault.db.session() as session:
            assert sorted(session.scalars(select(KekBackup.version))) == [3]  # shredding reaches backups
        assert b"".join(read_document(vault, ctx, doc).chunks) == b"verslag"
    finally:
        vault.close()


def test_split_is_refused_for_the_hsm_backup_on_another_provider(
    settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    vault = initialise(settings_for("file"), clock=clock)
    try:
        with pytest.raises(InvalidInput):
            key_recovery.split_backup_key(vault, Context.system(clock=clock), shares=5, threshold=3)
    finally:
        vault.close()


# -- end to end through the CLI ---------------------------------------------------------------------


def _env(settings: Settings, hsm: Hsm | None = None, token_label: str | None = None) -> dict[str, str]:
    env = {**os.environ, "VAULT_HOME": str(settings.home), "VAULT_DATABASE_URL": settings.database_url or ""}
    if hsm is not None:
        env |= {
            "VAULT_KEY_PROVIDER": "pkcs11",
            "VAULT_PKCS11_MODULE": hsm.module,
            "VAULT_PKCS11_TOKEN_LABEL": token_label or hsm.token_label,
            "VAULT_PKCS11_PIN": hsm.pin,
            "VAULT_PKCS11_KEY_LABEL": settings.pkcs11_key_label,
            "SOFTHSM2_CONF": hsm.conf,
        }
    return env


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def _split(env: dict[str, str]) -> list[str]:
    result = _run(["keys", "split", "--shares", "5", "--threshold", "3"], env)
    assert result.returncode == 0, result.stderr
    mnemonics = [line for line in result.stdout.splitlines() if len(line.split()) >= 20]
    assert len(mnemonics) == 5
    return mnemonics


def _recovery_audit(settings: Settings, clock: FrozenClock) -> tuple[AuditEntry, str]:
    vault = open_vault(settings, clock=clock)
    try:
        with vault.db.session() as session:
            entry = session.scalars(
                select(AuditEntry).where(AuditEntry.tag == AuditTag.SYSTEM_KEYS_RECOVERED)
            ).one()
            session.expunge(entry)
            dump = " ".join(
                f"{e.object_type} {e.object_id} {e.details}" for e in session.scalars(select(AuditEntry))
            )
    finally:
        vault.close()
    return entry, dump


def _assert_no_share_words(mnemonics: list[str], *texts: str) -> None:
    for mnemonic in mnemonics:
        words = mnemonic.split()
        for text in texts:
            assert " ".join(words[:3]) not in text
            assert " ".join(words[-4:]) not in text


def test_d18_cli_recovers_a_lost_root_key_from_three_of_five_shares_on_stdin(
    settings: Settings, clock: FrozenClock
) -> None:
    vault = initialise(settings, clock=clock)
    ctx, doc = worker_with_document(vault, b"gespreksverslag")
    vault.close()
    env = _env(settings)
    mnemonics = _split(env)
    settings.resolved_root_key_file.unlink()  # lost
    assert _run(["keys", "status"], env).returncode != 0
    too_few = _run(["keys", "recover"], env, stdin="\n".join(mnemonics[:2]) + "\n")
    assert too_few.returncode != 0
    assert not settings.resolved_root_key_file.exists()
    result = _run(["keys", "recover"], env, stdin=f"{mnemonics[4]}\n\n{mnemonics[0]}\n{mnemonics[2]}\n")
    assert result.returncode == 0, result.stderr
    assert "from shares 1, 3, 5" in result.stdout
    vault = open_vault(settings, clock=clock)
    try:
        assert b"".join(read_document(vault, ctx, doc).chunks) == b"gespreksverslag"
    finally:
        vault.close()
    entry, dump = _recovery_audit(settings, clock)
    assert entry.object_type == "root_key"
    assert json.loads(entry.details) == {"share_indexes": "1,3,5"}
    _assert_no_share_words(mnemonics, dump, result.stdout, result.stderr, too_few.stdout, too_few.stderr)


def test_d18_cli_recovers_the_hsm_keys_onto_a_fresh_token_from_three_of_five_shares(
    settings_for: Callable[[str], Settings], hsm: Hsm, clock: FrozenClock
) -> None:
    settings = settings_for("pkcs11")
    vault = initialise(settings, clock=clock)
    ctx, doc = worker_with_document(vault, b"zorgmelding")
    vault.close()
    env = _env(settings, hsm)
    mnemonics = _split(env)
    shares = f"{mnemonics[1]}\n{mnemonics[3]}\n{mnemonics[4]}\n"
    refused = _run(["keys", "recover"], env, stdin=shares)  # the old token still holds the KEKs
    assert refused.returncode != 0
    assert "empty token" in refused.stderr
    # The HSM is lost: a new, empty token takes its place (made with the others: see conftest).
    fresh = hsm.spare_label
    env = _env(settings, hsm, token_label=fresh)
    assert _run(["keys", "status"], env).returncode != 0  # the vault does not open on an empty token
    result = _run(["keys", "recover"], env, stdin=shares)
    assert result.returncode == 0, result.stderr
    assert f"KEK epochs 2 imported into token {fresh} from shares 2, 4, 5" in result.stdout
    # Epoch 1 was made by the old token (not backed up) but no key uses it any more.
    assert "had no backup" in result.stderr
    reopened = settings.model_copy(update={"pkcs11_token_label": fresh})
    vault = open_vault(reopened, clock=clock)
    try:
        assert vault.keys.provider.describe() == f"pkcs11:token={fresh};label={settings.pkcs11_key_label}"
        assert vault.keys.versions() == [2]
        assert b"".join(read_document(vault, ctx, doc).chunks) == b"zorgmelding"
        kek = vault.keys.provider.key_object(2)  # type: ignore[attr-defined]
        assert kek[Attribute.EXTRACTABLE] is False
        assert kek[Attribute.SENSITIVE] is True
    finally:
        vault.close()
    entry, dump = _recovery_audit(reopened, clock)
    assert entry.object_type == "hsm_backup_key"
    assert json.loads(entry.details) == {"share_indexes": "2,4,5", "restored_epochs": 1}
    _assert_no_share_words(mnemonics, dump, result.stdout, result.stderr, refused.stderr)
