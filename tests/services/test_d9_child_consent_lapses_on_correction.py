"""D9, D13: a child's consent to share rests on facts recorded about the child — a child of the case,
12 or older by the recorded date of birth. A correction of that child that takes one of these away (the
date of birth corrected to a younger child, or removed; the relation corrected) makes the consent lapse
in the same transaction: it is withdrawn (``dossier:consent:withdrawn``, rule
``d9-child-consent-lapsed``, ids only) and every disclosure resting on it is revoked, so the partner
reads nothing more under it. A correction that leaves the child 12 or older keeps the consent.

Real app, real accounts with TOTP, real database and crypto; the clock is the only double."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import ApiUser, api_user, case_entries
from tests.partner_api import TEAM, disclose, open_report, put_doc
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.models import Consent, Grant
from vault.runtime import Vault

_THIRTEEN = "2013-01-01"  # the clock stands at 2 March 2026


def _shared_on_a_childs_consent(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> tuple[ApiUser, ApiUser, str, str, str, str, str]:
    """A 13-year-old's consent naming them, and a disclosure of one document resting on it."""
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    relative = api_user(client, vault, clock, Role.PARTNER, org=("Stichting Familie", OrgType.OTHER))
    case_id = open_report(vault, worker)
    doc = put_doc(client, worker, case_id, b"verslag", Category.REPORT)
    r = client.post(
        f"/api/v1/cases/{case_id}/subjects",
        headers=worker.headers,
        json={"relation": "child", "name": "Kind Dertien", "date_of_birth": _THIRTEEN},
    )
    assert r.status_code == 201, r.text
    child = str(r.json()["id"])
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=worker.headers,
        json={
            "scope": "share_with_partner",
            "given_by": "child",
            "recipient_org_id": relative.org_id,
            "subject_id": child,
        },
    )
    assert r.status_code == 201, r.text
    consent_id = str(r.json()["id"])
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=relative.org_id,
        purpose="steun",
        legal_basis="consent",
        consent_reference=consent_id,
        document_ids=[doc],
    )
    assert status == 201, grant
    assert client.get(f"/api/v1/documents/{doc}/content", headers=relative.headers).status_code == 200
    return worker, relative, case_id, child, consent_id, str(grant["id"]), doc


def _correct(client: TestClient, worker: ApiUser, case_id: str, child: str, **fields: str) -> None:
    body = {"relation": "child", "name": "Kind Dertien", **fields}
    r = client.put(f"/api/v1/cases/{case_id}/subjects/{child}", headers=worker.headers, json=body)
    assert r.status_code == 204, r.text


def _state(vault: Vault, consent_id: str, grant_id: str) -> tuple[bool, bool]:
    """(consent withdrawn, grant revoked)."""
    with vault.db.session() as session:
        consent, grant = session.get(Consent, consent_id), session.get(Grant, grant_id)
        assert consent is not None
        assert grant is not None
        return consent.withdrawn_at is not None, grant.revoked_at is not None


def test_d9_d13_a_date_of_birth_corrected_to_a_child_under_12_lapses_the_consent_and_its_disclosures(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, relative, case_id, child, consent_id, grant_id, doc = _shared_on_a_childs_consent(
        client, vault, clock
    )
    _correct(client, worker, case_id, child, date_of_birth="2016-01-01")  # ten, not thirteen
    assert _state(vault, consent_id, grant_id) == (True, True)
    (lapsed,) = case_entries(vault, case_id, AuditTag.DOSSIER_CONSENT_WITHDRAWN)
    assert lapsed.object_id == consent_id
    assert lapsed.rule == "d9-child-consent-lapsed"
    revoked = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_REVOKED)
    assert [e.object_id for e in revoked] == [grant_id]
    assert "Kind Dertien" not in lapsed.details + revoked[0].details
    assert client.get(f"/api/v1/documents/{doc}/content", headers=relative.headers).status_code != 200
    r = client.get(f"/api/v1/cases/{case_id}", headers=worker.headers)
    (consent,) = r.json()["consents"]
    assert consent["subject_id"] == child
    assert consent["withdrawn_at"] is not None


def test_d9_d13_a_date_of_birth_removed_or_a_relation_corrected_lapses_the_consent(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, _relative, case_id, child, consent_id, grant_id, _doc = _shared_on_a_childs_consent(
        client, vault, clock
    )
    _correct(client, worker, case_id, child)  # the date of birth left out: the age is not known
    assert _state(vault, consent_id, grant_id) == (True, True)

    worker, _relative, case_id, child, consent_id, grant_id, _doc = _shared_on_a_childs_consent(
        client, vault, clock
    )
    r = client.put(
        f"/api/v1/cases/{case_id}/subjects/{child}",
        headers=worker.headers,
        json={"relation": "household_member", "name": "Kind Dertien", "date_of_birth": _THIRTEEN},
    )
    assert r.status_code == 204, r.text
    assert _state(vault, consent_id, grant_id) == (True, True)


def test_d9_d13_a_correction_that_keeps_the_child_12_or_older_keeps_the_consent(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, relative, case_id, child, consent_id, grant_id, doc = _shared_on_a_childs_consent(
        client, vault, clock
    )
    _correct(client, worker, case_id, child, date_of_birth="2012-06-30", address="Dorpsstraat 1, Utrecht")
    assert _state(vault, consent_id, grant_id) == (False, False)
    assert case_entries(vault, case_id, AuditTag.DOSSIER_CONSENT_WITHDRAWN) == []
    assert client.get(f"/api/v1/documents/{doc}/content", headers=relative.headers).status_code == 200
