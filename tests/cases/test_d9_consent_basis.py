"""D9: a disclosure on consent rests on a recorded, unwithdrawn sharing consent of the case that names
the recipient; withdrawing that consent revokes its grants at once, each revocation audited.

Real HTTP (TestClient), real accounts with TOTP, real database and crypto; the clock is the only double.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, case_entries, make_org, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role
from vault.domain import Decision as Effect
from vault.models import AuditEntry, Grant
from vault.runtime import Vault
from vault.services.cases import open_case

TEAM = "Team Oost"
FREE_TEXT_REFERENCE = "toestemming moeder 12-3"


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def relative(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    """A recipient with no statutory ground at all (organisation type "other"): consent only."""
    return api_user(client, vault, clock, Role.PARTNER, org=("Stichting Familiezorg", OrgType.OTHER))


def _open_case(vault: Vault, worker: ApiUser) -> str:
    ctx = Context(
        actor_id=worker.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        second_factor_verified=True,
        clock=vault.clock,
    )
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id


@pytest.fixture
def case_id(vault: Vault, worker: ApiUser) -> str:
    return _open_case(vault, worker)


def _consent(
    client: TestClient,
    user: ApiUser,
    case_id: str,
    org_id: str | None,
    scope: str = "share_with_partner",
) -> str:
    giver = "help_seeker" if scope == "register_personal_data" else "parent"  # D2: only their own
    body: dict[str, object] = {"scope": scope, "given_by": giver}
    if org_id is not None:
        body["recipient_org_id"] = org_id
    r = client.post(f"/api/v1/cases/{case_id}/consents", headers=user.headers, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _upload(client: TestClient, user: ApiUser, case_id: str, category: Category, data: bytes) -> str:
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": str(category)},
        content=data,
        headers={**user.headers, "X-Document-Title": "stuk", "X-Document-Filename": "stuk.txt"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document_id"])


def _disclose(
    client: TestClient, user: ApiUser, case_id: str, org_id: str, reference: str | None, **extra: object
) -> tuple[int, dict[str, object]]:
    body: dict[str, object] = {
        "org_id": org_id,
        "purpose": "steun in de familie",
        "legal_basis": "consent",
        "contact_name": "Marieke de Vries",  # D23
        "contact_phone": "030 123 45 67",
        "categories": ["safety_conditions"],
        **extra,
    }
    if reference is not None:
        body["consent_reference"] = reference
    r = client.post(f"/api/v1/cases/{case_id}/disclosures", headers=user.headers, json=body)
    return r.status_code, r.json()


def test_d9_consent_basis_needs_a_live_recorded_sharing_consent_naming_the_recipient(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, relative: ApiUser
) -> None:
    assert relative.org_id is not None
    other_org = make_org(vault, OrgType.OTHER, "Buurtvereniging")
    other_case = _open_case(vault, worker)
    of_other_case = _consent(client, worker, other_case, relative.org_id)
    for_other_org = _consent(client, worker, case_id, other_org)
    register_only = _consent(client, worker, case_id, None, scope="register_personal_data")
    withdrawn = _consent(client, worker, case_id, relative.org_id)
    r = client.post(f"/api/v1/cases/{case_id}/consents/{withdrawn}/withdraw", headers=worker.headers)
    assert r.status_code == 204

    not_recorded = "the consent reference names no consent of this case"
    not_covering = "the recorded consent does not cover this recipient"
    refusals = [
        (FREE_TEXT_REFERENCE, "d9-consent-not-recorded", not_recorded),
        (of_other_case, "d9-consent-not-recorded", not_recorded),
        (for_other_org, "d9-consent-scope", not_covering),
        (register_only, "d9-consent-scope", not_covering),
        (withdrawn, "d9-consent-withdrawn", "the recorded consent was withdrawn"),
    ]
    for reference, _rule, reason in refusals:
        status, body = _disclose(client, worker, case_id, relative.org_id, reference)
        assert status == 403, (reference, body)
        assert body == {"error": "forbidden", "detail": f"disclosure refused: {reason}"}

    denied = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_DENIED)
    assert [e.rule for e in denied] == [rule for _ref, rule, _reason in refusals]
    assert all(e.decision == Effect.DENY and e.object_id == relative.org_id for e in denied)
    assert all(e.legal_basis == "consent" for e in denied)
    with vault.db.session() as session:
        assert session.scalars(select(Grant).where(Grant.case_id == case_id)).all() == []
        # The typed reference is client text: it never reaches the log.
        logged = [
            json.dumps([e.details, e.object_id, e.rule, e.purpose])
            for e in session.scalars(select(AuditEntry))
        ]
    assert not any("moeder" in line for line in logged)

    live = _consent(client, worker, case_id, relative.org_id)
    status, body = _disclose(client, worker, case_id, relative.org_id, live)
    assert status == 201, body
    with vault.db.session() as session:
        grant = session.get(Grant, str(body["id"]))
        assert grant is not None
        assert grant.consent_id == live
        assert grant.legal_basis == "consent"
    created = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_CREATED)
    assert [(e.object_id, e.legal_basis) for e in created] == [(body["id"], "consent")]


def test_d9_a_sharing_consent_names_exactly_one_real_recipient(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, relative: ApiUser
) -> None:
    url = f"/api/v1/cases/{case_id}/consents"
    no_recipient = client.post(
        url, headers=worker.headers, json={"scope": "share_with_partner", "given_by": "parent"}
    )
    assert no_recipient.status_code == 400, no_recipient.text
    assert "recipient" in no_recipient.json()["detail"]
    register_with_recipient = client.post(
        url,
        headers=worker.headers,
        json={"scope": "register_personal_data", "given_by": "parent", "recipient_org_id": relative.org_id},
    )
    assert register_with_recipient.status_code == 400, register_with_recipient.text
    unknown = client.post(
        url,
        headers=worker.headers,
        json={
            "scope": "share_with_partner",
            "given_by": "parent",
            "recipient_org_id": "00000000-0000-4000-8000-000000000000",
        },
    )
    assert unknown.status_code == 404, unknown.text
    veilig_thuis = make_org(vault, OrgType.VEILIG_THUIS, "Veilig Thuis Oost")
    to_ourselves = client.post(
        url,
        headers=worker.headers,
        json={"scope": "share_with_partner", "given_by": "parent", "recipient_org_id": veilig_thuis},
    )
    assert to_ourselves.status_code == 404, to_ourselves.text


def test_d9_withdrawing_the_consent_revokes_its_grants_at_once_each_audited(
    client: TestClient,
    vault: Vault,
    worker: ApiUser,
    case_id: str,
    relative: ApiUser,
    clock: FrozenClock,
) -> None:
    assert relative.org_id is not None
    conditions = _upload(client, worker, case_id, Category.SAFETY_CONDITIONS, b"voorwaarden")
    letter = _upload(client, worker, case_id, Category.CORRESPONDENCE, b"brief")
    consent = _consent(client, worker, case_id, relative.org_id)
    second_consent = _consent(client, worker, case_id, relative.org_id)
    status, first = _disclose(client, worker, case_id, relative.org_id, consent)
    assert status == 201, first
    status, second = _disclose(
        client, worker, case_id, relative.org_id, consent, categories=[], document_ids=[letter]
    )
    assert status == 201, second
    status, other = _disclose(
        client,
        worker,
        case_id,
        relative.org_id,
        second_consent,
        categories=["correspondence"],
        confirm_duplicate=True,  # the letter is already shared under the second grant
    )
    assert status == 201, other
    assert client.get(f"/api/v1/documents/{conditions}/content", headers=relative.headers).status_code == 200

    r = client.post(f"/api/v1/cases/{case_id}/consents/{consent}/withdraw", headers=worker.headers)
    assert r.status_code == 204

    # At once: the very next retrieval through those grants is refused; the other consent's grant lives.
    assert client.get(f"/api/v1/documents/{conditions}/content", headers=relative.headers).status_code == 404
    inbox = client.get("/api/v1/partner/inbox", headers=relative.headers).json()
    assert [item["grant"]["id"] for item in inbox] == [other["id"]]
    listed = client.get(f"/api/v1/cases/{case_id}/disclosures", headers=worker.headers).json()
    assert {g["id"]: g["revoked"] for g in listed} == {
        first["id"]: True,
        second["id"]: True,
        other["id"]: False,
    }

    revoked = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_REVOKED)
    assert sorted(str(e.object_id) for e in revoked) == sorted([str(first["id"]), str(second["id"])])
    for entry in revoked:
        assert entry.object_type == "grant"
        assert entry.rule == "d9-consent-withdrawn"
        assert entry.actor_id == worker.user_id
        assert json.loads(entry.details) == {
            "org_id": relative.org_id,
            "consent_id": consent,
            "reason": "consent-withdrawn",
        }
    withdrawn = case_entries(vault, case_id, AuditTag.DOSSIER_CONSENT_WITHDRAWN)
    assert [e.object_id for e in withdrawn] == [consent]

    # Withdrawn once; a second withdrawal is a conflict and revokes nothing more.
    again = client.post(f"/api/v1/cases/{case_id}/consents/{consent}/withdraw", headers=worker.headers)
    assert again.status_code == 409
    assert len(case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_REVOKED)) == 2
    # And no new grant can rest on it.
    status, body = _disclose(client, worker, case_id, relative.org_id, consent)
    assert status == 403, body


def test_d9_destroying_a_case_with_a_grant_resting_on_a_consent_keeps_the_grant_without_the_consent(
    client: TestClient, vault: Vault, worker: ApiUser, case_id: str, relative: ApiUser
) -> None:
    """D11/D12: destruction removes the consents but keeps the grants (history); the link is cleared."""
    from vault.services import destruction

    assert relative.org_id is not None
    consent = _consent(client, worker, case_id, relative.org_id)
    status, grant = _disclose(client, worker, case_id, relative.org_id, consent)
    assert status == 201, grant
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    with vault.db.session() as session:
        row = session.get(Grant, str(grant["id"]))
        assert row is not None
        assert row.consent_id is None
        assert row.legal_basis == "consent"


def test_d9_migration_0007_links_earlier_consent_grants_whose_reference_is_a_consent_id(
    empty_database_url: str,
) -> None:
    """Grants made before 0007 keep their rows; the ones whose free-text reference is the id of a consent
    of the same case rest on that consent afterwards (so a withdrawal finds them), the others on none."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from vault import migrate
    from vault.db import Database

    db = Database(empty_database_url)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    rows = [
        ("g-linked", "c1", "consent", "k1"),  # the id of a consent of this case
        ("g-other-case", "c2", "consent", "k1"),  # a consent id, but of another case
        ("g-free-text", "c1", "consent", "toestemming moeder"),
        ("g-statutory", "c1", "wmo-4.1.1-2-help", "k1"),
    ]
    try:
        migrate.upgrade(db.engine, "0006")
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO teams (id, name, created_at) VALUES ('t1', 'T', :now)"), {"now": now}
            )
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, org_type, created_at) "
                    "VALUES ('o1', 'O', 'other', :now)"
                ),
                {"now": now},
            )
            for case in ("c1", "c2"):
                conn.execute(
                    text(
                        "INSERT INTO cases (id, kind, team_id, legal_basis, created_at, last_changed_at, "
                        "destroy_after) VALUES (:id, 'report', 't1', 'wmo-5.1.6', :now, :now, :now)"
                    ),
                    {"id": case, "now": now},
                )
            conn.execute(
                text(
                    "INSERT INTO consents (id, case_id, scope, given_by, recorded_at, recorded_by) "
                    "VALUES ('k1', 'c1', 'share_with_partner', 'parent', :now, 'u1')"
                ),
                {"now": now},
            )
            for grant_id, case, basis, reference in rows:
                conn.execute(
                    text(
                        "INSERT INTO grants (id, case_id, org_id, purpose, legal_basis, consent_reference, "
                        "valid_from, valid_until, max_retrievals, retrievals_used, "
                        "reporter_identity_released, created_at) "
                        "VALUES (:id, :case, 'o1', 'p', :basis, :ref, :now, :now, 1, 0, false, :now)"
                    ),
                    {"id": grant_id, "case": case, "basis": basis, "ref": reference, "now": now},
                )
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            linked: dict[str, str | None] = dict(
                conn.execute(text("SELECT id, consent_id FROM grants")).all()
            )
            recipients = conn.execute(text("SELECT recipient_org_id FROM consents")).scalars().all()
    finally:
        db.dispose()
    assert linked == {"g-linked": "k1", "g-other-case": None, "g-free-text": None, "g-statutory": None}
    assert recipients == [None]
