"""Faults: the database lost mid-upload, the audit log refusing appends, a full or read-only VAULT_HOME.

Real faults only: on PostgreSQL the server's backends are terminated from a second connection (and
new connections refused until the fault is lifted); on SQLite the database files become immutable
(writes on the open descriptors fail with EPERM); the disk is a real 1 MiB tmpfs; read-only is a
read-only bind mount. Every test ends with the audit chain verified by the CLI.

The database and audit-log faults run over the local blob store and over S3 (a real SeaweedFS,
tests/s3.py, via ``blob_backend``). The full or read-only VAULT_HOME and the tmpfs disk-full tests are
about the local disk and run over the local store only; their object-store counterparts (the store
killed mid-upload, mid-download, down at start) are in test_s3_faults.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from tests.conftest import Backend
from tests.helpers import ApiUser
from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import (
    VAULT_CLI,
    audit_count,
    cli,
    doc_headers,
    live_user,
    put_doc,
    running_server,
    web_login,
)
from tests.s3 import incomplete_uploads, settings_for_backend
from vault.config import Settings
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, Role
from vault.models import AuditEntry, DocumentVersion, Grant
from vault.runtime import Vault
from vault.services.blobs import sweep_orphans
from vault.services.setup import initialise
from vault.storage.blobs import LocalBlobStore

pytestmark = pytest.mark.slow

SEGMENT = 64 * 1024
MiB = 1 << 20


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Over S3 for the tests that take ``blob_backend``; the local store for the disk tests."""
    if "blob_backend" in request.fixturenames:
        backend: str = request.getfixturevalue("blob_backend")
        return settings_for_backend(settings, backend, request)
    return settings


def _versions(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DocumentVersion)) or 0)


def _blob_files(vault: Vault) -> list[str]:
    """What the blob store holds: files (local), or objects and incomplete multipart uploads (S3)."""
    if vault.settings.blob_store_url is None:
        return sorted(str(p) for p in vault.settings.blob_dir.rglob("*") if p.is_file())
    objects = [f"object:{blob_id}" for blob_id, _ in vault.blobs.list_blobs()]
    return sorted(objects + [f"upload:{key}" for key in incomplete_uploads(vault.blobs)])


# --- the database lost in the middle of an upload ----------------------------------------------------


@contextlib.contextmanager
def _database_fault(vault: Vault, backend: Backend) -> Iterator[None]:
    """Take the database away from the server: terminated (PostgreSQL) or unwritable (SQLite)."""
    if backend.name == "postgresql":
        assert backend.admin_url
        name = vault.settings.url.database
        admin = create_engine(backend.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).scalar()
                assert killed, "the server held no connection to terminate"
            yield
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
        return
    db_file = Path(str(vault.settings.url.database))
    files = [p for p in (db_file, db_file.with_name(db_file.name + "-wal")) if p.exists()]
    probe = subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"chattr +i is refused here ({probe.stderr.strip()}): no way to fail SQLite writes")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)


def test_database_lost_mid_upload_no_partial_version_clear_error_and_retry_succeeds(
    vault: Vault, backend: Backend, tmp_path: Path, blob_backend: str
) -> None:
    with running_server(vault, tmp_path) as server:
        worker = live_user(server.base_url, vault, Role.MEDEWERKER, team=TEAM)
        case_id = open_team_case(vault, worker.user_id)
        before = audit_count(vault)
        # Local: 1 MiB in 16 segments. S3: 24 MiB, so that the blob is a multipart upload in flight
        # (a blob under one 8 MiB part is a single request at the end of the stream).
        chunk, count, at = (SEGMENT, 16, 8) if blob_backend == "local" else (MiB, 24, 20)
        data = bytes(range(256)) * (count * chunk // 256)
        faulted = contextlib.ExitStack()

        def body() -> Iterator[bytes]:
            for i in range(count):
                if i == at:
                    # The upload was admitted and its blob is being written: now the database goes.
                    deadline = time.monotonic() + 20
                    while not _blob_files(vault) and time.monotonic() < deadline:
                        time.sleep(0.02)
                    assert _blob_files(vault), "the server never started writing the blob"
                    faulted.enter_context(_database_fault(vault, backend))
                yield data[i * chunk : (i + 1) * chunk]

        with faulted, httpx.Client(base_url=server.base_url, timeout=60) as http:
            r = http.post(
                f"/api/v1/cases/{case_id}/documents",
                params={"category": "report"},
                content=body(),
                headers=doc_headers(worker),
            )
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "unavailable"
            assert "nothing was stored" in r.json()["detail"]
        # The fault is lifted. Nothing of the failed upload is visible. Its blob is deleted at once only
        # when the server can tell that no row committed; with the database gone it cannot (D18, S2:
        # the row may have committed), so the blob is left to the orphan sweep, which removes it.
        assert _versions(vault) == 0
        sweep_orphans(vault, grace_seconds=0)
        assert _blob_files(vault) == [], "the failed upload's blob was removed"
        with vault.db.session() as session:
            tags = set(session.scalars(select(AuditEntry.tag).where(AuditEntry.seq > 0)))
        assert str(AuditTag.DOSSIER_DOCUMENT_CREATED) not in tags
        # The same server recovers (new connections) and the retry succeeds.
        with httpx.Client(base_url=server.base_url, timeout=60) as http:
            deadline = time.monotonic() + 60  # bounded; a loaded machine may need a while
            while http.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            while True:
                r = http.post(
                    f"/api/v1/cases/{case_id}/documents",
                    params={"category": "report"},
                    content=data,
                    headers=doc_headers(worker),
                )
                if r.status_code != 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert r.status_code == 201, r.text
            doc = r.json()["document_id"]
            back = http.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
            assert back.status_code == 200
            assert back.content == data
    assert _versions(vault) == 1
    assert len(_blob_files(vault)) == 1
    assert audit_count(vault) > before
    verify = cli(vault, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


# --- the audit log refusing appends: no content, nothing half-recorded -----------------------------


def _block_audit(vault: Vault) -> None:
    with vault.db.engine.begin() as conn:
        if vault.db.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'x'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER block_audit BEFORE INSERT ON audit_entries "
                "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
            )


def _unblock_audit(vault: Vault) -> None:
    with vault.db.engine.begin() as conn:
        if vault.db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER block_audit")
        else:
            conn.exec_driver_sql("DROP TRIGGER block_audit ON audit_entries")


CANARY = b"Kanarie-inhoud-7f3a dossiertekst"


def _case_get_routes(client: TestClient) -> list[str]:
    """Every GET operation of the schema whose only path parameter is the case id."""
    paths = client.get("/openapi.json").json()["paths"]
    return sorted(
        path for path, item in paths.items() if "get" in item and path.count("{") == 1 and "{case_id}" in path
    )


def test_fail_closed_when_the_audit_log_refuses_every_content_route_answers_503(
    client: TestClient, vault: Vault, worker: ApiUser, local_team: ApiUser, case_id: str, blob_backend: str
) -> None:
    doc = put_doc(client, worker, case_id, CANARY, Category.SAFETY_CONDITIONS, title="Kanarie titel")
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": local_team.org_id,
            "purpose": "warme overdracht",
            "legal_basis": "wmo-4.1.1-2-help",
            "contact_name": "Marieke de Vries",  # D23
            "contact_phone": "030 123 45 67",
            "categories": ["safety_conditions"],
        },
    )
    assert r.status_code == 201, r.text
    with vault.db.session() as session:
        grants_before = int(session.scalar(select(func.count()).select_from(Grant)) or 0)
    entries_before = audit_count(vault)
    versions_before = _versions(vault)
    blobs_before = _blob_files(vault)
    case_routes = _case_get_routes(client)
    assert case_routes, "the schema has case routes"
    _block_audit(vault)
    try:
        answers: dict[str, httpx.Response] = {
            "api download": client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers),
            "partner download": client.get(f"/api/v1/documents/{doc}/content", headers=local_team.headers),
            "api upload": client.post(
                f"/api/v1/cases/{case_id}/documents",
                params={"category": "report"},
                content=CANARY * 1000,
                headers=doc_headers(worker),
            ),
            "disclosure": client.post(
                f"/api/v1/cases/{case_id}/disclosures",
                headers=worker.headers,
                json={
                    "org_id": local_team.org_id,
                    "purpose": "overdracht",
                    "legal_basis": "wmo-4.1.1-2-help",
                    "contact_name": "Marieke de Vries",  # D23
                    "contact_phone": "030 123 45 67",
                    "categories": ["safety_conditions"],
                },
            ),
        }
        for path in case_routes:
            answers[f"GET {path}"] = client.get(path.replace("{case_id}", case_id), headers=worker.headers)
    finally:
        _unblock_audit(vault)
    for what, answer in answers.items():
        assert CANARY not in answer.content, what
        assert b"Kanarie titel" not in answer.content, what
        if answer.status_code != 503:
            # Only a route that serves nothing of the dossier (a grant list, "no certificate") may
            # answer without an entry; every content route must refuse.
            assert what.startswith("GET "), (what, answer.text)
            assert what != "GET /api/v1/cases/{case_id}", answer.text
            continue
        assert answer.status_code == 503, (what, answer.status_code, answer.text)
        assert answer.json()["error"] == "unavailable", what
    # Nothing half-recorded: no entry, no version, no blob, no grant from the refused requests.
    assert audit_count(vault) == entries_before
    assert _versions(vault) == versions_before
    assert _blob_files(vault) == blobs_before
    with vault.db.session() as session:
        assert int(session.scalar(select(func.count()).select_from(Grant)) or 0) == grants_before
    # With the log back, the same download is served (and audited).
    r = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    assert r.status_code == 200
    assert r.content == CANARY


def test_fail_closed_web_download_when_the_audit_log_refuses(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, case_id: str, blob_backend: str
) -> None:
    doc = put_doc(client, worker, case_id, CANARY)
    web = web_login(vault, clock, team=TEAM)
    assert web.client.get(f"/documenten/{doc}/inhoud").content == CANARY
    before = audit_count(vault)
    _block_audit(vault)
    try:
        r = web.client.get(f"/documenten/{doc}/inhoud")
    finally:
        _unblock_audit(vault)
    assert r.status_code == 503
    assert CANARY not in r.content
    assert audit_count(vault) == before


# --- VAULT_HOME full or read-only at start: a clear refusal --------------------------------------------


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} refused by the kernel: {result.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def _serve_refusal(settings: Settings, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**vault_env_for(settings), "VAULT_HOME": str(home)}
    return subprocess.run(
        [*VAULT_CLI, "serve", "--host", "127.0.0.1", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def vault_env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env["VAULT_DATABASE_URL"] = settings.url.render_as_string(hide_password=False)
    env["VAULT_PASSWORD_HASHING"] = "fast_insecure_for_tests"
    return env


def _fill(path: Path) -> None:
    """Write until the filesystem is full (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


def test_full_vault_home_at_start_is_refused_with_one_clear_line(settings: Settings, tmp_path: Path) -> None:
    home = tmp_path / "full-home"
    home.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(home))
    try:
        ready = initialise(settings.model_copy(update={"home": home}))
        ready.close()
        _fill(home / "filler")
        result = _serve_refusal(settings, home)
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: VAULT_HOME:"), lines
        assert "No space left on device" in lines[0]
        assert "Traceback" not in result.stderr
    finally:
        _umount(home)


def test_read_only_vault_home_at_start_is_refused_with_one_clear_line(
    settings: Settings, tmp_path: Path
) -> None:
    home = tmp_path / "ro-home"
    home.mkdir()
    ready = initialise(settings.model_copy(update={"home": home}))
    ready.close()
    _mount("--bind", str(home), str(home))
    try:
        _mount("-o", "remount,bind,ro", str(home))
        result = _serve_refusal(settings, home)
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: VAULT_HOME:"), lines
        assert "not writable" in lines[0]
        assert "Traceback" not in result.stderr
    finally:
        _umount(home)


def test_disk_full_during_an_upload_is_a_clear_507_and_nothing_is_left(
    vault: Vault, client: TestClient, worker: ApiUser, case_id: str, tmp_path: Path
) -> None:
    blob_dir = vault.settings.blob_dir
    _mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(blob_dir))
    # A store without the disk reserve (tests/robustness/test_disk_reserve.py has the reserve): the
    # write itself meets ENOSPC.
    vault.blobs = LocalBlobStore(blob_dir)
    try:
        before = audit_count(vault)
        r = client.post(
            f"/api/v1/cases/{case_id}/documents",
            params={"category": "report"},
            content=b"x" * (3 << 20),
            headers=doc_headers(worker),
        )
        assert r.status_code == 507, r.text
        assert r.json()["error"] == "insufficient_storage"
        assert "nothing was stored" in r.json()["detail"]
        assert _versions(vault) == 0
        assert [p for p in blob_dir.rglob("*") if p.is_file()] == []
        assert audit_count(vault) == before
        # Space enough again: the retry succeeds.
        doc = put_doc(client, worker, case_id, b"y" * 100_000)
        assert (
            client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers).content == b"y" * 100_000
        )
    finally:
        _umount(blob_dir)
