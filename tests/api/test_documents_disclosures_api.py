"""HTTP: streamed upload/download through the gate; disclosures to partners (D8, D9, D10, D15)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers import ApiUser, api_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.cases import open_case

TEAM = "Team Noord"
CANARY_REPORTER = "Kanarie Melder Bakker"


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def case_id(vault: Vault, worker: ApiUser) -> str:
    ctx = Context(
        actor_id=worker.user_id,
        role="medewerker",
        access_point="test",
        second_factor_verified=True,
        clock=vault.clock,
    )
    team_id = team_id_of(vault, TEAM)  # outside the session: transactions never nest
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id


def put_doc(
    client: TestClient,
    user: ApiUser,
    case_id: str,
    data: bytes,
    category: Category = Category.REPORT,
    title: str = "Verslag huisbezoek",
    filename: str = "huisbezoek.txt",
) -> str:
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": str(category)},
        content=data,
        headers={
            **user.headers,
            "X-Document-Title": quote(title),
            "X-Document-Filename": quote(filename),
            "Content-Type": "text/plain",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document_id"])


def test_upload_and_streamed_download_round_trip(client: TestClient, worker: ApiUser, case_id: str) -> None:
    data = bytes(range(256)) * 5000  # 1.28 MB: several segments and several download batches
    doc = put_doc(client, worker, case_id, data, title="Verslag — ünïcode", filename="verslag é.txt")
    r = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-length"] == str(len(data))
    assert "filename*=UTF-8''verslag%20%C3%A9.txt" in r.headers["content-disposition"]
    assert r.headers["content-security-policy"].startswith("sandbox")


def test_download_serves_the_latest_or_the_asked_version_whole_or_streamed(
    client: TestClient, worker: ApiUser, case_id: str, vault: Vault
) -> None:
    """Small versions go out in one response, large ones stream; both with the same headers, and
    each read is one committed audit entry (D16)."""
    small = b"versie een"
    large = bytes(range(256)) * 1100  # over the inline limit (256 KiB): streamed
    doc = put_doc(client, worker, case_id, small)
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": str(Category.REPORT), "document_id": doc},
        content=large,
        headers={**worker.headers, "X-Document-Title": "t", "X-Document-Filename": "v2.bin"},
    )
    assert r.status_code == 201, r.text
    with vault.db.session() as session:
        reads_before = len(_reads(session, doc))
    for version, expected in ((None, large), (2, large), (1, small)):
        params = {} if version is None else {"version": version}
        r = client.get(f"/api/v1/documents/{doc}/content", params=params, headers=worker.headers)
        assert r.status_code == 200, r.text
        assert r.content == expected
        assert r.headers["content-length"] == str(len(expected))
        assert r.headers["x-document-version"] == str(version or 2)
        assert r.headers["content-security-policy"].startswith("sandbox")
        assert r.headers["cache-control"] == "no-store"
    missing = client.get(f"/api/v1/documents/{doc}/content", params={"version": 3}, headers=worker.headers)
    assert missing.status_code == 404
    with vault.db.session() as session:
        assert len(_reads(session, doc)) == reads_before + 3


def _reads(session: Session, document_id: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == document_id, AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ)
            )
        )
    )


def test_upload_refuses_bad_metadata_and_oversized_bodies(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str
) -> None:
    base = {**worker.headers, "X-Document-Filename": "a.txt"}
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "report"},
        content=b"x",
        headers={**base, "X-Document-Title": "%FF%FE"},
    )
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "nonsense"},
        content=b"x",
        headers={**base, "X-Document-Title": "t"},
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/cases/not-a-uuid/documents",
        params={"category": "report"},
        content=b"x",
        headers={**base, "X-Document-Title": "t"},
    )
    assert r.status_code == 422
    too_big = vault.settings.max_upload_bytes + 1
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "report"},
        content=b"x",
        headers={**base, "X-Document-Title": "t", "Content-Length": str(too_big)},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    assert "limit" in r.json()["detail"]
    for not_a_document, reason in (("subjects", "not a document category"), ("statement", "D14")):
        r = client.post(
            f"/api/v1/cases/{case_id}/documents",
            params={"category": not_a_document},
            content=b"x",
            headers={**base, "X-Document-Title": "t"},
        )
        assert r.status_code == 400, not_a_document
        assert reason in r.json()["detail"]
    assert list(vault.blobs.list_blobs()) == []


def test_fail_closed_audit_write_failure_returns_503_and_no_content(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str
) -> None:
    doc = put_doc(client, worker, case_id, b"geheime inhoud")
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
    r = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    assert r.status_code == 503
    assert b"geheime" not in r.content
    assert r.json()["error"] == "unavailable"


@pytest.fixture
def local_team(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team Zuid", OrgType.LOCAL_TEAM))


def disclose(
    client: TestClient, user: ApiUser, case_id: str, **body: object
) -> tuple[int, dict[str, object]]:
    contact = {"contact_name": "Marieke de Vries", "contact_phone": "030 123 45 67"}  # D23
    r = client.post(f"/api/v1/cases/{case_id}/disclosures", headers=user.headers, json={**contact, **body})
    return r.status_code, r.json()


def test_d10_partner_reaches_exactly_the_granted_documents(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, local_team: ApiUser, clock: FrozenClock
) -> None:
    conditions = put_doc(client, worker, case_id, b"veiligheidsvoorwaarden", Category.SAFETY_CONDITIONS)
    report = put_doc(client, worker, case_id, b"meldingstekst", Category.REPORT)
    reporter = put_doc(client, worker, case_id, CANARY_REPORTER.encode(), Category.REPORTER_IDENTITY)
    single = put_doc(client, worker, case_id, b"een los document", Category.CORRESPONDENCE)
    other = put_doc(client, worker, case_id, b"andere brief", Category.CORRESPONDENCE)
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
        document_ids=[single],
        max_retrievals=10,
    )
    assert status == 201, grant
    inbox = client.get("/api/v1/partner/inbox", headers=local_team.headers).json()
    assert {d["document_id"] for d in inbox[0]["documents"]} == {conditions, single}
    for doc, expected in ((conditions, 200), (single, 200), (report, 404), (reporter, 404), (other, 404)):
        r = client.get(f"/api/v1/documents/{doc}/content", headers=local_team.headers)
        assert r.status_code == expected, (doc, r.text)
        assert CANARY_REPORTER.encode() not in r.content
    # Revocation takes effect at once.
    r = client.post(f"/api/v1/disclosures/{grant['id']}/revoke", headers=worker.headers)
    assert r.status_code == 200
    assert r.json()["revoked"] is True
    assert (
        client.get(f"/api/v1/documents/{conditions}/content", headers=local_team.headers).status_code == 404
    )
    assert client.get("/api/v1/partner/inbox", headers=local_team.headers).json() == []


def test_d16_d21_revoking_or_extending_another_teams_disclosure_is_refused_and_audited(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, local_team: ApiUser, clock: FrozenClock
) -> None:
    """A colleague of another team trying to revoke or extend a disclosure, or one that does not
    exist, gets 404 and leaves a denial (ids and rule only): the log review sees the probing."""
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
        max_retrievals=3,
    )
    assert status == 201, grant
    outsider = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Zuid")
    unknown = "00000000-0000-4000-8000-000000000000"
    attempts = [
        (f"/api/v1/disclosures/{grant['id']}/revoke", None),
        (f"/api/v1/disclosures/{grant['id']}/extend", {"days": 30}),
        (f"/api/v1/disclosures/{unknown}/revoke", None),
    ]
    for path, body in attempts:
        r = client.post(path, headers=outsider.headers, json=body)
        assert r.status_code == 404, (path, r.text)
    with vault.db.session() as session:
        denials = session.execute(
            select(AuditEntry.case_id, AuditEntry.object_id, AuditEntry.rule, AuditEntry.details)
            .where(AuditEntry.actor_id == outsider.user_id, AuditEntry.tag == AuditTag.DOSSIER_ACCESS_DENIED)
            .order_by(AuditEntry.seq)
        ).all()
    assert [(d.case_id, d.object_id) for d in denials] == [
        (case_id, grant["id"]),
        (case_id, grant["id"]),
        (None, unknown),
    ]
    assert denials[2].rule == "no-such-grant"
    assert [d.details for d in denials] == [
        '{"attempted":"disclosure:grant:revoked"}',
        '{"attempted":"disclosure:grant:extended"}',
        '{"attempted":"disclosure:grant:revoked"}',
    ]
    # Nothing changed: the case's own worker still sees the grant live, unextended.
    register = client.get(f"/api/v1/cases/{case_id}/disclosures", headers=worker.headers).json()
    assert [(g["id"], g["revoked"], g["valid_until"]) for g in register] == [
        (grant["id"], False, grant["valid_until"])
    ]


def test_d9_expired_and_used_up_grants_are_refused(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, local_team: ApiUser, clock: FrozenClock
) -> None:
    doc = put_doc(client, worker, case_id, b"voorwaarden", Category.SAFETY_CONDITIONS)
    status, _ = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
        max_retrievals=2,
        valid_days=3,
    )
    assert status == 201
    assert client.get(f"/api/v1/documents/{doc}/content", headers=local_team.headers).status_code == 200
    assert client.get(f"/api/v1/documents/{doc}/content", headers=local_team.headers).status_code == 200
    assert client.get(f"/api/v1/documents/{doc}/content", headers=local_team.headers).status_code == 404
    status, _ = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
        valid_days=1,
    )
    assert status == 201
    clock.advance(days=1, seconds=1)
    # The session is idle-expired after a day; the partner logs in again (new verified session).
    fresh = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team Zuid", OrgType.LOCAL_TEAM))
    assert client.get(f"/api/v1/documents/{doc}/content", headers=fresh.headers).status_code == 404


def test_d9_legal_basis_must_fit_the_recipient_and_refusals_are_audited(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, clock: FrozenClock
) -> None:
    police = api_user(client, vault, clock, Role.PARTNER, org=("Politie Eenheid", OrgType.POLICE))
    put_doc(client, worker, case_id, b"melding", Category.REPORT)
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=police.org_id,
        purpose="aangifte",
        legal_basis="wmo-4.1.1-2-help",
        categories=["report"],
    )
    assert status == 403, body
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=police.org_id,
        purpose="aangifte",
        legal_basis="consent",
        categories=["report"],
    )
    assert status == 403, body  # consent without a reference
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=police.org_id,
        purpose="aangifte",
        legal_basis="wmo-4.1.1-2-police",
        categories=["report"],
    )
    assert status == 201, body
    with vault.db.session() as session:
        tags = list(session.scalars(select(AuditEntry.tag).where(AuditEntry.case_id == case_id)))
    assert tags.count(AuditTag.DISCLOSURE_GRANT_DENIED) == 2
    assert tags.count(AuditTag.DISCLOSURE_GRANT_CREATED) == 1


def test_d8_reporter_identity_and_medical_are_never_granted_without_release(
    client: TestClient, worker: ApiUser, case_id: str, local_team: ApiUser
) -> None:
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["reporter_identity"],
    )
    assert status == 400, body
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["reporter_identity"],
        include_reporter_identity=True,
    )
    assert status == 403, body
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["medical"],
    )
    assert status == 400, body


def test_disclosure_needs_step_up(
    client: TestClient, worker: ApiUser, case_id: str, local_team: ApiUser, clock: FrozenClock
) -> None:
    clock.advance(minutes=6)
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
    )
    assert status == 401
    assert body["error"] == "step_up_required"


def test_d8_reporter_feedback_names_only_follow_up_and_recipients(
    client: TestClient, worker: ApiUser, case_id: str, local_team: ApiUser
) -> None:
    r = client.get(f"/api/v1/cases/{case_id}/reporter-feedback", headers=worker.headers)
    assert r.json() == {"follow_up_started": False, "handed_to": []}
    disclose(
        client,
        worker,
        case_id,
        org_id=local_team.org_id,
        purpose="overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["safety_conditions"],
    )
    r = client.get(f"/api/v1/cases/{case_id}/reporter-feedback", headers=worker.headers)
    assert r.json() == {"follow_up_started": True, "handed_to": ["Lokaal team Zuid"]}
