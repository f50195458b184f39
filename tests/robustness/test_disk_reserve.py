"""Review finding 16: a full disk must not make the vault unreadable.

VAULT_HOME (database and blobs, on SQLite) is a real 64 MiB tmpfs with an 8 MiB reserve: uploads fill
it until they are refused with 507, and then a read and a login still work and are audited. Needs root
(``mount``), like the other fault tests; without it the tests skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from structlog.testing import capture_logs

from tests.conftest import Backend
from tests.helpers import API_PASSWORD, ApiUser, create_account
from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import cli, doc_headers, put_doc, web_login
from vault.config import Settings
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.setup import initialise

pytestmark = pytest.mark.slow

SIZE_MIB = 64
RESERVE_MIB = 8
MIB = 1 << 20


def _mount_tmpfs(path: Path, size_mib: int) -> None:
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"mount tmpfs refused by the kernel: {result.stderr.strip()}")


@pytest.fixture
def vault(settings: Settings, backend: Backend, tmp_path: Path, clock: FrozenClock) -> Iterator[Vault]:
    """The test's vault, its VAULT_HOME (with the SQLite database) on a small real filesystem."""
    home = tmp_path / "small-home"
    home.mkdir()
    _mount_tmpfs(home, SIZE_MIB)
    try:
        update: dict[str, Any] = {"home": home, "disk_reserve_mib": RESERVE_MIB}
        if backend.name == "sqlite":
            database = home / "vault.db"
            shutil.copyfile(str(settings.url.database), database)  # the migrated copy of this test
            update["database_url"] = f"sqlite:///{database}"
        small = initialise(settings.model_copy(update=update), clock=clock)
        try:
            yield small
        finally:
            small.close()
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True, check=False)


def _free(vault: Vault) -> int:
    stats = os.statvfs(vault.settings.blob_dir)
    return stats.f_bavail * stats.f_frsize


def _upload(client: TestClient, user: ApiUser, case_id: str, size: int) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "report"},
        content=os.urandom(size),
        headers=doc_headers(user),
    )
    return response


def _temp_files(vault: Vault) -> list[Path]:
    return list(vault.settings.blob_dir.rglob(".tmp-*"))


def _fill_until_refused(client: TestClient, user: ApiUser, case_id: str) -> httpx.Response:
    """Upload until refused, then smaller and smaller pieces: the disk is as full as uploads make it."""
    refused: httpx.Response | None = None
    for size in (4 * MIB, MIB, 256 * 1024, 64 * 1024, 16 * 1024):
        for _ in range(SIZE_MIB * MIB // size):
            r = _upload(client, user, case_id, size)
            if r.status_code != 201:
                refused = r
                break
        else:
            raise AssertionError(f"uploads of {size} bytes were never refused")
    assert refused is not None
    return refused


def _tags_after(vault: Vault, seq: int) -> list[tuple[str, str | None]]:
    with vault.db.session() as session:
        rows = session.execute(
            select(AuditEntry.tag, AuditEntry.object_id).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)
        ).all()
        return [(tag, object_id) for tag, object_id in rows]


def _last_seq(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0)


def test_uploads_stop_at_the_reserve_and_reads_and_logins_go_on_audited(
    vault: Vault, client: TestClient, worker: ApiUser, case_id: str, clock: FrozenClock
) -> None:
    kept = put_doc(client, worker, case_id, b"verslag " * 1000)
    with capture_logs() as logs:
        refused = _fill_until_refused(client, worker, case_id)
    assert refused.status_code == 507, refused.text
    assert refused.json()["error"] == "insufficient_storage"
    assert "nothing was stored" in refused.json()["detail"]
    assert any(line["event"] == "disk_full" and line["log_level"] == "error" for line in logs)
    assert _temp_files(vault) == []  # the refused upload left no partial blob
    assert _free(vault) >= (RESERVE_MIB - 1) * MIB  # the reserve is (nearly all) still there
    # The disk is at the reserve: a read and a login still work, and their audit entries are written.
    before = _last_seq(vault)
    read = client.get(f"/api/v1/documents/{kept}/content", headers=worker.headers)
    assert read.status_code == 200
    assert read.content == b"verslag " * 1000
    username, _, _, secret = create_account(vault, Role.MEDEWERKER, team=TEAM)
    login = client.post("/api/v1/auth/login", json={"username": username, "password": API_PASSWORD})
    assert login.status_code == 200, login.text
    verified = client.post(
        "/api/v1/auth/totp/verify",
        headers={"Authorization": f"Bearer {login.json()['token']}"},
        json={"code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert verified.status_code == 200, verified.text
    tags = [tag for tag, _ in _tags_after(vault, before)]
    assert (str(AuditTag.DOSSIER_DOCUMENT_READ), kept) in _tags_after(vault, before)
    assert str(AuditTag.AUTH_LOGIN_OK) in tags
    assert str(AuditTag.AUTH_TOTP_OK) in tags
    verify = cli(vault, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_an_upload_that_would_cross_the_reserve_is_stopped_and_its_partial_blob_removed(
    vault: Vault, client: TestClient, worker: ApiUser, case_id: str
) -> None:
    free_before = _free(vault)
    headroom = free_before - RESERVE_MIB * MIB
    assert headroom > 16 * MIB
    r = _upload(client, worker, case_id, headroom + 4 * MIB)  # starts fine, would end in the reserve
    assert r.status_code == 507, r.text
    assert _temp_files(vault) == []
    assert _free(vault) >= free_before - MIB  # the partial blob's space is given back
    # Below the headroom an upload still succeeds.
    put_doc(client, worker, case_id, os.urandom(2 * MIB))


def test_the_web_upload_form_says_in_dutch_that_the_disk_is_nearly_full(
    vault: Vault, client: TestClient, worker: ApiUser, case_id: str, clock: FrozenClock
) -> None:
    assert _fill_until_refused(client, worker, case_id).status_code == 507
    user = web_login(vault, clock, team=TEAM)
    own_case = open_team_case(vault, user.user_id)
    r = user.client.post(
        f"/zaken/{own_case}/documenten",
        data={"csrf_token": user.csrf, "category": "report", "title": "Verslag"},
        files={"file": ("verslag.txt", os.urandom(6 * MIB), "text/plain")},  # more than is left
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert r.status_code == 507
    assert "Opslag bijna vol" in r.text
    assert "beheerder" in r.text
    assert _temp_files(vault) == []


def test_a_crashed_uploads_temp_file_is_swept_when_the_vault_opens(vault: Vault) -> None:
    blob_id = uuid.uuid4().hex
    directory = vault.settings.blob_dir / blob_id[:2] / blob_id[2:4]
    directory.mkdir(parents=True)
    leftover = directory / f".tmp-{blob_id}-{uuid.uuid4().hex[:16]}"
    leftover.write_bytes(os.urandom(4 * MIB))  # what a killed server leaves behind
    result = cli(vault, "audit", "verify")  # any command opens the vault
    assert result.returncode == 0, result.stderr
    assert not leftover.exists()


def test_a_public_report_whose_attachment_meets_the_reserve_is_still_confirmed(
    vault: Vault, client: TestClient, worker: ApiUser, case_id: str
) -> None:
    """The report is committed before its attachment; an attachment refused at the reserve must not turn
    that into an error page that makes the reporter think nothing arrived (or send it twice)."""
    from vault.services.pow import solve

    headroom = _free(vault) - RESERVE_MIB * MIB
    put_doc(client, worker, case_id, os.urandom(headroom - 2 * MIB))  # 2 MiB left above the reserve
    challenge = client.get("/formulier/uitdaging").json()
    fields = {
        "uitdaging": challenge["challenge"],
        "teller": solve(challenge["challenge"], challenge["bits"]),
        "website": "",
        "zorgen": "Ik maak mij zorgen over de buren.",
    }
    r = client.post(
        "/advies/burger",
        data=fields,
        files={"bijlage": ("brief.pdf", os.urandom(6 * MIB), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ok"] is True
    assert body["attachment"] is False
    assert body["reference"].startswith("VT-")
    assert "ontvangen" in body["message"]
    assert _temp_files(vault) == []
