"""D10, D16 (review S1): a partner's read that the object store cannot serve uses up nothing and
records no read. The gate opens the blob (ciphertext only) before the admission commits, so an
outage rolls the admission back: no retrieval counted, no ``dossier:document:read`` entry, a 503;
the retry, once the store is back, is served. Real SeaweedFS; the outage is a closed port."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import api_user
from tests.robustness.conftest import TEAM, open_team_case
from tests.robustness.support import put_doc
from tests.s3 import SeaweedS3, s3_settings
from vault.config import Settings
from vault.context import FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.storage.s3 import S3BlobStore, make_client

ORG = "Wijkteam Emmer Storing"


@pytest.fixture
def settings(settings: Settings, seaweedfs: SeaweedS3) -> Settings:
    return s3_settings(settings, seaweedfs)


def _dead_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _reads(vault: Vault, doc: str) -> int:
    with vault.db.session() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.object_id == doc, AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ))
            )
            or 0
        )


def test_d10_d16_a_partner_read_the_store_never_served_uses_up_nothing_and_records_no_read(
    client: TestClient, vault: Vault, clock: FrozenClock, seaweedfs: SeaweedS3
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=(ORG, OrgType.LOCAL_TEAM))
    case_id = open_team_case(vault, worker.user_id)
    body = b"Veiligheidsafspraak: geen contact"
    doc = put_doc(client, worker, case_id, body)
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": partner.org_id, "purpose": "warme overdracht", "legal_basis": "wmo-4.1.1-2-help",
            "categories": ["report"], "max_retrievals": 1,
            "contact_name": "Sanne de Vries", "contact_phone": "030 123 45 67",
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text

    store = vault.blobs
    assert isinstance(store, S3BlobStore)
    vault.blobs = S3BlobStore(store.location, make_client(_dead_endpoint(), seaweedfs.region))
    try:
        failed = client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers)
    finally:
        vault.blobs = store  # the store is back
    assert failed.status_code == 503, failed.text
    assert failed.json()["error"] == "unavailable"
    assert _reads(vault, doc) == 0, "a read the store never served is in the audit log"
    inbox = client.get("/api/v1/partner/inbox", headers=partner.headers).json()
    assert [g["retrievals_left"] for g in inbox] == [1], inbox

    retry = client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers)
    assert retry.status_code == 200, retry.text
    assert _reads(vault, doc) == 1


def test_d16_a_staff_read_during_a_store_outage_records_no_read(
    client: TestClient, vault: Vault, clock: FrozenClock, seaweedfs: SeaweedS3
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    case_id = open_team_case(vault, worker.user_id)
    doc = put_doc(client, worker, case_id, b"Gespreksverslag school")
    store = vault.blobs
    assert isinstance(store, S3BlobStore)
    vault.blobs = S3BlobStore(store.location, make_client(_dead_endpoint(), seaweedfs.region))
    try:
        failed = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    finally:
        vault.blobs = store
    assert failed.status_code == 503, failed.text
    assert _reads(vault, doc) == 0
    assert client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers).status_code == 200
