"""Moving every key between providers (resumable) and M-of-N recovery of the file provider's root key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.crypto.filekeys import read_root_key
from vault.crypto.keys import SecretKey, SubkeyPurpose
from vault.crypto.providers import open_provider, parse_target
from vault.crypto.recovery import recover_root, share_index, split_root
from vault.domain import AuditTag, Role
from vault.errors import InvalidInput
from vault.models import AuditEntry, CaseKey
from vault.runtime import key_provider_spec, open_vault
from vault.services import key_admin, key_recovery
from vault.services.documents import read_document
from vault.services.setup import initialise


def test_d18_migrate_file_to_pkcs11_to_openbao_to_file_resumes_and_keeps_everything_readable(
    settings: Settings, settings_for: Callable[[str], Settings], clock: FrozenClock, tmp_path: Path
) -> None:
    vault = initialise(settings, clock=clock)
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    docs = [upload(vault, ctx, new_case(vault, ctx, team), f"dossier {i}".encode()) for i in range(3)]
    pseudonym_key = vault.keys.subkey(SubkeyPurpose.PSEUDONYM).reveal()
    back_to_file = settings.model_copy(
        update={"key_file": tmp_path / "new-keys.json", "root_key_file": tmp_path / "new-root.key"}
    )
    for version, target_settings in enumerate(
        [settings_for("pkcs11"), settings_for("openbao"), back_to_file], start=2
    ):
        spec = key_provider_spec(target_settings)
        target = open_provider(spec, allow_empty=True)
        interrupted = key_admin.migrate_keys(vault, ctx, target, batch_size=1)
        assert next(interrupted).done == 1
        interrupted.close()  # stopped after the first committed batch
        target.close()
        with vault.db.session() as session:
            assert sorted(set(session.scalars(select(CaseKey.kek_version)))) == [version - 1, version]
        target = open_provider(spec, allow_empty=True)
        assert target.versions() == [version]
        rest = list(key_admin.migrate_keys(vault, ctx, target, batch_size=1))
        target.close()
        assert [p.done for p in rest] == [1, 2]
        vault.close()
        vault = open_vault(target_settings, clock=clock)
        assert vault.keys.provider.kind == spec.kind
        assert vault.keys.current_version() == version
        assert vault.keys.subkey(SubkeyPurpose.PSEUDONYM).reveal() == pseudonym_key
        for i, doc in enumerate(docs):
            assert b"".join(read_document(vault, ctx, doc).chunks) == f"dossier {i}".encode()
    try:
        status = key_admin.key_status(vault)
        assert [(e.version, e.provider, e.held) for e in status.epochs] == [
            (1, "file", False),
            (2, "pkcs11", False),
            (3, "openbao", False),
            (4, "file", True),
        ]
        assert all(e.retired_at is not None for e in status.epochs[:3])
    finally:
        vault.close()


def test_migrate_target_syntax_refuses_unknown_parts_and_secrets(settings: Settings) -> None:
    base = key_provider_spec(settings)
    assert parse_target("pkcs11:token=hsm1;label=kek", base).token_label == "hsm1"
    assert parse_target("file:/srv/keys/k.json", base).key_file == Path("/srv/keys/k.json")
    for bad in ["s3:bucket", "pkcs11:pin=1234", "openbao:token=abc", "file:path="]:
        with pytest.raises(InvalidInput):
            parse_target(bad, base)


def test_split_into_five_and_recover_from_any_three() -> None:
    secret = SecretKey(os.urandom(32))
    shares = split_root(secret, shares=5, threshold=3)
    assert len(shares.mnemonics) == 5
    assert "***" in repr(shares)
    assert [share_index(m) for m in shares.mnemonics] == [1, 2, 3, 4, 5]
    for picked in ([0, 2, 4], [1, 2, 3], [4, 3, 0]):
        recovered = recover_root([shares.mnemonics[i] for i in picked])
        assert recovered.root.reveal() == secret.reveal()
        assert recovered.indexes == sorted(i + 1 for i in picked)
    with pytest.raises(InvalidInput):
        recover_root(shares.mnemonics[:2])
    other = split_root(SecretKey(os.urandom(32)), shares=5, threshold=3)
    with pytest.raises(InvalidInput):
        recover_root([shares.mnemonics[0], shares.mnemonics[1], other.mnemonics[2]])
    words = shares.mnemonics[0].split()
    words[3] = "academic" if words[3] != "academic" else "acid"
    with pytest.raises(InvalidInput) as err:
        recover_root([" ".join(words), *shares.mnemonics[1:3]])
    # The refusal is one fixed sentence: it never echoes a word of the share (a substring check
    # on one word would be flaky, since "valid" is itself a word of the list).
    assert str(err.value) == "this is not a valid share (check the words)"
    assert " ".join(words[:2]) not in str(err.value)


def test_cli_split_prints_the_shares_once_and_audits_only_counts(
    settings: Settings, clock: FrozenClock
) -> None:
    initialise(settings, clock=clock).close()
    env = {**os.environ, "VAULT_HOME": str(settings.home), "VAULT_DATABASE_URL": settings.database_url or ""}
    cli = [sys.executable, "-c", "from vault.cli.main import main; main()"]
    result = subprocess.run(
        [*cli, "keys", "split", "--shares", "5", "--threshold", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    mnemonics = [line for line in result.stdout.splitlines() if len(line.split()) >= 20]
    assert len(mnemonics) == 5
    root = read_root_key(settings.resolved_root_key_file)
    assert recover_root(mnemonics[2:]).root.reveal() == root.reveal()
    vault = open_vault(settings, clock=clock)
    try:
        key_recovery.record_recovery(vault, Context.system(clock=clock), 1, [1, 3, 5])
        with vault.db.session() as session:
            entries = {
                e.tag: json.loads(e.details)
                for e in session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.tag.in_([AuditTag.SYSTEM_KEYS_SPLIT, AuditTag.SYSTEM_KEYS_RECOVERED])
                    )
                )
            }
            dump = " ".join(str(e.details) + str(e.object_id) for e in session.scalars(select(AuditEntry)))
    finally:
        vault.close()
    assert entries[AuditTag.SYSTEM_KEYS_SPLIT] == {"shares": 5, "threshold": 3}
    assert entries[AuditTag.SYSTEM_KEYS_RECOVERED] == {"share_indexes": "1,3,5"}
    for mnemonic in mnemonics:
        assert " ".join(mnemonic.split()[:3]) not in dump
