"""Faults of the object store: S3 (a SeaweedFS of the test's own, tests/s3.py) killed or down.

The object-store counterparts of the local disk faults in test_faults.py. The SeaweedFS is killed
with SIGKILL while a real `vault serve` streams to or from it, then started again on the same ports and
data. Mid-upload: a clear 503, no version row, no completed object, and the multipart upload the
crash left open is swept. Mid-download: the response is aborted, and what arrived is only whole,
verified plaintext segments (a prefix of the document), never the rest and never garbage. Down at
start: the server starts, readiness answers 503 until the store is back. Every test ends with the
audit chain verified by the CLI.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import cli, doc_headers, live_user, put_doc, running_server
from tests.s3 import KillableSeaweedFS, incomplete_uploads, killable_seaweedfs, s3_settings
from vault.config import Settings
from vault.crypto.stream import SEGMENT_SIZE
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, DocumentVersion
from vault.runtime import Vault

pytestmark = pytest.mark.slow

MiB = 1 << 20


@pytest.fixture
def object_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KillableSeaweedFS]:
    """This test's own SeaweedFS (the session's is shared by other tests): killed and started again."""
    with killable_seaweedfs(tmp_path, monkeypatch) as own:
        yield own


@pytest.fixture
def settings(settings: Settings, object_store: KillableSeaweedFS) -> Settings:
    return s3_settings(settings, object_store.server)


def _versions(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DocumentVersion)) or 0)


def _created(vault: Vault) -> int:
    with vault.db.session() as session:
        query = select(func.count()).where(AuditEntry.tag == AuditTag.DOSSIER_DOCUMENT_CREATED)
        return int(session.scalar(query) or 0)


def _wait_ready(http: httpx.Client, status: int) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        r = http.get("/readyz")
        if r.status_code == status or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def _assert_mute(answer: httpx.Response, own: KillableSeaweedFS) -> None:
    """A 503 that names nothing of the store (no endpoint, bucket or key)."""
    for secret in (own.server.endpoint, "127.0.0.1", own.server.bucket, own.server.access_key):
        assert secret not in answer.text


def _read_killing_the_store_after(
    size: int, response: httpx.Response, received: bytearray, store: KillableSeaweedFS
) -> None:
    killed = False
    for piece in response.iter_raw():  # as received (no buffering that could hide a tail); bounded
        received += piece
        if len(received) >= size and not killed:
            store.kill()  # the store dies with the download in flight
            killed = True


def test_object_store_killed_mid_upload_is_a_clear_503_nothing_visible_and_the_upload_is_swept(
    vault: Vault, object_store: KillableSeaweedFS, tmp_path: Path
) -> None:
    with running_server(vault, tmp_path) as server:
        worker = live_user(server.base_url, vault, Role.MEDEWERKER, team=TEAM)
        case_id = open_team_case(vault, worker.user_id)
        created = _created(vault)

        def body() -> Iterator[bytes]:
            for i in range(21):
                if i == 20:
                    # More than one 8 MiB part was sent: the multipart upload is open. Now the store dies.
                    deadline = time.monotonic() + 30
                    while not incomplete_uploads(vault.blobs) and time.monotonic() < deadline:
                        time.sleep(0.05)
                    assert incomplete_uploads(vault.blobs), "the server never started the multipart upload"
                    object_store.kill()
                yield os.urandom(MiB)

        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            r = http.post(
                f"/api/v1/cases/{case_id}/documents",
                params={"category": "report"},
                content=body(),
                headers=doc_headers(worker),
            )
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "unavailable"
            assert "nothing was stored" in r.json()["detail"]
            _assert_mute(r, object_store)
            assert _wait_ready(http, 503).status_code == 503

            object_store.start()  # the store is back (same data): nothing of the upload is visible
            assert _versions(vault) == 0
            assert _created(vault) == created
            assert list(vault.blobs.list_blobs()) == [], "no completed object"
            assert incomplete_uploads(vault.blobs), "the abort could not reach the store: left open"
            sweep = cli(vault, "blobs", "sweep", "--grace-seconds", "0", "--offline")
            assert sweep.returncode == 0, sweep.stdout + sweep.stderr
            assert incomplete_uploads(vault.blobs) == [], "the sweep aborted it"

            # The same server recovers: readiness, then the retry succeeds.
            assert _wait_ready(http, 200).status_code == 200
            doc = put_doc(http, worker, case_id, b"opnieuw verstuurd")
            back = http.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
            assert back.content == b"opnieuw verstuurd"
    assert _versions(vault) == 1
    verify = cli(vault, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_object_store_killed_mid_download_aborts_the_response_after_verified_segments_only(
    vault: Vault, object_store: KillableSeaweedFS, tmp_path: Path
) -> None:
    data = os.urandom(64 * MiB)  # far more than the socket buffers between the store, vault and client
    with running_server(vault, tmp_path) as server:
        worker = live_user(server.base_url, vault, Role.MEDEWERKER, team=TEAM)
        case_id = open_team_case(vault, worker.user_id)
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            doc = put_doc(http, worker, case_id, data)
            received = bytearray()
            with http.stream("GET", f"/api/v1/documents/{doc}/content", headers=worker.headers) as r:
                assert r.status_code == 200
                with pytest.raises(httpx.TransportError):
                    _read_killing_the_store_after(2 * MiB, r, received, object_store)
            assert 2 * MiB <= len(received) < len(data), "the response was cut short"
            assert bytes(received) == data[: len(received)], "only the document's own bytes"
            assert len(received) % SEGMENT_SIZE == 0, "whole verified segments only"

            object_store.start()
            again = http.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
            assert again.status_code == 200
            assert hashlib.sha256(again.content).digest() == hashlib.sha256(data).digest()
    verify = cli(vault, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_object_store_down_at_start_the_server_starts_and_readiness_is_503_until_it_is_back(
    vault: Vault, object_store: KillableSeaweedFS, tmp_path: Path
) -> None:
    object_store.kill()
    with (
        running_server(vault, tmp_path) as server,  # waits for /healthz: the server started
        httpx.Client(base_url=server.base_url, timeout=60) as http,
    ):
        ready = _wait_ready(http, 503)
        assert ready.status_code == 503, ready.text
        assert "blob_store_unreachable" in ready.json()["reasons"]
        assert ready.json()["checks"]["blob_store"] is False
        _assert_mute(ready, object_store)
        worker = live_user(server.base_url, vault, Role.MEDEWERKER, team=TEAM)
        case_id = open_team_case(vault, worker.user_id)
        r = http.post(
            f"/api/v1/cases/{case_id}/documents",
            params={"category": "report"},
            content=b"terwijl de opslag weg is",
            headers=doc_headers(worker),
        )
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "unavailable"
        _assert_mute(r, object_store)

        object_store.start()
        assert _wait_ready(http, 200).status_code == 200
        doc = put_doc(http, worker, case_id, b"nu wel opgeslagen")
        assert http.get(f"/api/v1/documents/{doc}/content", headers=worker.headers).status_code == 200
    assert _versions(vault) == 1
    verify = cli(vault, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
