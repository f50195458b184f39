"""D10/D16/D21: creating a disclosure first decides whether the caller may disclose the case at all (a
gate decision: refused with the gate's one answer, 404 for non-staff, and audited). Only for one who
may disclose do the named documents and the D9 basis give their own reasons, so a partner learns
nothing from the order of the checks: not whether the child protection board was asked, nor whether a
case exists. The refusals of the named documents (a medical document, never disclosed; a document of
another case) are audited too (``disclosure:grant:denied``, ids and rule), as the share form says
("De poging is vastgelegd")."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user, ctx_for, make_org, make_team, make_user, new_case, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role, TriageOutcome
from vault.domain import Decision as Effect
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.models import AuditEntry, Grant
from vault.runtime import Vault
from vault.services import disclosures, triage

MUNICIPALITY_BASIS = "wmo-4.1.1-2-rvdk-municipality"
CONTACT = {"contact_name": "Sanne de Vries", "contact_phone": "030 123 45 67"}


def _denials(vault: Vault, actor_id: str) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.actor_id == actor_id, AuditEntry.decision == str(Effect.DENY))
                .order_by(AuditEntry.seq)
            )
        )


def _grants(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return len(session.scalars(select(Grant.id).where(Grant.case_id == case_id)).all())


def _worker(vault: Vault, team: str, role: Role = Role.MEDEWERKER) -> Context:
    return ctx_for(vault, make_user(vault, role, teams=[team]), role)


def _documents_request(case_id: str, org_id: str, *document_ids: str) -> disclosures.DisclosureRequest:
    return disclosures.DisclosureRequest(
        case_id=case_id,
        org_id=org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        document_ids=frozenset(document_ids),
        contact_name=CONTACT["contact_name"],
        contact_phone=CONTACT["contact_phone"],
    )


def _post_to_municipality(
    client: TestClient, headers: dict[str, str], case_id: str, org_id: str
) -> tuple[int, object]:
    r = client.post(
        f"/api/v1/cases/{case_id}/disclosures",
        headers=headers,
        json={
            "org_id": org_id,
            "purpose": "onderzoek",
            "legal_basis": MUNICIPALITY_BASIS,
            "categories": [str(Category.REPORT)],
            "contact_name": "Piet",
            "contact_phone": "030 123 45 67",
        },
    )
    return r.status_code, r.json()


# --- Defect 1: the partner's refusal is decided before the basis (no oracle) ---------------------


def test_d10_a_partner_cannot_tell_from_a_refused_disclosure_whether_the_board_was_asked(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    team = make_team(vault)
    worker = _worker(vault, team)
    official = api_user(client, vault, clock, Role.PARTNER, org=("Gemeente Utrecht", OrgType.MUNICIPALITY))
    assert official.org_id is not None
    board = make_org(vault, OrgType.CHILD_PROTECTION_BOARD, "Raad voor de Kinderbescherming")
    quiet = new_case(vault, worker, team)
    asked = new_case(vault, worker, team)
    worker = ctx_for(vault, worker.actor_id or "", Role.MEDEWERKER)  # a fresh step-up
    triage.record_triage_outcome(
        vault, worker, asked, TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD, partner_org_id=board, **CONTACT
    )
    answers = [_post_to_municipality(client, official.headers, c, official.org_id) for c in (quiet, asked)]
    assert answers[0] == answers[1], f"the refusal tells the partner the triage outcome: {answers}"
    assert answers[0][0] == 404
    # Both attempts are audited as refused disclosures, with the policy's rule (not the basis's).
    denied = [e for e in _denials(vault, official.user_id) if e.tag == str(AuditTag.DISCLOSURE_GRANT_DENIED)]
    assert [e.case_id for e in denied] == [quiet, asked]
    assert {e.rule for e in denied} == {"default-deny"}, [e.rule for e in denied]
    assert _grants(vault, quiet) == 0


def test_d10_a_partner_cannot_tell_from_a_refused_disclosure_whether_a_case_exists(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    team = make_team(vault)
    worker = _worker(vault, team)
    official = api_user(client, vault, clock, Role.PARTNER, org=("Gemeente Zeist", OrgType.MUNICIPALITY))
    assert official.org_id is not None
    existing = new_case(vault, worker, team)
    answers = [
        _post_to_municipality(client, official.headers, c, official.org_id)
        for c in (existing, str(uuid.uuid4()))
    ]
    assert answers[0] == answers[1], f"the refusal tells the partner whether the case exists: {answers}"
    assert answers[0][0] == 404
    denied = [e for e in _denials(vault, official.user_id) if e.tag == str(AuditTag.DISCLOSURE_GRANT_DENIED)]
    # The unknown case's id is a client's, not the database's: the entry names no case.
    assert [e.case_id for e in denied] == [existing, None]


def test_d10_staff_who_may_not_disclose_get_the_policy_refusal_before_the_document_checks(
    vault: Vault,
) -> None:
    team = make_team(vault)
    worker = _worker(vault, team)
    doctor = _worker(vault, team, Role.VERTROUWENSARTS)
    case_id = new_case(vault, worker, team)
    medical = upload(vault, doctor, case_id, b"Letselverklaring\n", category=Category.MEDICAL)
    outsider = _worker(vault, make_team(vault))
    gp = make_org(vault, OrgType.GP, "Huisartsenpraktijk Dorp")
    with pytest.raises(Forbidden):
        disclosures.create_disclosure(vault, outsider, _documents_request(case_id, gp, medical))
    (entry,) = _denials(vault, outsider.actor_id or "")
    assert (entry.tag, entry.case_id, entry.object_id) == (str(AuditTag.DISCLOSURE_GRANT_DENIED), case_id, gp)
    assert entry.rule == "default-deny"
    assert json.loads(entry.details) == {}


# --- Defect 2: the refusals of the named documents are audited ------------------------------------


def test_d10_d21_an_attempt_to_disclose_a_medical_document_is_audited(vault: Vault) -> None:
    team = make_team(vault)
    worker = _worker(vault, team)
    doctor = _worker(vault, team, Role.VERTROUWENSARTS)
    case_id = new_case(vault, worker, team)
    report = upload(vault, worker, case_id, b"verslag\n")
    medical = upload(vault, doctor, case_id, b"Letselverklaring\n", category=Category.MEDICAL)
    gp = make_org(vault, OrgType.GP, "Huisartsenpraktijk Dorp")
    with pytest.raises(InvalidInput, match="medical documents are never disclosed"):
        disclosures.create_disclosure(vault, worker, _documents_request(case_id, gp, report, medical))
    entries = _denials(vault, worker.actor_id or "")
    assert entries, "the refused medical disclosure left no audit entry"
    (entry,) = entries
    assert (entry.tag, entry.rule) == (str(AuditTag.DISCLOSURE_GRANT_DENIED), "d10-medical-never-disclosed")
    assert (entry.case_id, entry.object_type, entry.object_id) == (case_id, "organisation", gp)
    assert json.loads(entry.details) == {"document_id": medical}  # ids only
    assert _grants(vault, case_id) == 0


def test_d10_d21_a_probe_of_another_cases_document_is_audited(vault: Vault) -> None:
    team = make_team(vault)
    worker = _worker(vault, team)
    other_team = make_team(vault)
    other = _worker(vault, other_team)
    foreign_doc = upload(vault, other, new_case(vault, other, other_team), b"verslag\n")
    case_id = new_case(vault, worker, team)
    gp = make_org(vault, OrgType.GP, "Huisartsenpraktijk Dorp")
    with pytest.raises(NotFound):
        disclosures.create_disclosure(vault, worker, _documents_request(case_id, gp, foreign_doc))
    # A document id nobody has is refused the same way; what the client typed is not logged.
    typed = "Jansen, Pieter 12-03-2015"
    with pytest.raises(NotFound):
        disclosures.create_disclosure(vault, worker, _documents_request(case_id, gp, typed))
    entries = _denials(vault, worker.actor_id or "")
    assert entries, "the probe of another case's document left no entry"
    assert [(e.tag, e.rule, e.case_id) for e in entries] == [
        (str(AuditTag.DISCLOSURE_GRANT_DENIED), "d10-document-not-in-case", case_id)
    ] * 2
    assert [json.loads(e.details) for e in entries] == [{"document_id": foreign_doc}, {}]
    assert all(typed not in (e.details + (e.object_id or "")) for e in entries)
    assert _grants(vault, case_id) == 0
