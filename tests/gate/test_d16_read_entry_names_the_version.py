"""D16: the audit entry of an allowed document read names the version that was read (its number and
id: ids and numbers only), so a read of the version from before a redaction — which may still name
the reporter (D8) — can be told from a read of the current one."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role
from vault.models import AuditEntry, DocumentVersion
from vault.runtime import Vault
from vault.services.cases import open_case

TEAM = "Team Versies Gelezen"
ORG = "Wijkteam Versies"


def _case(vault: Vault, worker: ApiUser) -> str:
    ctx = Context(
        actor_id=worker.user_id, role="medewerker", access_point="test", second_factor_verified=True,
        clock=vault.clock,
    )  # fmt: skip
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id


def _put(client: TestClient, user: ApiUser, case_id: str, body: bytes, document_id: str | None = None) -> str:
    params = {"category": str(Category.SAFETY_CONDITIONS)}
    if document_id:
        params["document_id"] = document_id
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params=params,
        content=body,
        headers={
            **user.headers,
            "X-Document-Title": quote("Verslag"),
            "X-Document-Filename": quote("verslag.txt"),
            "Content-Type": "text/plain",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document_id"])


def _reads(vault: Vault, doc: str) -> list[dict[str, object]]:
    with vault.db.session() as session:
        details = session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.object_id == doc, AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ))
            .order_by(AuditEntry.seq)
        ).all()
    return [json.loads(d or "{}") for d in details]


def _version_ids(vault: Vault, doc: str) -> dict[int, str]:
    with vault.db.session() as session:
        rows = session.execute(
            select(DocumentVersion.version, DocumentVersion.id).where(DocumentVersion.document_id == doc)
        ).all()
    return {int(number): str(version_id) for number, version_id in rows}


def test_d16_the_read_entry_names_the_version_that_was_read(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    case_id = _case(vault, worker)
    doc = _put(client, worker, case_id, b"Melder: Kanarie Bakker, Dorpsstraat 1")
    _put(client, worker, case_id, b"Melder: [weggelakt]", document_id=doc)
    for version in (1, 2):
        url = f"/api/v1/documents/{doc}/content"
        r = client.get(url, params={"version": version}, headers=worker.headers)
        assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)  # the latest
    assert r.status_code == 200, r.text
    ids = _version_ids(vault, doc)
    reads = _reads(vault, doc)
    assert [(e["version"], e["version_id"]) for e in reads] == [(1, ids[1]), (2, ids[2]), (2, ids[2])]
    for entry in reads:  # ids and numbers only, nothing of the content or the file name
        assert set(entry) == {"attempted", "grant_id", "version", "version_id"}
        assert "Kanarie" not in json.dumps(entry)
        assert "verslag" not in json.dumps(entry)


def test_d16_a_partners_read_entry_names_the_version_too(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=(ORG, OrgType.LOCAL_TEAM))
    case_id = _case(vault, worker)
    doc = _put(client, worker, case_id, b"Voorwaarde: geen contact met het kind")
    _put(client, worker, case_id, b"Voorwaarde: geen contact, ook niet via de telefoon", document_id=doc)
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=worker.headers,
        json={
            "org_id": partner.org_id, "purpose": "warme overdracht", "legal_basis": "wmo-4.1.1-2-help",
            "categories": ["safety_conditions"], "max_retrievals": 2,
            "contact_name": "Sanne de Vries", "contact_phone": "030 123 45 67",
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    grant_id = r.json()["id"]
    r = client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers)
    assert r.status_code == 200, r.text
    [entry] = _reads(vault, doc)
    assert entry == {
        "attempted": str(AuditTag.DOSSIER_DOCUMENT_READ),
        "grant_id": grant_id,
        "version": 2,
        "version_id": _version_ids(vault, doc)[2],
    }


def test_d16_the_upload_entry_names_the_document_and_the_version_it_adds(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """A log search for one document finds its creation and every later version: the entry's object is
    the document (a new one's id chosen before its entry), and its details name the version added."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    case_id = _case(vault, worker)
    doc = _put(client, worker, case_id, b"Eerste verslag")
    _put(client, worker, case_id, b"Tweede verslag", document_id=doc)
    with vault.db.session() as session:
        entries = session.execute(
            select(AuditEntry.object_type, AuditEntry.object_id, AuditEntry.details)
            .where(AuditEntry.case_id == case_id, AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_CREATED))
            .order_by(AuditEntry.seq)
        ).all()
    ids = _version_ids(vault, doc)
    assert [(kind, object_id, json.loads(details)) for kind, object_id, details in entries] == [
        ("document", doc, {"attempted": str(AuditTag.DOSSIER_DOCUMENT_CREATED), "grant_id": None,
                           "version_id": ids[1]}),
        ("document", doc, {"attempted": str(AuditTag.DOSSIER_DOCUMENT_CREATED), "grant_id": None,
                           "version_id": ids[2]}),
    ]  # fmt: skip
