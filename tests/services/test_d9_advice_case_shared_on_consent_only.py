"""D9, D2, D4: a help seeker's advice case is shared only on a share consent the help seeker gave
themself, or after the own-motion conversion has made it a report. A statutory code (``wmo-4.1.1-2-*``:
handling a report) never carries it (rule ``d9-advice-needs-consent``, 403, audited as every refused
basis); a share consent recorded as given by anyone else is refused (``d9-consent-giver``). A
professional's advice case (D3) is still shared on a statutory code: the professional asked for help."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user
from tests.partner_api import TEAM, disclose, open_report, put_doc
from vault.context import FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role
from vault.models import AuditEntry, Consent
from vault.runtime import Vault


def _denied_rules(vault: Vault, case_id: str) -> list[str | None]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.rule).where(
                    AuditEntry.case_id == case_id, AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_DENIED)
                )
            ).all()
        )


def test_d9_d2_a_help_seekers_advice_case_is_not_shared_on_a_statutory_code(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    police = api_user(client, vault, clock, Role.PARTNER, org=("Politie", OrgType.POLICE))
    case_id = open_report(vault, worker, kind=CaseKind.ADVICE_HELP_SEEKER)
    doc = put_doc(client, worker, case_id, b"Adviesgesprek: zij wil nog geen melding.", Category.ADVICE)
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=police.org_id,
        purpose="informeren",
        legal_basis="wmo-4.1.1-2-police",
        document_ids=[doc],
    )
    assert status == 403, body
    assert client.get(f"/api/v1/documents/{doc}/content", headers=police.headers).status_code == 404
    assert _denied_rules(vault, case_id) == ["d9-advice-needs-consent"]


def test_d9_d2_the_help_seekers_own_share_consent_carries_a_disclosure_of_their_advice_case(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    local = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team", OrgType.LOCAL_TEAM))
    case_id = open_report(vault, worker, kind=CaseKind.ADVICE_HELP_SEEKER)
    doc = put_doc(client, worker, case_id, b"Adviesgesprek.", Category.ADVICE)
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=worker.headers,
        json={"scope": "share_with_partner", "given_by": "help_seeker", "recipient_org_id": local.org_id},
    )
    assert r.status_code == 201, r.text
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=local.org_id,
        purpose="doorverwijzing",
        legal_basis="consent",
        consent_reference=r.json()["id"],
        document_ids=[doc],
    )
    assert status == 201, body
    assert client.get(f"/api/v1/documents/{doc}/content", headers=local.headers).status_code == 200


def test_d2_d9_a_share_consent_on_a_help_seekers_case_is_the_help_seekers_own(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """Seed 000: "toestemming van de hulpvrager". One recorded as given by the help seeker's partner is
    refused when recorded; one recorded so before this rule carries no disclosure."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    local = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team", OrgType.LOCAL_TEAM))
    case_id = open_report(vault, worker, kind=CaseKind.ADVICE_HELP_SEEKER)
    doc = put_doc(client, worker, case_id, b"Adviesgesprek.", Category.ADVICE)
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=worker.headers,
        json={"scope": "share_with_partner", "given_by": "partner", "recipient_org_id": local.org_id},
    )
    assert r.status_code == 400, r.text
    with vault.db.session() as session:
        assert session.scalars(select(Consent).where(Consent.case_id == case_id)).all() == []
        # one recorded before the rule (written as the old code did)
        session.add(
            Consent(
                id="c0000000-0000-4000-8000-000000000001",
                case_id=case_id,
                scope="share_with_partner",
                given_by="partner",
                recorded_at=clock.now(),
                recorded_by=worker.user_id,
                recipient_org_id=local.org_id,
            )
        )
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=local.org_id,
        purpose="doorverwijzing",
        legal_basis="consent",
        consent_reference="c0000000-0000-4000-8000-000000000001",
        document_ids=[doc],
    )
    assert status == 403, body
    assert _denied_rules(vault, case_id) == ["d9-consent-giver"]


def test_d3_d9_a_professionals_advice_case_is_still_shared_on_a_statutory_code(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """The rule is the help seeker's (D2): a professional asked Veilig Thuis's help for their client."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    police = api_user(client, vault, clock, Role.PARTNER, org=("Politie", OrgType.POLICE))
    case_id = open_report(vault, worker, kind=CaseKind.ADVICE_PROFESSIONAL)
    doc = put_doc(client, worker, case_id, b"brief", Category.CORRESPONDENCE)
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=police.org_id,
        purpose="informeren",
        legal_basis="wmo-4.1.1-2-police",
        document_ids=[doc],
    )
    assert status == 201, body
