"""Key rotation, crash safety of uploads, blob checks, and the canary scan (D18)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import blob_bytes, ctx_for, database_bytes, make_team, make_user, new_case, upload
from vault.context import Context
from vault.domain import CaseKind, Category, Role
from vault.models import AuditEntry, CaseKey, DocumentVersion
from vault.runtime import Vault, open_vault
from vault.services import key_admin, keyring
from vault.services.blobs import sweep_orphans
from vault.services.cases import open_case
from vault.services.documents import read_document

VAULT = [sys.executable, "-m", "vault.cli.main"]


def _env(vault: Vault) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env["VAULT_HOME"] = str(vault.settings.home)
    env["VAULT_DATABASE_URL"] = vault.settings.url.render_as_string(hide_password=False)
    return env


def _blob_hashes(vault: Vault) -> dict[str, str]:
    return {
        blob_id: hashlib.sha256(b"".join(vault.blobs.iter_chunks(blob_id))).hexdigest()
        for blob_id, _ in vault.blobs.list_blobs()
    }


@pytest.fixture
def staff(vault: Vault) -> tuple[str, Context]:
    team = make_team(vault)
    user = make_user(vault, Role.MEDEWERKER, teams=[team])
    return team, ctx_for(vault, user, Role.MEDEWERKER)


def test_d18_rotation_rewraps_every_key_and_leaves_ciphertext_identical(
    vault: Vault, staff: tuple[str, Context]
) -> None:
    team, ctx = staff
    docs = [upload(vault, ctx, new_case(vault, ctx, team), f"dossier {i}".encode() * 5000) for i in range(5)]
    before = _blob_hashes(vault)
    old = vault.keys.current_version()
    new = keyring.rotate_kek(vault, ctx)
    progress = list(keyring.rewrap_all(vault, ctx, batch_size=2))
    assert new == old + 1
    assert progress[-1].done == 5
    assert key_admin.key_status(vault).keys_per_version == {old: 0, new: 5}
    assert _blob_hashes(vault) == before
    for i, doc in enumerate(docs):
        assert b"".join(read_document(vault, ctx, doc).chunks) == f"dossier {i}".encode() * 5000
    keyring.remove_kek_version(vault, ctx, old)
    assert vault.keys.versions() == [new]
    assert b"".join(read_document(vault, ctx, docs[0]).chunks).startswith(b"dossier 0")


def test_removing_a_kek_version_in_use_is_refused(vault: Vault, staff: tuple[str, Context]) -> None:
    from vault.errors import Conflict

    team, ctx = staff
    new_case(vault, ctx, team)
    old = vault.keys.current_version()
    keyring.rotate_kek(vault, ctx)
    # One case key plus the six purpose subkeys, all wrapped under the old epoch.
    with pytest.raises(Conflict, match="still wraps 7"):
        keyring.remove_kek_version(vault, ctx, old)
    with pytest.raises(Conflict):
        keyring.remove_kek_version(vault, ctx, vault.keys.current_version())


def test_killed_rotation_finishes_when_rerun(vault: Vault, staff: tuple[str, Context]) -> None:
    team, ctx = staff
    with vault.db.session() as session:
        case_ids = [open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team).id for _ in range(400)]
    doc = upload(vault, ctx, case_ids[-1], b"blijft leesbaar")
    proc = subprocess.Popen(
        [*VAULT, "keys", "rotate", "--batch-size", "1"], env=_env(vault), stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("rewrapped 5/"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with vault.db.session() as session:
        versions = list(session.scalars(select(CaseKey.kek_version)))
    current = max(versions)
    assert 0 < versions.count(current) < len(versions), "the kill should land in the middle of the rotation"
    rerun = subprocess.run(
        [*VAULT, "keys", "rotate"], env=_env(vault), capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stderr
    with vault.db.session() as session:
        assert set(session.scalars(select(CaseKey.kek_version))) == {current}
        assert len(list(session.scalars(select(CaseKey.case_id)))) == 400
    reopened = open_vault(vault.settings, clock=vault.clock)
    try:
        assert b"".join(read_document(reopened, ctx, doc).chunks) == b"blijft leesbaar"
    finally:
        reopened.close()


_SLOW_UPLOAD = textwrap.dedent(
    """
    import sys, time
    from vault.config import Settings
    from vault.runtime import open_vault
    from vault.context import Context
    from vault.domain import Category
    from vault.services.documents import upload_document

    settings = Settings(home=sys.argv[1], database_url=sys.argv[2])
    vault = open_vault(settings)
    ctx = Context(actor_id=sys.argv[4], role="medewerker", access_point="test", second_factor_verified=True)

    def chunks():
        for i in range(8):
            yield b"x" * 65536
        print("STREAMING", flush=True)
        time.sleep(600)
        yield b"never"

    upload_document(vault, ctx, case_id=sys.argv[3], category=Category.REPORT, title="t", filename="f",
                    content_type="text/plain", chunks=chunks())
    """
)


def test_killed_upload_leaves_no_visible_version_and_sweep_removes_the_orphan(
    vault: Vault, staff: tuple[str, Context], tmp_path: Path
) -> None:
    team, ctx = staff
    case_id = new_case(vault, ctx, team)
    script = tmp_path / "slow_upload.py"
    script.write_text(_SLOW_UPLOAD)
    env = _env(vault)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            env["VAULT_HOME"],
            env["VAULT_DATABASE_URL"],
            case_id,
            ctx.actor_id or "",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "STREAMING"
    # While the upload streams, the database is not locked: another upload completes meanwhile.
    upload(vault, ctx, case_id, b"ondertussen")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with vault.db.session() as session:
        assert len(session.scalars(select(DocumentVersion)).all()) == 1
    leftovers = [p for p in vault.settings.blob_dir.rglob("*") if p.is_file()]
    assert len(leftovers) == 2  # the committed blob and the killed upload's temporary file
    assert sweep_orphans(vault, grace_seconds=0) == 1
    remaining = [p for p in vault.settings.blob_dir.rglob("*") if p.is_file()]
    assert len(remaining) == 1


def test_orphan_blob_is_swept_only_after_the_grace_period(vault: Vault, staff: tuple[str, Context]) -> None:
    team, ctx = staff
    upload(vault, ctx, new_case(vault, ctx, team), b"bewaard")
    vault.blobs.put("ab" * 16, [b"orphan ciphertext"])
    assert sweep_orphans(vault, grace_seconds=3600) == 0
    assert sweep_orphans(vault, grace_seconds=3600, now=time.time() + 7200) == 1
    assert len(list(vault.blobs.list_blobs())) == 1


def test_blobs_check_reports_altered_and_missing_blobs(vault: Vault, staff: tuple[str, Context]) -> None:
    team, ctx = staff
    case_id = new_case(vault, ctx, team)
    upload(vault, ctx, case_id, b"een")
    upload(vault, ctx, case_id, b"twee")
    ok = subprocess.run(
        [*VAULT, "blobs", "check"], env=_env(vault), capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    with vault.db.session() as session:
        first, second = session.scalars(select(DocumentVersion).order_by(DocumentVersion.created_at)).all()
    altered = next(vault.settings.blob_dir.rglob(first.blob_id))
    data = bytearray(altered.read_bytes())
    data[-1] ^= 0xFF
    altered.write_bytes(bytes(data))
    next(vault.settings.blob_dir.rglob(second.blob_id)).unlink()
    bad = subprocess.run(
        [*VAULT, "blobs", "check"], env=_env(vault), capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1
    assert f"hash mismatch: version {first.id}" in bad.stdout
    assert f"missing: version {second.id}" in bad.stdout
    # D16: each check is audited under the operator's account with its counts, the failed one too
    with vault.db.session() as session:
        checks = session.scalars(select(AuditEntry).where(AuditEntry.tag == "admin:blobs:checked")).all()
    assert [e.actor_id.startswith("os:") for e in checks] == [True, True]
    assert [json.loads(e.details)["problems"] for e in checks] == [0, 2]


CANARY_TITLE = "Kanarie-Titel-Jansen-7781"
CANARY_FILE = "kanarie-verslag-bsn-123456782.pdf"
CANARY_TEXT = b"Kanarie inhoud: Pietje Puk woont op de Kanariestraat 12"


def test_d18_canary_never_appears_in_the_database_or_blob_files(
    vault: Vault, staff: tuple[str, Context]
) -> None:
    team, ctx = staff
    case_id = new_case(vault, ctx, team)
    from vault.services.documents import upload_document

    upload_document(
        vault,
        ctx,
        case_id=case_id,
        category=Category.REPORT,
        title=CANARY_TITLE,
        filename=CANARY_FILE,
        content_type="application/pdf",
        chunks=[CANARY_TEXT * 100],
    )
    raw, blobs = database_bytes(vault), blob_bytes(vault)
    assert len(raw) > 1000
    assert len(blobs) > len(CANARY_TEXT) * 100
    for canary in (CANARY_TITLE.encode(), CANARY_FILE.encode(), CANARY_TEXT, b"123456782", b"Pietje Puk"):
        assert canary not in raw
        assert canary not in blobs
        assert canary.decode().encode("utf-16-le") not in raw
