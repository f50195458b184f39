"""Two vault nodes (`vault serve`, real uvicorn) on one PostgreSQL and one S3 bucket (SeaweedFS).

Different ports and VAULT_HOMEs, the same keys. A document stored through one is read through the
other; a session made on one works on the other; the audit log stays one chain; a policy reload
reaches both; killing one node mid-upload leaves nothing half-visible on the other.
Runs only when VAULT_TEST_DATABASE_URL is PostgreSQL (SQLite is one file on one machine).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import PG_URL
from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import LiveServer, cli, doc_headers, live_user, put_doc, start_server
from tests.s3 import SeaweedS3, incomplete_uploads, s3_settings
from vault.config import Settings
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, DocumentVersion
from vault.runtime import Vault

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="several nodes share one PostgreSQL: set VAULT_TEST_DATABASE_URL"),
]

MiB = 1 << 20


@pytest.fixture
def settings(settings: Settings, seaweedfs: SeaweedS3) -> Settings:
    return s3_settings(settings, seaweedfs)


def second_home(vault: Vault, tmp_path: Path) -> Vault:
    """Node B's view: its own VAULT_HOME holding a copy of the key files, everything else shared."""
    home = tmp_path / "home-b"
    home.mkdir(mode=0o700)
    for source in (vault.settings.resolved_key_file, vault.settings.resolved_root_key_file):
        if source.exists():
            target = home / source.name
            shutil.copyfile(source, target)
            os.chmod(target, 0o600)
    return replace(vault, settings=vault.settings.model_copy(update={"home": home}))


@pytest.fixture
def nodes(vault: Vault, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer, Vault]]:
    node_b_vault = second_home(vault, tmp_path)
    a = start_server(vault, tmp_path, name="node-a")
    try:
        b = start_server(node_b_vault, tmp_path, name="node-b")
        try:
            yield a, b, node_b_vault
        finally:
            b.stop()
    finally:
        a.stop()


def _count(vault: Vault, tag: AuditTag) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).where(AuditEntry.tag == tag)) or 0)


def test_two_nodes_share_documents_sessions_audit_chain_and_policy_reloads(
    vault: Vault, nodes: tuple[LiveServer, LiveServer, Vault]
) -> None:
    a, b, vault_b = nodes
    assert a.base_url != b.base_url
    assert vault_b.settings.resolved_home != vault.settings.resolved_home
    worker = live_user(a.base_url, vault, Role.MEDEWERKER, team=TEAM)  # session made on node A
    case_id = open_team_case(vault, worker.user_id)
    with (
        httpx.Client(base_url=a.base_url, timeout=60) as on_a,
        httpx.Client(base_url=b.base_url, timeout=60) as on_b,
    ):
        big = os.urandom(9 * MiB + 123)  # a multipart upload
        from_a = put_doc(on_a, worker, case_id, big)
        from_b = put_doc(on_b, worker, case_id, b"opgeslagen via node B")  # the session works on B
        read_on_b = on_b.get(f"/api/v1/documents/{from_a}/content", headers=worker.headers)
        assert read_on_b.status_code == 200, read_on_b.text
        assert read_on_b.content == big
        read_on_a = on_a.get(f"/api/v1/documents/{from_b}/content", headers=worker.headers)
        assert read_on_a.content == b"opgeslagen via node B"
        for node in (on_a, on_b):
            assert node.get("/readyz").status_code == 200

    reloads = _count(vault, AuditTag.SYSTEM_POLICY_RELOAD)
    for node_vault in (vault, vault_b):
        reload = cli(node_vault, "policy", "reload")
        assert reload.returncode == 0, reload.stdout + reload.stderr
    deadline = time.monotonic() + 30
    while _count(vault, AuditTag.SYSTEM_POLICY_RELOAD) < reloads + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count(vault, AuditTag.SYSTEM_POLICY_RELOAD) == reloads + 2, "both nodes reloaded"

    verify = cli(vault, "audit", "verify")  # entries from both nodes: one chain
    assert verify.returncode == 0, verify.stdout + verify.stderr
    check = cli(vault_b, "blobs", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_killing_a_node_mid_upload_leaves_nothing_half_visible_on_the_other(
    vault: Vault, nodes: tuple[LiveServer, LiveServer, Vault]
) -> None:
    a, b, vault_b = nodes
    worker = live_user(b.base_url, vault, Role.MEDEWERKER, team=TEAM)
    case_id = open_team_case(vault, worker.user_id)
    with vault.db.session() as session:
        versions_before = session.scalar(select(func.count()).select_from(DocumentVersion))
    blobs_before = set(vault.blobs.list_blobs())
    release = threading.Event()
    outcome: list[object] = []

    def body() -> Iterator[bytes]:
        for _ in range(12):  # more than one 8 MiB part: node A starts a multipart upload
            yield os.urandom(MiB)
        release.wait(timeout=60)  # ... and never finishes it
        yield b"end"

    def upload() -> None:
        try:
            with httpx.Client(base_url=a.base_url, timeout=60) as http:
                outcome.append(
                    http.post(
                        f"/api/v1/cases/{case_id}/documents",
                        params={"category": "report"},
                        content=body(),
                        headers=doc_headers(worker),
                    )
                )
        except httpx.TransportError as exc:
            outcome.append(exc)

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    deadline = time.monotonic() + 60
    while not incomplete_uploads(vault.blobs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert incomplete_uploads(vault.blobs), "node A never started the multipart upload"
    a.kill()  # SIGKILL mid-upload
    release.set()
    sender.join(timeout=60)
    assert outcome
    assert isinstance(outcome[0], httpx.TransportError), "the upload was never acknowledged"

    with httpx.Client(base_url=b.base_url, timeout=60) as on_b:
        view = on_b.get(f"/api/v1/cases/{case_id}", headers=worker.headers)
        assert view.status_code == 200, view.text
        assert view.json()["documents"] == [], "no half-stored document on node B"
    with vault.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentVersion)) == versions_before
    assert set(vault.blobs.list_blobs()) == blobs_before, "no visible object from the killed upload"
    sweep = cli(vault_b, "blobs", "sweep", "--grace-seconds", "0", "--offline")
    assert sweep.returncode == 0, sweep.stderr
    assert incomplete_uploads(vault.blobs) == []
    verify = cli(vault_b, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
