"""Session 17 review of documents (U5): an empty file is no document.

A file of zero bytes (a cloud placeholder never downloaded, a file emptied by the program that held it
open) was stored as a document version, with "Het document is versleuteld opgeslagen": the worker
believes the report is in the dossier, and a new version of zero bytes hides the one before it from a
partner. Refused with a reason, before anything is stored: no version, no blob, no audit entry.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import ApiUser
from tests.robustness.conftest import TEAM
from tests.robustness.support import audit_count, doc_headers, web_login
from vault.context import FrozenClock
from vault.models import Document, DocumentVersion
from vault.runtime import Vault


def _stored(vault: Vault) -> tuple[int, int]:
    with vault.db.session() as session:
        documents = int(session.scalar(select(func.count()).select_from(Document)) or 0)
        versions = int(session.scalar(select(func.count()).select_from(DocumentVersion)) or 0)
    return documents, versions


def _blobs(vault: Vault) -> list[str]:
    return [p.name for p in vault.settings.blob_dir.rglob("*") if p.is_file()]


def test_s17_an_empty_upload_through_the_api_is_refused_and_stores_nothing(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str
) -> None:
    before = audit_count(vault)
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "report"},
        content=b"",
        headers=doc_headers(worker),
    )
    assert r.status_code == 400, r.text
    assert "empty" in r.json()["detail"]
    assert _stored(vault) == (0, 0)
    assert _blobs(vault) == []
    assert audit_count(vault) == before


def test_s17_an_empty_new_version_does_not_replace_the_document(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str
) -> None:
    url = f"/api/v1/cases/{case_id}/documents"
    r = client.post(url, params={"category": "report"}, content=b"verslag", headers=doc_headers(worker))
    assert r.status_code == 201, r.text
    document_id = r.json()["document_id"]
    r = client.post(
        url,
        params={"category": "report", "document_id": document_id},
        content=b"",
        headers=doc_headers(worker),
    )
    assert r.status_code == 400, r.text
    assert _stored(vault) == (1, 1)
    back = client.get(f"/api/v1/documents/{document_id}/content", headers=worker.headers)
    assert back.content == b"verslag"


def _form(csrf: str, filename: str, data: bytes) -> bytes:
    return (
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + csrf.encode() + b"\r\n"
        b'--b\r\nContent-Disposition: form-data; name="category"\r\n\r\nreport\r\n'
        b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nVerslag huisbezoek\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + filename.encode() + b'"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n--b--\r\n"
    )


def test_s17_an_empty_file_on_the_upload_form_is_refused_beside_its_field_in_dutch(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, case_id: str
) -> None:
    web = web_login(vault, clock, team=TEAM)
    before = audit_count(vault)
    r = web.client.post(
        f"/zaken/{case_id}/documenten",
        content=_form(web.csrf, "melding.pdf", b""),
        headers={"Sec-Fetch-Site": "same-origin", "Content-Type": "multipart/form-data; boundary=b"},
        follow_redirects=False,
    )
    assert r.status_code == 400, (r.status_code, r.headers.get("location"))
    assert "Het bestand is leeg" in r.text
    assert 'value="Verslag huisbezoek"' in r.text  # what was typed stays
    assert _stored(vault) == (0, 0)
    assert _blobs(vault) == []
    assert audit_count(vault) == before


def test_s17_an_empty_file_sent_by_the_upload_script_is_refused(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, case_id: str
) -> None:
    web = web_login(vault, clock, team=TEAM)
    r = web.client.post(
        f"/zaken/{case_id}/documenten",
        content=b"",
        headers={
            "Sec-Fetch-Site": "same-origin",
            "X-CSRF-Token": web.csrf,
            "X-Document-Category": "report",
            "X-Document-Title": "Verslag",
            "X-Document-Filename": "melding.pdf",
            "Content-Type": "application/pdf",
        },
    )
    assert r.status_code == 400, r.status_code
    assert _stored(vault) == (0, 0)
    assert _blobs(vault) == []
