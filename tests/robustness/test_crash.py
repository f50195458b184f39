"""A real server process killed (SIGKILL) in the middle of concurrent uploads and disclosures.

After a restart: the audit chain verifies, `vault blobs sweep --grace-seconds 0 --offline` leaves no
orphan and no temporary file, every version row has its blob, and every upload the server acknowledged
(201) is served back byte for byte. The server's logs of both runs hold none of the canaries sent to it.
Runs over the local blob store and over S3 (a real SeaweedFS, tests/s3.py).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.helpers import API_PASSWORD
from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import cli, doc_headers, live_user, running_server, start_server
from tests.s3 import incomplete_uploads, settings_for_backend
from vault.config import Settings
from vault.domain import OrgType, Role
from vault.models import Document, DocumentVersion, Grant
from vault.runtime import Vault

pytestmark = pytest.mark.slow

UPLOADERS = 6
DISCLOSERS = 2
CANARY_TITLE = "Kanarietitel Jansen-Crash"
CANARY_FILENAME = "kanarie-crash-bestand.txt"
CANARY_CONTENT = b"KANARIE-INHOUD-CRASH "


@pytest.fixture
def settings(settings: Settings, blob_backend: str, request: pytest.FixtureRequest) -> Settings:
    return settings_for_backend(settings, blob_backend, request)


@dataclass
class Outcome:
    acknowledged: dict[str, str] = field(default_factory=dict)  # document id -> sha256 of the plaintext
    grants: list[str] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _uploader(
    base_url: str, headers: dict[str, str], case_id: str, seed: int, stop: threading.Event, out: Outcome
) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for _ in range(500):  # bounded in count as well as by the kill
            if stop.is_set():
                return
            data = CANARY_CONTENT + rng.randbytes(rng.randrange(1, 400_000))
            try:
                r = http.post(
                    f"/api/v1/cases/{case_id}/documents",
                    params={"category": "safety_conditions"},
                    content=data,
                    headers=headers,
                )
            except httpx.TransportError:
                with out.lock:
                    out.errors += 1
                return
            if r.status_code == 201:
                with out.lock:
                    out.acknowledged[r.json()["document_id"]] = hashlib.sha256(data).hexdigest()


def _discloser(
    base_url: str, headers: dict[str, str], case_id: str, org_id: str, stop: threading.Event, out: Outcome
) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for _ in range(500):
            if stop.is_set():
                return
            try:
                r = http.post(
                    f"/api/v1/cases/{case_id}/disclosures",
                    headers=headers,
                    json={
                        "org_id": org_id,
                        "purpose": "warme overdracht",
                        "legal_basis": "wmo-4.1.1-2-help",
                        "contact_name": "Marieke de Vries",  # D23
                        "contact_phone": "030 123 45 67",
                        "categories": ["safety_conditions"],
                        # Each one on purpose: without this, the second is held back as a duplicate
                        # (409) and the test would wait its whole deadline for three grants.
                        "confirm_duplicate": True,
                    },
                )
            except httpx.TransportError:
                with out.lock:
                    out.errors += 1
                return
            if r.status_code == 201:
                with out.lock:
                    out.grants.append(r.json()["id"])


def test_sigkill_during_concurrent_uploads_and_disclosures_leaves_a_consistent_vault(
    vault: Vault, tmp_path: Path
) -> None:
    server = start_server(vault, tmp_path, name="before-kill")
    try:
        worker = live_user(server.base_url, vault, Role.MEDEWERKER, team=TEAM)
        partner = live_user(
            server.base_url, vault, Role.PARTNER, org=("Lokaal team Crash", OrgType.LOCAL_TEAM)
        )
        assert partner.org_id is not None
        cases = [open_team_case(vault, worker.user_id) for _ in range(3)]
        headers = doc_headers(worker, title=CANARY_TITLE, filename=CANARY_FILENAME)
        stop = threading.Event()
        out = Outcome()
        threads = [
            threading.Thread(
                target=_uploader, args=(server.base_url, headers, cases[i % 3], i, stop, out), daemon=True
            )
            for i in range(UPLOADERS)
        ] + [
            threading.Thread(
                target=_discloser,
                args=(server.base_url, worker.headers, cases[i % 3], partner.org_id, stop, out),
                daemon=True,
            )
            for i in range(DISCLOSERS)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with out.lock:
                if len(out.acknowledged) >= 12 and len(out.grants) >= 3:
                    break
            time.sleep(0.05)
        server.kill()  # SIGKILL, with requests in flight
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
    finally:
        server.stop()
    assert len(out.acknowledged) >= 12, "the kill should come after some acknowledged uploads"
    assert len(out.grants) >= 3, "the kill should come after some acknowledged disclosures"
    assert out.errors > 0, "the kill should interrupt requests in flight"

    # Restart (recovery happens on open), then the operator's checks.
    sweep = cli(vault, "blobs", "sweep", "--grace-seconds", "0", "--offline")
    assert sweep.returncode == 0, sweep.stderr
    with vault.db.session() as session:
        versions = session.execute(select(DocumentVersion.document_id, DocumentVersion.blob_id)).all()
        documents = set(session.scalars(select(Document.id)))
        grant_ids = set(session.scalars(select(Grant.id)))
    referenced = {blob_id for _, blob_id in versions}
    on_disk = {p.name for p in vault.settings.blob_dir.rglob("*") if p.is_file()}
    on_disk |= {blob_id for blob_id, _ in vault.blobs.list_blobs()}
    assert on_disk == referenced, "no orphan, no temporary file, no missing blob"
    assert incomplete_uploads(vault.blobs) == [], "no multipart upload left open"
    assert {doc for doc, _ in versions} == documents, "every document has a version"
    assert set(out.grants) <= grant_ids, "every acknowledged disclosure is recorded"
    assert set(out.acknowledged) <= documents
    check = cli(vault, "blobs", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    verify = cli(vault, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    with running_server(vault, tmp_path, name="after-kill") as again:
        with httpx.Client(base_url=again.base_url, timeout=30) as http:
            for doc, digest in out.acknowledged.items():
                r = http.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
                assert r.status_code == 200, r.text
                assert hashlib.sha256(r.content).hexdigest() == digest
        logs = server.stderr_text + again.stderr_text
    assert "Application startup complete" in logs, "the scan below reads the servers' real stderr"
    for canary in (
        CANARY_TITLE,
        CANARY_FILENAME,
        CANARY_CONTENT.decode(),
        API_PASSWORD,
        worker.token,
        worker.secret,
        partner.token,
        partner.secret,
    ):
        assert canary not in logs
