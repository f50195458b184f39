"""D23: every disclosure names the Veilig Thuis contact (a name and a phone number the partner can call),
on the service, the API and the triage handover (D6); the partner sees both. D9: the statutory basis for
the municipality (``wmo-4.1.1-2-rvdk-municipality``) holds only while the child protection board is asked
to investigate the case (triage outcome, or a live disclosure to the board); otherwise the disclosure is
refused with its rule and the attempt audited. Real services and database; the clock is the only double.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import Staff
from tests.helpers import api_user, ctx_for, make_org, make_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role, TriageOutcome
from vault.models import AuditEntry, CaseWorkflow, Grant
from vault.runtime import Vault
from vault.services import triage
from vault.services.case_view import view_case
from vault.services.cases import open_report
from vault.services.disclosure_rules import plausible_phone
from vault.services.disclosures import (
    DisclosureInvalid,
    DisclosureRefused,
    DisclosureRequest,
    create_disclosure,
    disclose_in_transaction,
    revoke_disclosure,
)
from vault.services.gate import Admission, gated_write
from vault.services.partner_view import partner_inbox
from vault.services.subjects import PersonFields, Relation, ReporterFields

NAME = "Marieke de Vries"
PHONE = "030 123 45 67"
MUNICIPALITY_BASIS = "wmo-4.1.1-2-rvdk-municipality"


@pytest.fixture
def worker(vault: Vault, staff: Staff) -> Context:
    return staff.ctx(vault, staff.worker)


@pytest.fixture
def report(vault: Vault, worker: Context, staff: Staff) -> str:
    with vault.db.session() as session:
        return open_report(
            session,
            vault,
            worker,
            team_id=staff.team,
            reporter=ReporterFields(name="Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name="Kind"))],
        ).id


def _request(case_id: str, org_id: str, **changes: object) -> DisclosureRequest:
    request = DisclosureRequest(
        case_id=case_id,
        org_id=org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=frozenset({Category.SAFETY_CONDITIONS}),
        contact_name=NAME,
        contact_phone=PHONE,
    )
    return replace(request, **changes)


def _grants(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        count = select(func.count()).select_from(Grant).where(Grant.case_id == case_id)
        return int(session.scalar(count) or 0)


def _denied_rules(vault: Vault, case_id: str) -> list[str | None]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.rule)
                .where(AuditEntry.case_id == case_id, AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_DENIED))
                .order_by(AuditEntry.seq)
            )
        )


# --- D23: the contact ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"contact_name": ""}, "contact_name", "d23-contact-required"),
        ({"contact_name": "   "}, "contact_name", "d23-contact-required"),
        ({"contact_name": "0301234567"}, "contact_name", "d23-contact-required"),  # a number, no name
        ({"contact_phone": ""}, "contact_phone", "d23-contact-required"),
        ({"contact_phone": "  "}, "contact_phone", "d23-contact-required"),
        ({"contact_phone": "bel maar"}, "contact_phone", "d23-contact-phone"),
        ({"contact_phone": "------------"}, "contact_phone", "d23-contact-phone"),
        ({"contact_phone": "12345"}, "contact_phone", "d23-contact-phone"),  # too few digits
        ({"contact_phone": "+31 6 1234 5678 9012 345"}, "contact_phone", "d23-contact-phone"),  # too many
        ({"contact_phone": "030 123 45 67 of 06-12345678"}, "contact_phone", "d23-contact-phone"),
        ({"contact_phone": "030 123+45 67"}, "contact_phone", "d23-contact-phone"),  # + inside
        ({"contact_phone": "(030 123 45 67"}, "contact_phone", "d23-contact-phone"),  # unbalanced
    ],
)
def test_d23_a_disclosure_without_a_contact_name_or_a_plausible_phone_is_refused_by_the_service(
    vault: Vault, worker: Context, report: str, changes: dict[str, str], field: str, rule: str
) -> None:
    org = make_org(vault, OrgType.LOCAL_TEAM)
    with pytest.raises(DisclosureInvalid) as refused:
        create_disclosure(vault, worker, _request(report, org, **changes))
    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert _grants(vault, report) == 0


@pytest.mark.parametrize(
    "phone", ["030 123 45 67", "030-1234567", "+31 (0)30 123 45 67", "0800-2000", "(030) 123 4567"]
)
def test_d23_plausible_phone_numbers_are_accepted(phone: str) -> None:
    assert plausible_phone(phone)


def test_d23_the_partner_sees_the_contact_name_and_phone(vault: Vault, worker: Context, report: str) -> None:
    org = make_org(vault, OrgType.LOCAL_TEAM)
    view = create_disclosure(vault, worker, _request(report, org, contact_phone=f" {PHONE} "))
    partner = make_user(vault, Role.PARTNER, org_id=org)
    [item] = partner_inbox(vault, ctx_for(vault, partner, Role.PARTNER, org_id=org))
    assert item.grant.id == view.id
    assert (item.contact_name, item.contact_phone) == (NAME, PHONE)


def test_d6_d23_a_handover_without_a_contact_records_neither_outcome_nor_disclosure(
    vault: Vault, worker: Context, report: str
) -> None:
    local_team = make_org(vault, OrgType.LOCAL_TEAM)
    for contact in ({"contact_name": NAME}, {"contact_phone": PHONE}, {}):
        with pytest.raises(DisclosureInvalid) as refused:
            triage.record_triage_outcome(
                vault,
                worker,
                report,
                TriageOutcome.HANDOVER_LOCAL_TEAM,
                partner_org_id=local_team,
                **contact,
            )
        assert refused.value.rule == "d23-contact-required"
        assert view_case(vault, worker, report).triage_outcome is None
        assert _grants(vault, report) == 0
    triage.record_triage_outcome(
        vault,
        worker,
        report,
        TriageOutcome.HANDOVER_LOCAL_TEAM,
        partner_org_id=local_team,
        contact_name=NAME,
        contact_phone=PHONE,
    )
    with vault.db.session() as session:
        grant = session.scalars(select(Grant).where(Grant.case_id == report)).one()
        assert (grant.contact_name, grant.contact_phone) == (NAME, PHONE)


def test_d23_the_api_refuses_a_disclosure_without_contact_name_or_phone_naming_the_field(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team API")
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    team_id = team_id_of(vault, "Team API")
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=ReporterFields(name="Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name="Kind"))],
        ).id
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team API", OrgType.LOCAL_TEAM))
    body = {
        "org_id": partner.org_id,
        "purpose": "warme overdracht",
        "legal_basis": "wmo-4.1.1-2-help",
        "categories": ["safety_conditions"],
        "contact_name": NAME,
        "contact_phone": PHONE,
    }
    url = f"/api/v1/cases/{case_id}/disclosures"
    for field, value in (
        ("contact_name", None),
        ("contact_name", "   "),
        ("contact_phone", None),
        ("contact_phone", "bel 0301234567 nu"),
    ):
        sent = {k: v for k, v in body.items() if k != field}
        if value is not None:
            sent[field] = value
        r = client.post(url, headers=worker.headers, json=sent)
        assert r.status_code == 422, r.text
        assert field in r.json()["detail"]
        assert value is None or value not in r.text  # never echoes what was sent
    assert _grants(vault, case_id) == 0
    r = client.post(url, headers=worker.headers, json=body)
    assert r.status_code == 201, r.text
    [item] = client.get("/api/v1/partner/inbox", headers=partner.headers).json()
    assert (item["contact_name"], item["contact_phone"]) == (NAME, PHONE)


# --- D9: the municipality only while the board is asked to investigate -------------------------------


def test_d9_municipality_basis_is_refused_and_audited_when_the_board_was_never_asked(
    vault: Vault, worker: Context, report: str
) -> None:
    municipality = make_org(vault, OrgType.MUNICIPALITY)
    with pytest.raises(DisclosureRefused) as refused:
        create_disclosure(vault, worker, _request(report, municipality, legal_basis=MUNICIPALITY_BASIS))
    assert refused.value.rule == "d9-rvdk-not-asked"
    assert _grants(vault, report) == 0
    assert _denied_rules(vault, report) == ["d9-rvdk-not-asked"]


def test_d9_municipality_basis_holds_only_while_a_disclosure_to_the_board_is_live(
    vault: Vault, staff: Staff, worker: Context, report: str, clock: FrozenClock
) -> None:
    municipality = make_org(vault, OrgType.MUNICIPALITY)
    board = make_org(vault, OrgType.CHILD_PROTECTION_BOARD)
    to_municipality = _request(report, municipality, legal_basis=MUNICIPALITY_BASIS, confirm_duplicate=True)
    asked = create_disclosure(
        vault,
        worker,
        _request(report, board, legal_basis="wmo-4.1.1-2-rvdk", categories=frozenset({Category.REPORT})),
    )
    assert create_disclosure(vault, worker, to_municipality).legal_basis == MUNICIPALITY_BASIS
    # Revoked: the board is no longer asked on this ground.
    revoke_disclosure(vault, worker, asked.id)
    with pytest.raises(DisclosureRefused):
        create_disclosure(vault, worker, to_municipality)
    # Expired: likewise.
    create_disclosure(
        vault,
        worker,
        _request(
            report,
            board,
            legal_basis="wmo-4.1.1-2-rvdk",
            categories=frozenset({Category.REPORT}),
            valid_days=1,
            confirm_duplicate=True,
        ),
    )
    clock.advance(days=2)
    worker = staff.ctx(vault, staff.worker)  # a fresh second factor, two days later
    with pytest.raises(DisclosureRefused):
        create_disclosure(vault, worker, to_municipality)
    # A live disclosure to another kind of partner does not count.
    create_disclosure(
        vault, worker, _request(report, make_org(vault, OrgType.POLICE), legal_basis="wmo-4.1.1-2-police")
    )
    with pytest.raises(DisclosureRefused):
        create_disclosure(vault, worker, to_municipality)
    assert _denied_rules(vault, report) == ["d9-rvdk-not-asked"] * 3


def test_d6_d9_after_triage_requests_the_board_the_municipality_may_be_told(
    vault: Vault, worker: Context, report: str
) -> None:
    municipality = make_org(vault, OrgType.MUNICIPALITY)
    board = make_org(vault, OrgType.CHILD_PROTECTION_BOARD)
    # D6: the request to the board creates its disclosure in the same transaction as the outcome.
    triage.record_triage_outcome(
        vault,
        worker,
        report,
        TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD,
        partner_org_id=board,
        contact_name=NAME,
        contact_phone=PHONE,
    )
    with vault.db.session() as session:
        [to_board] = session.scalars(select(Grant).where(Grant.case_id == report)).all()
        assert (to_board.org_id, to_board.legal_basis) == (board, "wmo-4.1.1-2-rvdk")
    # The outcome alone suffices: with the board's disclosure revoked the request still stands.
    revoke_disclosure(vault, worker, to_board.id)
    with vault.db.session() as session:
        workflow = session.get(CaseWorkflow, report)
        assert workflow is not None
        assert workflow.triage_outcome == TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD
    view = create_disclosure(vault, worker, _request(report, municipality, legal_basis=MUNICIPALITY_BASIS))
    assert (view.org_id, view.legal_basis) == (municipality, MUNICIPALITY_BASIS)
    assert _denied_rules(vault, report) == []


def test_d9_a_refusal_inside_the_callers_transaction_rolls_it_back_and_is_audited_with_its_rule(
    vault: Vault, worker: Context, report: str
) -> None:
    """``disclose_in_transaction`` (the triage handover's way, D6) refuses like ``create_disclosure``:
    the caller's write rolls back and the gated write audits the refusal with the D9 rule."""
    municipality = make_org(vault, OrgType.MUNICIPALITY)
    request = _request(report, municipality, legal_basis=MUNICIPALITY_BASIS)

    def write(session: Session, _admission: Admission) -> None:
        workflow = session.get(CaseWorkflow, report)
        assert workflow is not None
        workflow.meldcode_step = 5  # a change of the caller's that must not outlive the refusal
        disclose_in_transaction(session, vault, worker, request)

    with pytest.raises(DisclosureRefused):
        gated_write(
            vault,
            worker,
            report,
            category=Category.SAFETY_ASSESSMENT,
            tag=AuditTag.DOSSIER_TRIAGE_DECIDED,
            object_type="case",
            object_id=report,
            then=write,
        )
    assert _grants(vault, report) == 0
    with vault.db.session() as session:
        workflow = session.get(CaseWorkflow, report)
        assert workflow is not None
        assert workflow.meldcode_step is None
        denied = session.scalars(
            select(AuditEntry.rule).where(
                AuditEntry.case_id == report, AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED)
            )
        ).all()
    assert denied == ["d9-rvdk-not-asked"]
