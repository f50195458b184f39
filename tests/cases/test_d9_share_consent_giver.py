"""D9: a consent to share with a partner is given by someone the dossier is about, never by the alleged
perpetrator (their word cannot open the others' part of the dossier to a partner) nor by someone outside
the household ("other"). Refused when it is recorded (400, rule ``d9-consent-giver``, audited), and one
recorded before the rule carries no disclosure (403, the same rule, audited). The form:
``tests/web/test_d2_consent_form_help_seeker_only.py``.

Real HTTP (TestClient), real accounts with TOTP, real database and crypto; the clock is the only double.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.cases.test_d9_consent_basis import TEAM, _disclose, _open_case
from tests.helpers import ApiUser, api_user, case_entries
from vault.context import FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.models import Consent, Grant
from vault.runtime import Vault
from vault.services.person_fields import SHARE_CONSENT_GIVER, ConsentScope, Relation

REFUSED_GIVERS = ["alleged_perpetrator", "other"]


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def relative(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.PARTNER, org=("Stichting Familiezorg", OrgType.OTHER))


def _consents(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        count = session.scalar(select(func.count()).select_from(Consent).where(Consent.case_id == case_id))
    return int(count or 0)


def _share_consent(client: TestClient, user: ApiUser, case_id: str, org_id: str, giver: str) -> object:
    body = {"scope": "share_with_partner", "given_by": giver, "recipient_org_id": org_id}
    return client.post(f"/api/v1/cases/{case_id}/consents", headers=user.headers, json=body)


@pytest.mark.parametrize("giver", REFUSED_GIVERS)
def test_d9_a_consent_to_share_from_the_alleged_perpetrator_or_another_is_refused_and_audited(
    client: TestClient, vault: Vault, worker: ApiUser, relative: ApiUser, giver: str
) -> None:
    assert relative.org_id is not None
    case_id = _open_case(vault, worker)
    r = _share_consent(client, worker, case_id, relative.org_id, giver)
    assert r.status_code == 400, r.text  # type: ignore[attr-defined]
    assert "D9" in r.text  # type: ignore[attr-defined]
    assert _consents(vault, case_id) == 0
    denied = case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)
    assert [e.rule for e in denied] == [SHARE_CONSENT_GIVER]


# "child" only by age: tests/services/test_d9_child_share_consent.py (D9, D13)
@pytest.mark.parametrize("giver", ["help_seeker", "parent", "partner", "household_member"])
def test_d9_a_consent_to_share_from_someone_the_dossier_is_about_is_recorded(
    client: TestClient, vault: Vault, worker: ApiUser, relative: ApiUser, giver: str
) -> None:
    assert relative.org_id is not None
    case_id = _open_case(vault, worker)
    r = _share_consent(client, worker, case_id, relative.org_id, giver)
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    assert _consents(vault, case_id) == 1


def test_d9_a_consent_from_the_alleged_perpetrator_recorded_before_the_rule_carries_no_disclosure(
    client: TestClient, vault: Vault, worker: ApiUser, relative: ApiUser
) -> None:
    assert relative.org_id is not None
    case_id = _open_case(vault, worker)
    consent_id = str(uuid.uuid4())
    with vault.db.session() as session:  # as ``record_consent`` stored it before the rule
        session.add(
            Consent(
                id=consent_id,
                case_id=case_id,
                scope=str(ConsentScope.SHARE_WITH_PARTNER),
                given_by=str(Relation.ALLEGED_PERPETRATOR),
                recorded_at=vault.clock.now(),
                recorded_by=worker.user_id,
                recipient_org_id=relative.org_id,
            )
        )
        session.commit()
    status, body = _disclose(client, worker, case_id, relative.org_id, consent_id)
    assert status == 403, body
    denied = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_DENIED)
    assert [e.rule for e in denied] == [SHARE_CONSENT_GIVER]
    with vault.db.session() as session:
        assert session.scalars(select(Grant).where(Grant.case_id == case_id)).all() == []
