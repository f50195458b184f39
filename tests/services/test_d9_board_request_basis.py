"""D9: the municipality's basis (``wmo-4.1.1-2-rvdk-municipality``) holds only while the child protection
board is asked to investigate: the triage outcome, or a live grant to the board on the board's own
request code (``wmo-4.1.1-2-rvdk``) — never a grant on a parent's consent, which asks the Raad nothing.
And the request must be the one the municipality's grant was made under, live ever since its start:
once the basis lapsed (the board's grant expired), a later grant to the board does not bring the
municipality's grant back, nor lets it be extended."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user
from tests.partner_api import disclose, open_report, put_doc
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.models import AuditEntry
from vault.runtime import Vault

TEAM = "Team Raad"
BOARD = ("Raad voor de Kinderbescherming", OrgType.CHILD_PROTECTION_BOARD)
TOWN = ("Gemeente", OrgType.MUNICIPALITY)


def test_d9_a_consent_grant_to_the_board_is_no_request_to_investigate_for_the_municipality(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    board = api_user(client, vault, clock, Role.PARTNER, org=BOARD)
    town = api_user(client, vault, clock, Role.PARTNER, org=TOWN)
    case_id = open_report(vault, worker, TEAM)
    letter = put_doc(client, worker, case_id, b"brief", Category.CORRESPONDENCE)
    put_doc(client, worker, case_id, b"onderzoeksverslag", Category.INVESTIGATION)
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=worker.headers,
        json={"scope": "share_with_partner", "given_by": "parent", "recipient_org_id": board.org_id},
    )
    assert r.status_code == 201, r.text
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=board.org_id,
        purpose="brief ter informatie",
        legal_basis="consent",
        consent_reference=r.json()["id"],
        document_ids=[letter],
    )
    assert status == 201, body
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=town.org_id,
        purpose="gemeente",
        legal_basis="wmo-4.1.1-2-rvdk-municipality",
        categories=["investigation"],
    )
    assert status == 403, body
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry.rule).where(
                AuditEntry.case_id == case_id, AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_DENIED)
            )
        ).all()
    assert denied == ["d9-rvdk-not-asked"]


def _board_then_town(client: TestClient, vault: Vault, clock: FrozenClock) -> tuple[ApiUser, str, str, dict]:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    board = api_user(client, vault, clock, Role.PARTNER, org=BOARD)
    town = api_user(client, vault, clock, Role.PARTNER, org=TOWN)
    case_id = open_report(vault, worker, TEAM)
    doc = put_doc(client, worker, case_id, b"onderzoeksverslag", Category.INVESTIGATION)
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=board.org_id,
        purpose="verzoek tot onderzoek",
        legal_basis="wmo-4.1.1-2-rvdk",
        categories=["investigation"],
        valid_days=2,
    )
    assert status == 201, body
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=town.org_id,
        purpose="gemeente bij raadsonderzoek",
        legal_basis="wmo-4.1.1-2-rvdk-municipality",
        categories=["investigation"],
        valid_days=60,
        max_retrievals=10,
    )
    assert status == 201, grant
    assert client.get(f"/api/v1/documents/{doc}/content", headers=town.headers).status_code == 200
    return board, case_id, doc, grant


def _new_letter_to_the_board(
    client: TestClient, vault: Vault, clock: FrozenClock, board: ApiUser, case_id: str
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    letter = put_doc(client, worker, case_id, b"brief", Category.CORRESPONDENCE)
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=board.org_id,
        purpose="brief ter informatie",
        legal_basis="wmo-4.1.1-2-rvdk",
        document_ids=[letter],
        valid_days=5,
    )
    assert status == 201, body


def test_d9_a_municipality_grant_whose_basis_lapsed_is_not_brought_back_by_a_new_board_grant(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    board, case_id, doc, _grant = _board_then_town(client, vault, clock)
    clock.advance(days=10)  # the board's disclosure expired: the request to the board is over
    town = api_user(client, vault, clock, Role.PARTNER, org=TOWN)
    assert client.get(f"/api/v1/documents/{doc}/content", headers=town.headers).status_code == 404
    clock.advance(days=20)  # weeks later, something else is shared with the board
    _new_letter_to_the_board(client, vault, clock, board, case_id)
    town = api_user(client, vault, clock, Role.PARTNER, org=TOWN)
    assert client.get("/api/v1/partner/inbox", headers=town.headers).json() == []
    assert client.get(f"/api/v1/documents/{doc}/content", headers=town.headers).status_code == 404


def test_d9_a_municipality_grant_whose_basis_lapsed_is_not_extended_after_a_new_board_grant(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    board, case_id, _doc, grant = _board_then_town(client, vault, clock)
    clock.advance(days=10)
    _new_letter_to_the_board(client, vault, clock, board, case_id)
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    r = client.post(f"/api/v1/disclosures/{grant['id']}/extend", headers=worker.headers, json={"days": 55})
    assert r.status_code == 403, r.text
