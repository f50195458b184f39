"""D9 (D13): a consent to share "given by the child" is accepted only when the child is old enough to
give it: 12 or older on the day, by the recorded date of birth (the age from which the project lets a
child act for themself, D13). A consent names a relation, not a person, so every child of the case
must be so (none recorded, or one with no date of birth: refused, fail closed). Otherwise it is
refused when recorded (rule ``d9-consent-giver``, audited, 400) and nothing carries a disclosure."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.helpers import ApiUser, api_user, case_entries
from tests.partner_api import TEAM, disclose, open_report, put_doc
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.runtime import Vault


def _child(client: TestClient, worker: ApiUser, case_id: str, **fields: str) -> None:
    r = client.post(
        f"/api/v1/cases/{case_id}/subjects", headers=worker.headers, json={"relation": "child", **fields}
    )
    assert r.status_code == 201, r.text


def _childs_consent(client: TestClient, worker: ApiUser, case_id: str, org_id: str | None) -> int:
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=worker.headers,
        json={"scope": "share_with_partner", "given_by": "child", "recipient_org_id": org_id},
    )
    return r.status_code


def test_d9_a_share_consent_recorded_as_the_childs_without_a_known_age_is_refused(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    relative = api_user(client, vault, clock, Role.PARTNER, org=("Stichting Familie", OrgType.OTHER))
    case_id = open_report(vault, worker)
    assert _childs_consent(client, worker, case_id, relative.org_id) == 400  # no child recorded
    _child(client, worker, case_id, name="Kind Zonder Datum")  # a child, date of birth not recorded
    assert _childs_consent(client, worker, case_id, relative.org_id) == 400
    denied = case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)
    assert [e.rule for e in denied] == ["d9-consent-giver", "d9-consent-giver"]


def test_d9_a_child_under_12_does_not_consent_to_sharing(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """The clock stands at 2 March 2026: one child is 15, the other turns 12 tomorrow."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    relative = api_user(client, vault, clock, Role.PARTNER, org=("Stichting Familie", OrgType.OTHER))
    case_id = open_report(vault, worker)
    assert clock.now().date() == date(2026, 3, 2)
    _child(client, worker, case_id, name="Oudste Kind", date_of_birth="2011-01-01")
    _child(client, worker, case_id, name="Jongste Kind", date_of_birth="2014-03-03")
    assert _childs_consent(client, worker, case_id, relative.org_id) == 400
    clock.advance(days=1)  # now both are 12 or older
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    assert _childs_consent(client, worker, case_id, relative.org_id) == 201


def test_d9_a_child_of_12_or_older_consents_to_sharing(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    relative = api_user(client, vault, clock, Role.PARTNER, org=("Stichting Familie", OrgType.OTHER))
    case_id = open_report(vault, worker)
    doc = put_doc(client, worker, case_id, b"verslag", Category.REPORT)
    twelve_today = clock.now().date().replace(year=clock.now().year - 12)
    _child(client, worker, case_id, name="Kind Twaalf", date_of_birth=twelve_today.isoformat())
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=worker.headers,
        json={"scope": "share_with_partner", "given_by": "child", "recipient_org_id": relative.org_id},
    )
    assert r.status_code == 201, r.text
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=relative.org_id,
        purpose="steun",
        legal_basis="consent",
        consent_reference=r.json()["id"],
        document_ids=[doc],
    )
    assert status == 201, body
