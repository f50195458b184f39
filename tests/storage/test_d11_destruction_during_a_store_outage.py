"""D11, D18 (review S3): a destruction that meets an unreachable object store has committed (key
erased, rows removed, certificate signed) and answers so; the SQLite scrub of the erased key runs
all the same, and the blobs it could not delete are left to the orphan sweep, which finds them (no
row references them) once the store is back. Real SeaweedFS; the outage is a closed port."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from tests.s3 import SeaweedS3, s3_settings
from vault.config import Settings
from vault.context import Context
from vault.domain import Role
from vault.models import CaseKey, DocumentVersion
from vault.runtime import Vault
from vault.services.blobs import sweep_orphans
from vault.services.destruction import CertificateView, destroy_case
from vault.storage.s3 import S3BlobStore, make_client


@pytest.fixture
def settings(settings: Settings, seaweedfs: SeaweedS3) -> Settings:
    return s3_settings(settings, seaweedfs)


def _dead_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _operator(vault: Vault) -> Context:
    return Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)


def _destroy_while_the_store_is_away(
    vault: Vault, seaweedfs: SeaweedS3
) -> tuple[CertificateView, bytes, list[str]]:
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team)
    upload(vault, ctx, case_id, b"Verslag: vader dreigt, kinderen bang")
    upload(vault, ctx, case_id, b"Tweede verslag")
    with vault.db.session() as session:
        key = session.get(CaseKey, case_id)
        assert key is not None
        wrapped = bytes(key.wrapped)
        blobs = list(session.scalars(select(DocumentVersion.blob_id)))
    assert len(blobs) == 2
    store = vault.blobs
    assert isinstance(store, S3BlobStore)
    vault.blobs = S3BlobStore(store.location, make_client(_dead_endpoint(), seaweedfs.region))
    try:
        # The destruction committed: it answers with its certificate, not an error.
        certificate = destroy_case(vault, _operator(vault), case_id, reason="retention_expired")
    finally:
        vault.blobs = store
    return certificate, wrapped, blobs


def test_d11_a_store_outage_during_destruction_still_scrubs_the_erased_key_from_sqlite(
    vault: Vault, seaweedfs: SeaweedS3
) -> None:
    if not vault.db.is_sqlite:
        pytest.skip("the SQLite scrub only")
    certificate, wrapped, blobs = _destroy_while_the_store_is_away(vault, seaweedfs)
    assert certificate.case_id
    assert all(vault.blobs.exists(b) for b in blobs)  # the outage kept them
    db_file = Path(vault.settings.url.database or "")
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    assert wrapped not in raw, "the destroyed case's wrapped data key is still in the SQLite files"


def test_d11_blobs_a_destruction_could_not_delete_are_removed_by_the_orphan_sweep(
    vault: Vault, seaweedfs: SeaweedS3
) -> None:
    _, _, blobs = _destroy_while_the_store_is_away(vault, seaweedfs)
    assert all(vault.blobs.exists(b) for b in blobs)
    # Within the grace period the sweep keeps them (an upload in flight looks the same) ...
    assert sweep_orphans(vault, grace_seconds=3600) == 0
    # ... after it, it removes them: no row references them any more.
    later = time.time() + 3600
    assert sweep_orphans(vault, grace_seconds=3600, now=later) == len(blobs)
    assert not [b for b in blobs if vault.blobs.exists(b)]
