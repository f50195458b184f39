"""The vault over S3 (a real SeaweedFS, tests/s3.py): settings, an unreachable bucket (503, readiness),
and `vault blobs check / sweep` over the bucket."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import api_user
from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import cli, put_doc
from tests.s3 import SeaweedS3, incomplete_uploads, s3_settings
from vault.config import Settings
from vault.context import FrozenClock
from vault.domain import Role
from vault.errors import ConfigError
from vault.runtime import Vault
from vault.storage import new_blob_id
from vault.storage.s3 import S3BlobStore, make_client


@pytest.fixture
def settings(settings: Settings, seaweedfs: SeaweedS3) -> Settings:
    return s3_settings(settings, seaweedfs)


def _dead_endpoint() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_vault_keeps_its_documents_in_the_bucket(vault: Vault, settings: Settings) -> None:
    assert isinstance(vault.blobs, S3BlobStore)
    assert vault.blobs.location.bucket == "vault-test"
    assert not settings.blob_dir.exists(), "no local blob folder over S3"


@pytest.mark.parametrize(
    "value", ["s3://", "s3://UPPER/x", "s3://b", "http://bucket/x", "s3://bucket/../x", "s3://bucket/a//b"]
)
def test_bad_blob_store_setting_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from vault.config import load_settings

    monkeypatch.setenv("VAULT_BLOB_STORE", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith("VAULT_BLOB_STORE:")
    assert value not in str(caught.value)


def test_local_is_the_default_and_s3_urls_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.config import load_settings

    monkeypatch.delenv("VAULT_BLOB_STORE", raising=False)
    assert load_settings().blob_store_url is None
    monkeypatch.setenv("VAULT_BLOB_STORE", "s3://vt-dossiers/prod/vault-1")
    assert load_settings().blob_store_url == "s3://vt-dossiers/prod/vault-1"


def test_unreachable_bucket_answers_503_discloses_nothing_and_fails_readiness(
    client: TestClient, vault: Vault, clock: FrozenClock, seaweedfs: SeaweedS3
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    case_id = open_team_case(vault, worker.user_id)
    doc_id = put_doc(client, worker, case_id, b"inhoud in de bucket")
    assert client.get("/readyz").status_code == 200
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=worker.headers).content == (
        b"inhoud in de bucket"
    )

    dead = _dead_endpoint()
    assert isinstance(vault.blobs, S3BlobStore)
    vault.blobs = S3BlobStore(vault.blobs.location, make_client(dead, seaweedfs.region))  # the bucket goes

    read = client.get(f"/api/v1/documents/{doc_id}/content", headers=worker.headers)
    write = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "report"},
        content=b"nieuw",
        headers={**worker.headers, "X-Document-Title": "t", "X-Document-Filename": "f.txt"},
    )
    ready = client.get("/readyz")
    for answer in (read, write, ready):
        assert answer.status_code == 503, answer.text
        for secret in (dead, "127.0.0.1", seaweedfs.bucket, seaweedfs.access_key, "inhoud"):
            assert secret not in answer.text
    assert read.json()["error"] == "unavailable"
    assert write.json()["error"] == "unavailable"
    assert "blob_store_unreachable" in ready.json()["reasons"]
    assert ready.json()["checks"]["blob_store"] is False


def test_blobs_check_and_sweep_work_over_the_bucket(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    store = vault.blobs
    assert isinstance(store, S3BlobStore)
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    case_id = open_team_case(vault, worker.user_id)
    kept = [put_doc(client, worker, case_id, f"document {i}".encode()) for i in range(3)]
    orphan = new_blob_id()
    store.put(orphan, [b"no version row references this"])
    crashed = store._key(new_blob_id())
    store._client.create_multipart_upload(Bucket=store.location.bucket, Key=crashed)
    assert len(list(store.list_blobs())) == 4
    assert incomplete_uploads(store) == [crashed]

    check = cli(vault, "blobs", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "all 3 referenced blobs present and intact" in check.stdout

    early = cli(vault, "blobs", "sweep")  # default grace period: an hour; nothing is that old
    assert early.returncode == 0, early.stderr
    assert "removed 0 " in early.stdout
    assert incomplete_uploads(store) == [crashed]

    sweep = cli(vault, "blobs", "sweep", "--grace-seconds", "0", "--offline")
    assert sweep.returncode == 0, sweep.stderr
    assert "removed 2 " in sweep.stdout, "the orphan blob and the stale multipart upload"
    assert not store.exists(orphan)
    assert incomplete_uploads(store) == []
    assert len(list(store.list_blobs())) == 3
    for doc_id in kept:
        r = client.get(f"/api/v1/documents/{doc_id}/content", headers=worker.headers)
        assert r.status_code == 200

    victim = next(iter(store.list_blobs()))[0]
    store.delete(victim)
    broken = cli(vault, "blobs", "check")
    assert broken.returncode == 1
    assert "missing: version" in broken.stdout
    assert victim in broken.stdout
